; How TensorFlow.js is brought into a file. Each match binds a local name to a path under the tfjs
; namespace (`tf`, `tf.layers`, `tf.layers.conv2d`); @source is checked against the tfjs packages
; afterwards, and member aliases (@from) are resolved against the bindings found so far.

; import * as tf from '@tensorflow/tfjs'
(import_statement
  (import_clause
    (namespace_import (identifier) @namespace))
  source: (string (string_fragment) @source)) @statement

; import tf from '@tensorflow/tfjs'
(import_statement
  (import_clause . (identifier) @namespace)
  source: (string (string_fragment) @source)) @statement

; import {layers, sequential as seq} from '@tensorflow/tfjs'
(import_statement
  (import_clause
    (named_imports
      (import_specifier
        name: (identifier) @name
        alias: (identifier)? @alias)))
  source: (string (string_fragment) @source)) @statement

; const tf = require('@tensorflow/tfjs-node')
(variable_declarator
  name: (identifier) @namespace
  value: (call_expression
    function: (identifier) @require
    arguments: (arguments . (string (string_fragment) @source)))
  (#eq? @require "require")) @statement

; const tf = await import('@tensorflow/tfjs')
(variable_declarator
  name: (identifier) @namespace
  value: (await_expression
    (call_expression
      function: (import)
      arguments: (arguments . (string (string_fragment) @source))))) @statement

; const {layers, sequential} = require('@tensorflow/tfjs-node-gpu')
(variable_declarator
  name: (object_pattern
    (shorthand_property_identifier_pattern) @name)
  value: (call_expression
    function: (identifier) @require
    arguments: (arguments . (string (string_fragment) @source)))
  (#eq? @require "require")) @statement

; const {layers: L} = require('@tensorflow/tfjs')
(variable_declarator
  name: (object_pattern
    (pair_pattern
      key: (property_identifier) @name
      value: (identifier) @alias))
  value: (call_expression
    function: (identifier) @require
    arguments: (arguments . (string (string_fragment) @source)))
  (#eq? @require "require")) @statement

; const {conv2d, maxPooling2d} = tf.layers   /   const {layers} = tf
(variable_declarator
  name: (object_pattern
    (shorthand_property_identifier_pattern) @name) @pattern
  value: [(member_expression) (identifier)] @from) @statement

; const {conv2d: C} = tf.layers
(variable_declarator
  name: (object_pattern
    (pair_pattern
      key: (property_identifier) @name
      value: (identifier) @alias)) @pattern
  value: [(member_expression) (identifier)] @from) @statement

; const layers = tf.layers
(variable_declarator
  name: (identifier) @alias
  value: (member_expression) @from) @statement
