; Bindings through which a conv module can be reached under another name (see references.scm).

; self.conv = conv   /   w = self.conv2   /   first = self.features[0]
(assignment
  left: [(identifier) (attribute)] @lhs
  right: [(identifier) (attribute) (subscript)] @rhs) @binding

; for c in [self.conv1, self.conv2]:   /   for c in self.conv1, self.conv2:
(for_statement
  left: (identifier) @lhs
  right: [(list) (tuple) (expression_list)] @rhs) @binding

; [c.weight for c in (self.conv1,)]
(for_in_clause
  left: (identifier) @lhs
  right: [(list) (tuple)] @rhs) @binding
