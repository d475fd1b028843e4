; Layer names written as string literals, so that names the rewrite adds stay unique.

; tf.layers.conv2d({name: 'block1_conv1', filters: 64, kernelSize: 3})
(pair
  key: (property_identifier) @key
  value: (string (string_fragment) @name)
  (#eq? @key "name"))
