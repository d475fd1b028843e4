/**
 * The plain data the core hands to every front end. Offsets are UTF-16 code-unit offsets into the
 * analysed text (what JavaScript strings and LSP use); lines and columns here are 0-based and are
 * turned 1-based only in the CLI's output.
 */
import type { Poly } from './poly';

/** Which framework a layer or an analysis belongs to (src/frameworks: the registry). */
export type FrameworkId = 'pytorch' | 'tfjs';

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
  /** comments written with it: on the lines just before it (`before`), after it on its line (`after`) */
  comments?: { before: string[]; after?: string };
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
  framework: FrameworkId;
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
  /** what shape inference saw of this call site in a model of the file (PyTorch); absent if it did not run it */
  shapes?: LayerShapes;
  /** a guarded rewrite: the separable form is built only where `condition` holds (PyTorch helpers) */
  guard?: Guard;
}

/**
 * A test of a guarded rewrite: `kernel_size != 1`, `groups == 1`, `in_channels > 1`, `out_channels > 1`,
 * `groups != in_channels` (notDepthwise: a grouped conv is converted, a depthwise one kept).
 */
export type GuardTerm = 'kernel' | 'groups' | 'in' | 'out' | 'notDepthwise';

/** The condition of a guarded rewrite, and how many of the modules built at the line it converts. */
export interface Guard {
  /** as written in the rewrite, on the line's own expressions: `k != 1 and g == 1` */
  condition: string;
  terms: GuardTerm[];
  converted: number;
  instances: number;
}

/**
 * A conv call site as a model runs it: every module it constructed (`instances`, e.g. one per
 * block `_make_layer` builds) and every time one of them ran in a forward pass (`calls`).
 */
export interface LayerShapes {
  /** the model whose run this comes from (the first model of the file that builds the layer) */
  model: string;
  instances: number;
  calls: number;
  /** the distinct input and output shapes of those calls, (N, C, spatial...) */
  inputShapes: number[][];
  outputShapes: number[][];
  /** true when every call's shapes, and so the MACs, are known exactly */
  exact: boolean;
  /** why not, when not exact */
  reason: string | null;
}

export interface Diagnostic {
  message: string;
  span: Span;
}

export interface FileAnalysis {
  framework: FrameworkId;
  layers: Layer[];
  /** syntax errors and other problems; the file is never rewritten while `syntaxError` is set */
  syntaxError: Diagnostic | undefined;
  notes: Diagnostic[];
}

/** A model shape inference built: what it is and how it was run. */
export interface ModelIdentity {
  /** the class or factory name (`ResNet`, `resnet18`) */
  name: string;
  /** the class of the module it builds */
  className: string;
  /** 0-based line of the class or factory definition (or of the example that builds it), and its offset */
  line: number;
  start: number;
  /** how it was built: `resnet18()`, `Net(num_classes=10)` */
  build: string;
  input: number[] | null;
  /** where the input came from: a pragma, an example, --input-size or the default */
  inputFrom: string;
  /** the output's shape; nested arrays/objects for tuples and dicts; null when unknown */
  output: unknown;
}

/**
 * A place in a source file: `file` is '' for the analysed file, else the path of the file
 * (an imported module's); offsets into that file's text, 0-based line and column.
 */
export interface SourceRef {
  file: string;
  start: number;
  end: number;
  line: number;
  column: number;
}

/** One call of the forward pass on the way to a mismatch: the call as written and what it ran. */
export interface ChainStep {
  at: SourceRef;
  /** the call as written (`self.layer1(x)`), or `def forward` for the model's own forward */
  call: string;
  /** what it ran: `Net.forward`, `BasicBlock.forward (layer1.0)`, `_block()` */
  enters: string;
}

/**
 * A shape mismatch shape inference proved: under the model's input (given, or the default when
 * the two numbers do not depend on its size), PyTorch raises at this call. Never a guess: both
 * numbers are exact.
 */
export interface ShapeMismatch {
  /** `conv2 expects 256 input channels, got 64` */
  message: string;
  /** what was checked: in_channels, in_features, num_features, normalized_shape, input_size, embed_dim, cat, matmul, broadcast */
  check: string;
  /** the module's `named_modules()` path (`layer1.0.conv2`), or the operation (`torch.cat`, `+`) */
  what: string;
  /** a count for a module's check; the two shapes for cat, matmul and broadcasting */
  expected: number | number[];
  got: number | number[];
  /** the call that fails, and its text */
  at: SourceRef;
  code: string;
  /** the calls from the model's forward down to the one that fails, outermost first */
  chain: ChainStep[];
  /** where the failing module was constructed, for a module's check */
  built: SourceRef | null;
}

/** A model of the file with its totals, from shape inference (`src/analysis/python/shapes`). */
export interface ModelSummary extends ModelIdentity {
  /** all parameters of the model; `after` with every convertible conv converted */
  params: { before: number | null; after: number | null };
  /** conv MACs per sample over every conv instance and call; `after` likewise */
  macs: { before: number | null; after: number | null };
  /** conv instances, and how many of them have exact MACs */
  convs: number;
  exactConvs: number;
  /** why a number is missing */
  reasons: string[];
  /** shape mismatches its run proved (PyTorch), each at the call that fails; absent when none */
  mismatches?: ShapeMismatch[];
  /**
   * every conv module it builds: its `named_modules()` path, where it was constructed, its resolved
   * arguments (for checkpoint keys) and the spatial input size of each call (MACs at any K), null unless exact
   */
  convModules?: { path: string; file: string; start: number; args: ConvArgs; inputs: number[][] | null }[];
}
