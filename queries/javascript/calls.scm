; Calls whose callee may name a TensorFlow.js function (`tf.layers.conv2d`, `tf.sequential`,
; `tf.input`, ...). The callee is resolved against the file's tfjs bindings afterwards, so aliases
; (`import {layers as L}`, `const {conv2d} = tf.layers`) are found too.

; tf.layers.conv2d({filters: 32, kernelSize: 3})   /   layers.maxPooling2d({poolSize: 2})
(call_expression
  function: (member_expression
    property: (property_identifier) @name) @callee
  arguments: (arguments) @args) @call

; conv2d({filters: 32, kernelSize: 3})   after `const {conv2d} = tf.layers`
(call_expression
  function: (identifier) @callee
  arguments: (arguments) @args) @call
