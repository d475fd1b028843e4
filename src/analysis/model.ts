/**
 * The plain data the core hands to every front end. Offsets are UTF-16 code-unit offsets into the
 * analysed text (what JavaScript strings and LSP use); lines and columns here are 0-based and are
 * turned 1-based only in the CLI's output.
 */
import type { Poly } from './poly';

export type Framework = 'pytorch' | 'tfjs';

export interface Span {
  start: number;
  end: number;
}

/** A single argument as written: where it is and what it evaluated to. */
export interface WrittenArg {
  /** keyword name, or undefined for a positional argument */
  keyword?: string;
  /** the parameter it binds to in the signature */
  param: string;
  /** position among the positional arguments, if positional */
  index?: number;
  text: string;
  span: Span;
}

export type Padding = number[] | 'same' | 'valid';

/** Resolved convolution hyper-parameters; a Poly holds symbols that stayed unresolved. */
export interface ConvArgs {
  dims: 1 | 2 | 3;
  inChannels: Poly | undefined;
  outChannels: Poly | undefined;
  kernelSize: number[] | undefined;
  stride: number[] | undefined;
  padding: Padding | undefined;
  dilation: number[] | undefined;
  groups: Poly | undefined;
  bias: boolean | undefined;
  /** tfjs depthwise/separable only */
  depthMultiplier?: number;
}

export interface CostPair {
  before: Poly | undefined;
  after: Poly | undefined;
}

export interface Cost {
  params: CostPair;
  macs: CostPair;
  /** the spatial input size the MACs assume, and where it came from */
  inputSize: number[] | undefined;
  outputSize: number[] | undefined;
}

export type LayerKind = 'conv' | 'transposed' | 'lazy' | 'depthwise' | 'pointwise' | 'separable';

export interface Layer {
  framework: Framework;
  /** e.g. Conv2d, ConvTranspose2d, conv2d, separableConv2d */
  op: string;
  kind: LayerKind;
  /** the whole call expression */
  span: Span;
  /** the callee as written (`nn.Conv2d`, `torch.nn.Conv2d`, `C`) */
  callee: string;
  calleeSpan: Span;
  args: ConvArgs;
  written: WrittenArg[];
  cost: Cost;
  convertible: boolean;
  /** set whenever convertible is false */
  reason: string | undefined;
  /** stated assumptions: input size, parameter defaults used, pragma values */
  assumptions: string[];
  /** things the user must know before converting (checkpoint keys, attribute reads) */
  warnings: string[];
  /** name of the enclosing class, if any */
  className: string | undefined;
  /** the attribute or variable the layer is bound to (`self.conv1` -> conv1), if any */
  target: string | undefined;
}

export interface Diagnostic {
  message: string;
  span: Span;
}

export interface FileAnalysis {
  framework: Framework;
  layers: Layer[];
  /** syntax errors and other problems; the file is never rewritten while `syntaxError` is set */
  syntaxError: Diagnostic | undefined;
  notes: Diagnostic[];
}
