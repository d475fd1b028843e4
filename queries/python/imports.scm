; Import bindings. Each match binds one local name to a dotted module path.

; import torch.nn as nn
(import_statement
  name: (aliased_import
    name: (dotted_name) @module
    alias: (identifier) @alias))

; import torch            /   import torch.nn   (binds `torch`)
(import_statement
  name: (dotted_name) @module)

; from torch.nn import Conv2d as C
(import_from_statement
  module_name: (dotted_name) @from
  name: (aliased_import
    name: (dotted_name) @name
    alias: (identifier) @alias)) @statement

; from torch import nn
(import_from_statement
  module_name: (dotted_name) @from
  name: (dotted_name) @name) @statement

; from torch.nn import *
(import_from_statement
  module_name: (dotted_name) @from
  (wildcard_import) @star)
