; Reads of a conv module's attributes that a Sequential does not have in the same way.

; init.orthogonal_(self.conv1.weight)   /   c = model.conv2.out_channels
(attribute
  object: (attribute
    attribute: (identifier) @name) @module
  attribute: (identifier) @field
  (#match? @field "^(weight|bias|in_channels|out_channels|kernel_size|stride|padding|dilation|groups)$")) @read

; self.features[0].weight
(attribute
  object: (subscript
    value: (attribute
      attribute: (identifier) @name) @module
    subscript: (_) @index) @element
  attribute: (identifier) @field
  (#match? @field "^(weight|bias|in_channels|out_channels|kernel_size|stride|padding|dilation|groups)$")) @read
