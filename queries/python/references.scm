; Reads of a conv module's attributes that a Sequential does not have in the same way.

; init.orthogonal_(self.conv1.weight)   /   c = model.conv2.out_channels
(attribute
  object: (attribute
    attribute: (identifier) @name) @module
  attribute: (identifier) @field
  (#match? @field "^(weight|bias|in_channels|out_channels|kernel_size|stride|padding|dilation|groups|padding_mode|reset_parameters)$")) @read

; self.features[0].weight
(attribute
  object: (subscript
    value: (attribute
      attribute: (identifier) @name) @module
    subscript: (_) @index) @element
  attribute: (identifier) @field
  (#match? @field "^(weight|bias|in_channels|out_channels|kernel_size|stride|padding|dilation|groups|padding_mode|reset_parameters)$")) @read

; nn.init.kaiming_normal_(conv.weight)   /   F.conv2d(x, w.weight)   (conv, w: names bound to a conv, see aliases.scm)
(attribute
  object: (identifier) @alias
  attribute: (identifier) @field
  (#match? @field "^(weight|bias|in_channels|out_channels|kernel_size|stride|padding|dilation|groups|padding_mode|reset_parameters)$")) @read

; if isinstance(self.conv_proj, nn.Conv2d): ... elif self.conv_proj.conv_last ...   (a class test the Sequential fails)
(call
  function: (identifier) @fn
  arguments: (argument_list
    .
    (_) @object)
  (#eq? @fn "isinstance")) @read
