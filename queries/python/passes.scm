; Calls that may pass a module to a function of the file (see references.ts).

; init_weights(self.conv)   /   self._init(conv, std=0.01)
(call
  function: [(identifier) (attribute)] @callee
  arguments: (argument_list) @args) @call
