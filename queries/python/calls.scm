; Calls whose callee may name a convolution. The callee is resolved against the file's imports
; afterwards, so aliases (`from torch.nn import Conv2d as C`) are found too.

; nn.Conv2d(64, 128, 3)   /   torch.nn.Conv1d(...)   /   tnn.LazyConv3d(...)
(call
  function: (attribute
    attribute: (identifier) @name) @callee
  arguments: (argument_list) @args
  (#match? @name "^(Lazy)?Conv(Transpose)?[123]d$")) @call

; Conv2d(3, 8, 3)   /   C(3, 8, 3) after `from torch.nn import Conv2d as C`
(call
  function: (identifier) @callee
  arguments: (argument_list) @args) @call

; super().__init__(in_planes, out_planes, kernel_size=(3, 3, 3))   in `class Conv3DSimple(nn.Conv3d)`
(call
  function: (attribute
    object: (call
      function: (identifier) @super)
    attribute: (identifier) @name) @callee
  arguments: (argument_list) @args
  (#eq? @super "super")
  (#eq? @name "__init__")) @call
