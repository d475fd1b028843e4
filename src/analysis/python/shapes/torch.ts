/**
 * PyTorch as the shape interpreter sees it: torch.nn modules (their constructor signatures,
 * parameter counts and shape rules), the `torch.*` and `torch.nn.functional.*` functions models
 * call in `forward`, and tensor methods and arithmetic. Every rule follows PyTorch 1.13's own
 * formulas; a conv's MACs come from the one cost function (`convCost`).
 */
import type { Node } from 'web-tree-sitter';
import { convCost, convOutputSize } from '../../cost';
import type { ConvArgs, LayerKind } from '../../model';
import { Poly } from '../../poly';
import { canonical } from '../imports';
import type { Interp } from './interpreter';
import { sliceIndices, tensorNumel } from './interpreter';
import {
  concrete,
  describe,
  dimValue,
  intOf,
  intV,
  NONE,
  numOf,
  shapeText,
  strV,
  tensor,
  unknown,
  type CallArgs,
  type ClassObj,
  type Dim,
  type ModuleObj,
  type NativeModule,
  type TensorValue,
  type Unknown,
  type V,
} from './values';

/** Internal torch.nn base classes people test with isinstance, and what they cover. */
export const NN_FAMILIES: Record<string, RegExp[]> = {
  _ConvNd: [/^(Lazy)?Conv(Transpose)?[123]d$/],
  _ConvTransposeNd: [/^(Lazy)?ConvTranspose[123]d$/],
  _BatchNorm: [/^(Lazy)?BatchNorm[123]d$/, /^SyncBatchNorm$/],
  _NormBase: [/^(Lazy)?BatchNorm[123]d$/, /^SyncBatchNorm$/, /^(Lazy)?InstanceNorm[123]d$/],
  _InstanceNorm: [/^(Lazy)?InstanceNorm[123]d$/],
  _MaxPoolNd: [/^MaxPool[123]d$/],
  _AvgPoolNd: [/^AvgPool[123]d$/],
  _AdaptiveAvgPoolNd: [/^AdaptiveAvgPool[123]d$/],
  _AdaptiveMaxPoolNd: [/^AdaptiveMaxPool[123]d$/],
  _DropoutNd: [/^(Dropout[123]?d?|AlphaDropout|FeatureAlphaDropout)$/],
};

/** A torch.nn class (canonical dotted path), as opposed to a function or submodule. */
export function isNnClass(p: string): boolean {
  return /^torch\.nn\.[A-Z_][A-Za-z0-9_]*$/.test(p) && p !== 'torch.nn.Parameter';
}

class ArgError extends Error {}

const ELEMENTWISE_MODULES = new Set([
  'ReLU', 'ReLU6', 'LeakyReLU', 'ELU', 'SELU', 'CELU', 'GELU', 'SiLU', 'Mish', 'Sigmoid', 'Tanh', 'Hardtanh', 'Hardswish',
  'Hardsigmoid', 'Softplus', 'Softsign', 'Tanhshrink', 'Threshold', 'LogSigmoid', 'Softmax', 'LogSoftmax', 'Softmin',
  'Softmax2d', 'Dropout', 'Dropout1d', 'Dropout2d', 'Dropout3d', 'AlphaDropout', 'FeatureAlphaDropout', 'Hardshrink',
  'Softshrink', 'RReLU', 'ChannelShuffle', 'LocalResponseNorm', 'CrossMapLRN2d',
]);

const ELEMENTWISE_FUNCTIONS = new Set([
  'relu', 'relu_', 'relu6', 'elu', 'elu_', 'selu', 'celu', 'gelu', 'silu', 'mish', 'hardswish', 'hardsigmoid', 'hardtanh',
  'hardtanh_', 'leaky_relu', 'leaky_relu_', 'prelu', 'rrelu', 'sigmoid', 'sigmoid_', 'tanh', 'tanh_', 'softplus', 'softsign',
  'logsigmoid', 'tanhshrink', 'threshold', 'dropout', 'dropout1d', 'dropout2d', 'dropout3d', 'alpha_dropout',
  'feature_alpha_dropout', 'softmax', 'log_softmax', 'softmin', 'normalize', 'layer_norm', 'group_norm', 'batch_norm',
  'instance_norm', 'local_response_norm', 'hardshrink', 'softshrink', 'channel_shuffle', 'exp', 'exp_', 'log', 'abs', 'sqrt',
  'rsqrt', 'neg', 'sin', 'cos', 'clamp', 'clamp_', 'clip', 'sign', 'floor', 'ceil', 'round', 'square', 'reciprocal', 'erf',
  'zeros_like', 'ones_like', 'rand_like', 'randn_like', 'empty_like', 'full_like', 'clone', 'detach', 'nan_to_num',
  'contiguous', 'float', 'double', 'half', 'int', 'long', 'bool', 'cpu', 'cuda', 'to', 'type_as', 'requires_grad_',
  'zero_', 'fill_', 'masked_fill', 'masked_fill_', 'sigmoid', 'log1p', 'expm1', 'pow', 'pow_', 'mul_', 'add_', 'sub_', 'div_',
  'uniform_', 'normal_', 'bernoulli', 'abs_', 'neg_', 'sqrt_', 'tril', 'triu', 'flip', 'roll',
]);

const BROADCAST_FUNCTIONS: Record<string, string> = {
  add: '+', sub: '-', subtract: '-', mul: '*', multiply: '*', div: '/', divide: '/', true_divide: '/', floor_divide: '//',
  fmod: '%', remainder: '%', maximum: '+', minimum: '+', atan2: '+', eq: '+', ne: '+', lt: '+', gt: '+', le: '+', ge: '+',
  add_: '+', sub_: '-', mul_: '*', div_: '/', logical_and: '+', logical_or: '+',
};

/** Binds constructor or function arguments to a signature and reads them as numbers. */
class Args {
  private readonly bound = new Map<string, V>();

  constructor(
    private readonly what: string,
    sig: readonly string[],
    a: CallArgs,
    private readonly interp: Interp,
    private readonly at: Node,
  ) {
    a.args.forEach((v, i) => {
      const name = sig[i];
      if (name === undefined) throw new ArgError(`${what}() takes at most ${sig.length} positional arguments`);
      this.bound.set(name, v);
    });
    for (const [k, v] of a.kwargs) {
      if (!sig.includes(k)) throw new ArgError(`${what}() got an unexpected keyword argument '${k}'`);
      if (this.bound.has(k)) throw new ArgError(`${what}() got multiple values for '${k}'`);
      this.bound.set(k, v);
    }
  }

  has(name: string): boolean {
    const v = this.bound.get(name);
    return v !== undefined && v.kind !== 'none';
  }

  /** The value given, or undefined (also for None); an unknown value is an error. */
  opt(name: string): V | undefined {
    const v = this.bound.get(name);
    if (v === undefined || v.kind === 'none') return undefined;
    if (v.kind === 'unknown') throw new ArgError(v.why);
    return v;
  }

  int(name: string, dflt?: number): number {
    const v = this.opt(name);
    if (v === undefined) {
      if (dflt === undefined) throw new ArgError(`${this.what}() is missing \`${name}\``);
      return dflt;
    }
    const n = intOf(v);
    if (n === undefined || v.kind === 'float') throw new ArgError(`\`${name}\` of ${this.what}() is not an integer`);
    return n;
  }

  num(name: string, dflt?: number): number {
    const v = this.opt(name);
    if (v === undefined) {
      if (dflt === undefined) throw new ArgError(`${this.what}() is missing \`${name}\``);
      return dflt;
    }
    const n = numOf(v);
    if (n === undefined) throw new ArgError(`\`${name}\` of ${this.what}() is not a number`);
    return n;
  }

  bool(name: string, dflt: boolean): boolean {
    const v = this.opt(name);
    if (v === undefined) return name === 'bias' && this.bound.get(name)?.kind === 'none' ? false : dflt;
    const t = this.interp.truthy(v);
    if (t === undefined) throw new ArgError(`\`${name}\` of ${this.what}() cannot be decided`);
    return t;
  }

  str(name: string, dflt: string): string {
    const v = this.opt(name);
    if (v === undefined) return dflt;
    if (v.kind !== 'str') throw new ArgError(`\`${name}\` of ${this.what}() is not a string`);
    return v.value;
  }

  /** An int or a tuple of `n` ints, as PyTorch's `_ntuple`. */
  tuple(name: string, n: number, dflt?: number): number[] {
    const v = this.opt(name);
    if (v === undefined) {
      if (dflt === undefined) throw new ArgError(`${this.what}() is missing \`${name}\``);
      return Array<number>(n).fill(dflt);
    }
    return ntuple(v, n, `\`${name}\` of ${this.what}()`);
  }

  raw(name: string): V | undefined {
    return this.bound.get(name);
  }

  fail(detail: string): never {
    void this.at;
    throw new ArgError(detail);
  }
}

function ntuple(v: V, n: number, what: string): number[] {
  const i = intOf(v);
  if (i !== undefined && v.kind !== 'float') return Array<number>(n).fill(i);
  if ((v.kind === 'tuple' || v.kind === 'list') && v.items.length === n) {
    const out = v.items.map(intOf);
    if (out.every((x) => x !== undefined)) return out;
  }
  if (v.kind === 'unknown') throw new ArgError(v.why);
  throw new ArgError(`${what} is not an int or ${n} ints`);
}

const tupleV = (xs: readonly number[]): V => ({ kind: 'tuple', items: xs.map(intV) });

// -----------------------------------------------------------------------------------------------
// module construction

export interface ConvData {
  dims: 1 | 2 | 3;
  transposed: boolean;
  lazy: boolean;
  args: ConvArgs;
  kind: LayerKind;
  outputPadding: number[];
  /** kernel_size was given as one int (not a tuple): what `kernel_size != 1` tests in a guarded rewrite */
  kernelIsInt: boolean;
  /** the keyword names the call received (written or through `**kwargs`) */
  keywords: string[];
}

const CONV = /^(Lazy)?Conv(Transpose)?([123])d$/;
const CONV_SIG = ['in_channels', 'out_channels', 'kernel_size', 'stride', 'padding', 'dilation', 'groups', 'bias', 'padding_mode', 'device', 'dtype'];
const CONVT_SIG = ['in_channels', 'out_channels', 'kernel_size', 'stride', 'padding', 'output_padding', 'groups', 'bias', 'dilation', 'padding_mode', 'device', 'dtype'];

/** Configures `m` as the torch.nn class `base` (a direct construction or a user subclass's `super().__init__`). */
export function initNative(interp: Interp, m: ModuleObj, base: string, a: CallArgs, at: Node): void {
  const path = canonical(base);
  const type = path.startsWith('torch.nn.') ? path.slice('torch.nn.'.length) : path;
  if (type === 'Module') return;
  // a subclass's super().__init__ is where PyTorch records the construction (the oracle's position too)
  m.site = { file: interp.fileOf(at), start: at.startIndex, end: at.endIndex, line: at.startPosition.row };
  try {
    m.native = construct(interp, m, type, a, at);
  } catch (e) {
    if (!(e instanceof ArgError)) throw e;
    m.native = { type, params: e.message, attrs: new Map(), error: e.message, data: {} };
  }
}

function construct(interp: Interp, m: ModuleObj, type: string, a: CallArgs, at: Node): NativeModule {
  const args = (sig: string[]) => new Args(`nn.${type}`, sig, a, interp, at);
  const native = (params: number | string, attrs: Record<string, V>, data: Record<string, unknown> = {}): NativeModule => ({
    type,
    params,
    attrs: new Map(Object.entries(attrs)),
    data,
  });
  const conv = CONV.exec(type);
  if (conv) return constructConv(interp, type, conv, a, at);
  const dimsOf = (t: string) => Number(/([123])d$/.exec(t)?.[1] ?? 2);

  if (type === 'Sequential') {
    if (a.kwargs.size) throw new ArgError('nn.Sequential() takes no keyword arguments');
    const only = a.args[0];
    if (a.args.length === 1 && only?.kind === 'dict') {
      for (const [k, v] of only.entries) register(interp, m, k.kind === 'str' ? k.value : String(intOf(k)), v);
    } else a.args.forEach((v, i) => register(interp, m, String(i), v));
    return native(0, {});
  }
  if (type === 'ModuleList' || type === 'ModuleDict') {
    const given = a.args[0] ?? a.kwargs.get('modules');
    if (given && given.kind !== 'none') {
      if (type === 'ModuleDict') {
        const entries = given.kind === 'dict' ? given.entries : undefined;
        const items = entries ?? (Array.isArray(interp.iterate(given, at)) ? (interp.iterate(given, at) as V[]).map((p) => (p.kind === 'tuple' || p.kind === 'list' ? ([p.items[0], p.items[1]] as [V, V]) : ([NONE, p] as [V, V]))) : undefined);
        if (!items) throw new ArgError('the modules of nn.ModuleDict() are unknown');
        for (const [k, v] of items) register(interp, m, k.kind === 'str' ? k.value : '?', v);
      } else {
        const items = interp.iterate(given, at);
        if (!Array.isArray(items)) throw new ArgError(items.why);
        items.forEach((v, i) => register(interp, m, String(i), v));
      }
    }
    return native(0, {});
  }
  if (type === 'ParameterList' || type === 'ParameterDict') return native(`nn.${type} is not modelled`, {});
  if (/^(Lazy)?BatchNorm[123]d$|^SyncBatchNorm$|^(Lazy)?InstanceNorm[123]d$/.test(type)) {
    const lazy = type.startsWith('Lazy');
    const instance = type.includes('Instance');
    const r = args(lazy ? ['eps', 'momentum', 'affine', 'track_running_stats', 'device', 'dtype'] : ['num_features', 'eps', 'momentum', 'affine', 'track_running_stats', ...(type === 'SyncBatchNorm' ? ['process_group'] : []), 'device', 'dtype']);
    const affine = r.bool('affine', !instance);
    const c = lazy ? undefined : r.int('num_features');
    return native(c === undefined ? 'a lazy norm layer' : affine ? 2 * c : 0, c === undefined ? {} : { num_features: intV(c), affine: { kind: 'bool', value: affine } }, {
      channels: c,
      dims: type === 'SyncBatchNorm' ? undefined : dimsOf(type),
      instance,
    });
  }
  if (type === 'GroupNorm') {
    const r = args(['num_groups', 'num_channels', 'eps', 'affine', 'device', 'dtype']);
    const g = r.int('num_groups');
    const c = r.int('num_channels');
    if (g <= 0 || c % g !== 0) return r.fail('num_channels must be divisible by num_groups');
    return native(r.bool('affine', true) ? 2 * c : 0, { num_groups: intV(g), num_channels: intV(c) }, { channels: c });
  }
  if (type === 'LayerNorm') {
    const r = args(['normalized_shape', 'eps', 'elementwise_affine', 'device', 'dtype']);
    const ns = r.opt('normalized_shape');
    const shape = ns && intOf(ns) !== undefined ? [intOf(ns)!] : ns && (ns.kind === 'tuple' || ns.kind === 'list') ? ns.items.map(intOf) : undefined;
    if (!shape || shape.some((x) => x === undefined)) return r.fail('normalized_shape of nn.LayerNorm() is not known');
    const prod = (shape as number[]).reduce((x, y) => x * y, 1);
    return native(r.bool('elementwise_affine', true) ? 2 * prod : 0, { normalized_shape: tupleV(shape as number[]) }, { normalized: shape });
  }
  if (type === 'Linear' || type === 'LazyLinear') {
    const lazy = type === 'LazyLinear';
    const r = args(lazy ? ['out_features', 'bias', 'device', 'dtype'] : ['in_features', 'out_features', 'bias', 'device', 'dtype']);
    const inF = lazy ? undefined : r.int('in_features');
    const outF = r.int('out_features');
    const bias = r.bool('bias', true);
    return native(inF === undefined ? 'a lazy linear layer' : inF * outF + (bias ? outF : 0), { ...(inF === undefined ? {} : { in_features: intV(inF) }), out_features: intV(outF) }, { inF, outF, bias });
  }
  if (type === 'Bilinear') {
    const r = args(['in1_features', 'in2_features', 'out_features', 'bias', 'device', 'dtype']);
    const [i1, i2, o] = [r.int('in1_features'), r.int('in2_features'), r.int('out_features')];
    return native(i1 * i2 * o + (r.bool('bias', true) ? o : 0), { in1_features: intV(i1), in2_features: intV(i2), out_features: intV(o) }, { i1, i2, o });
  }
  if (type === 'Embedding') {
    const r = args(['num_embeddings', 'embedding_dim', 'padding_idx', 'max_norm', 'norm_type', 'scale_grad_by_freq', 'sparse', '_weight', 'device', 'dtype']);
    const n = r.int('num_embeddings');
    const d = r.int('embedding_dim');
    return native(n * d, { num_embeddings: intV(n), embedding_dim: intV(d) }, { dim: d });
  }
  if (type === 'PReLU') {
    const r = args(['num_parameters', 'init', 'device', 'dtype']);
    return native(r.int('num_parameters', 1), {});
  }
  if (type === 'MultiheadAttention') {
    const r = args(['embed_dim', 'num_heads', 'dropout', 'bias', 'add_bias_kv', 'add_zero_attn', 'kdim', 'vdim', 'batch_first', 'device', 'dtype']);
    const e = r.int('embed_dim');
    const h = r.int('num_heads');
    if (h <= 0 || e % h !== 0) return r.fail('embed_dim must be divisible by num_heads');
    const kdim = r.int('kdim', e);
    const vdim = r.int('vdim', e);
    const bias = r.bool('bias', true);
    // in-projection (one matrix, or three when kdim/vdim differ), its bias, out_proj, bias_k/bias_v
    const params = e * (e + kdim + vdim) + (bias ? 3 * e : 0) + e * e + (bias ? e : 0) + (r.bool('add_bias_kv', false) ? 2 * e : 0);
    return native(params, { embed_dim: intV(e), num_heads: intV(h), batch_first: { kind: 'bool', value: r.bool('batch_first', false) } }, { e, h, batchFirst: r.bool('batch_first', false) });
  }
  if (type === 'RNN' || type === 'LSTM' || type === 'GRU') {
    const gates = type === 'LSTM' ? 4 : type === 'GRU' ? 3 : 1;
    const names = ['input_size', 'hidden_size', 'num_layers', 'bias', 'batch_first', 'dropout', 'bidirectional', ...(type === 'LSTM' ? ['proj_size'] : []), ...(type === 'RNN' ? ['nonlinearity'] : []), 'device', 'dtype'];
    const r = args(names);
    const input = r.int('input_size');
    const hidden = r.int('hidden_size');
    const layers = r.int('num_layers', 1);
    const dirs = r.bool('bidirectional', false) ? 2 : 1;
    const proj = type === 'LSTM' ? r.int('proj_size', 0) : 0;
    const out = proj > 0 ? proj : hidden;
    const bias = r.bool('bias', true);
    let params = 0;
    for (let l = 0; l < layers; l++) {
      const inL = l === 0 ? input : out * dirs;
      params += dirs * (gates * hidden * inL + gates * hidden * out + (bias ? 2 * gates * hidden : 0) + (proj > 0 ? proj * hidden : 0));
    }
    return native(params, { input_size: intV(input), hidden_size: intV(hidden), num_layers: intV(layers) }, { input, hidden, out, layers, dirs, batchFirst: r.bool('batch_first', false), lstm: type === 'LSTM' });
  }
  if (type === 'Identity') return native(0, {});
  if (type === 'GLU') return native(0, {}, { dim: new Args('nn.GLU', ['dim'], a, interp, at).int('dim', -1) });
  if (ELEMENTWISE_MODULES.has(type)) return native(0, {});
  if (type === 'Flatten') {
    const r = args(['start_dim', 'end_dim']);
    return native(0, {}, { start: r.int('start_dim', 1), end: r.int('end_dim', -1) });
  }
  if (type === 'Unflatten') {
    const r = args(['dim', 'unflattened_size']);
    const sizes = r.opt('unflattened_size');
    const list = sizes && (sizes.kind === 'tuple' || sizes.kind === 'list') ? sizes.items.map(intOf) : undefined;
    if (!list || list.some((x) => x === undefined)) return r.fail('unflattened_size is not known');
    return native(0, {}, { dim: r.int('dim'), sizes: list });
  }
  const pool = /^(Max|Avg)Pool([123])d$/.exec(type);
  if (pool) {
    const dims = Number(pool[2]);
    const max = pool[1] === 'Max';
    const r = args(max ? ['kernel_size', 'stride', 'padding', 'dilation', 'return_indices', 'ceil_mode'] : ['kernel_size', 'stride', 'padding', 'ceil_mode', 'count_include_pad', ...(dims > 1 ? ['divisor_override'] : [])]);
    const k = r.tuple('kernel_size', dims);
    const s = r.has('stride') ? r.tuple('stride', dims) : k;
    const p = r.tuple('padding', dims, 0);
    const d = max ? r.tuple('dilation', dims, 1) : Array<number>(dims).fill(1);
    if (p.some((x, i) => x > k[i] / 2)) return r.fail('pad should be at most half of the kernel size');
    const attrs = { kernel_size: dims === 1 || r.opt('kernel_size')?.kind !== 'int' ? tupleV(k) : intV(k[0]), stride: tupleV(s), padding: tupleV(p) };
    return native(0, attrs, { dims, k, s, p, d, ceil: r.bool('ceil_mode', false), indices: max && r.bool('return_indices', false) });
  }
  const adaptive = /^Adaptive(Max|Avg)Pool([123])d$/.exec(type);
  if (adaptive) {
    const dims = Number(adaptive[2]);
    const r = args(adaptive[1] === 'Max' ? ['output_size', 'return_indices'] : ['output_size']);
    const o = r.opt('output_size');
    if (!o) return r.fail('output_size is missing');
    const size = intOf(o) !== undefined ? Array<number | null>(dims).fill(intOf(o)!) : o.kind === 'tuple' || o.kind === 'list' ? o.items.map((x) => (x.kind === 'none' ? null : (intOf(x) ?? NaN))) : undefined;
    if (!size || size.length !== dims || size.some((x) => x !== null && Number.isNaN(x))) return r.fail('output_size is not known');
    return native(0, { output_size: o }, { dims, size, indices: adaptive[1] === 'Max' && r.bool('return_indices', false) });
  }
  if (type === 'Upsample' || type === 'UpsamplingNearest2d' || type === 'UpsamplingBilinear2d') {
    const r = args(type === 'Upsample' ? ['size', 'scale_factor', 'mode', 'align_corners', 'recompute_scale_factor'] : ['size', 'scale_factor']);
    return native(0, {}, { size: r.opt('size'), scale: r.opt('scale_factor'), dims: type === 'Upsample' ? undefined : 2 });
  }
  if (type === 'PixelShuffle' || type === 'PixelUnshuffle') {
    const r = args([type === 'PixelShuffle' ? 'upscale_factor' : 'downscale_factor']);
    return native(0, {}, { r: r.int(type === 'PixelShuffle' ? 'upscale_factor' : 'downscale_factor') });
  }
  const pad = /^(Zero|Constant|Reflection|Replication|Circular)Pad([123])d$/.exec(type);
  if (pad) {
    const dims = Number(pad[2]);
    const r = args(pad[1] === 'Constant' ? ['padding', 'value'] : ['padding']);
    return native(0, {}, { pad: r.tuple('padding', 2 * dims) });
  }
  return native(`nn.${type} is not modelled`, {}, { unmodelled: true });
}

function register(interp: Interp, m: ModuleObj, name: string, v: V): void {
  if (v.kind === 'module') m.modules.set(name, v.m);
  else m.params.set(`<${name}>`, v.kind === 'unknown' ? v.why : `${describe(v)} is not a module`);
  void interp;
}

function constructConv(interp: Interp, type: string, hit: RegExpExecArray, a: CallArgs, at: Node): NativeModule {
  const lazy = !!hit[1];
  const transposed = !!hit[2];
  const dims = Number(hit[3]) as 1 | 2 | 3;
  const sig = (transposed ? CONVT_SIG : CONV_SIG).slice(lazy ? 1 : 0);
  const r = new Args(`nn.${type}`, sig, a, interp, at);
  const cin = lazy ? undefined : r.int('in_channels');
  const cout = r.int('out_channels');
  const k = r.tuple('kernel_size', dims);
  const s = r.tuple('stride', dims, 1);
  const padV = r.opt('padding');
  const padding = padV?.kind === 'str' ? padV.value : r.tuple('padding', dims, 0);
  if (typeof padding === 'string' && padding !== 'same' && padding !== 'valid') return r.fail(`padding='${padding}' is not 'same' or 'valid'`);
  const d = r.tuple('dilation', dims, 1);
  const g = r.int('groups', 1);
  const bias = r.bool('bias', true);
  const op = transposed ? r.tuple('output_padding', dims, 0) : Array<number>(dims).fill(0);
  if (g <= 0) return r.fail('groups must be a positive integer');
  if ((cin !== undefined && cin % g !== 0) || cout % g !== 0) return r.fail('in_channels and out_channels must be divisible by groups');
  if (padding === 'same' && s.some((x) => x !== 1)) return r.fail("padding='same' is not supported for strided convolutions");
  const args: ConvArgs = {
    dims,
    inChannels: cin === undefined ? undefined : Poly.const(cin),
    outChannels: Poly.const(cout),
    kernelSize: k,
    stride: s,
    padding: padding,
    dilation: d,
    groups: Poly.const(g),
    bias,
  };
  const kvol = k.reduce((x, y) => x * y, 1);
  const kind: LayerKind = lazy ? 'lazy' : transposed ? 'transposed' : g === cin && g !== 1 ? 'depthwise' : kvol === 1 ? 'pointwise' : 'conv';
  const params = cin === undefined ? 'a lazy conv: counted after its first call' : (convCost(args, kind, undefined, interp.costOptions).params.before?.constant ?? 'unknown');
  const data: ConvData = { dims, transposed, lazy, args, kind, outputPadding: op, kernelIsInt: r.opt('kernel_size')?.kind === 'int', keywords: [...a.kwargs.keys()] };
  const attrs: Record<string, V> = {
    out_channels: intV(cout),
    kernel_size: tupleV(k),
    stride: tupleV(s),
    padding: typeof padding === 'string' ? { kind: 'str', value: padding } : tupleV(padding),
    dilation: tupleV(d),
    groups: intV(g),
    padding_mode: { kind: 'str', value: r.str('padding_mode', 'zeros') },
    output_padding: tupleV(op),
  };
  if (cin !== undefined) attrs.in_channels = intV(cin);
  return { type, params, attrs: new Map(Object.entries(attrs)), data: { conv: data } };
}

// -----------------------------------------------------------------------------------------------
// forward rules

const CHANNELS_UNKNOWN = "the input's channel count is not known here: give the input shape with `# sepconv: input=1x3x224x224`";

function inputOf(interp: Interp, a: CallArgs, at: Node, what: string): TensorValue | Unknown {
  const x = a.args[0] ?? a.kwargs.get('input') ?? a.kwargs.get('query');
  if (!x) return interp.fail(at, `${what} needs an input`) as Unknown;
  if (x.kind === 'unknown') return x;
  if (x.kind !== 'tensor') return interp.fail(at, `${what} of ${describe(x)}`) as Unknown;
  return x;
}

/** Fixes the input's open channel count to `n`, or checks it; a message when it does not fit. */
function bindDim(d: Dim, n: number, what: string): string | undefined {
  if (typeof d === 'number') return d === n ? undefined : `${what} expects ${n}, got ${d}`;
  if (d.value === undefined) {
    d.value = n;
    return undefined;
  }
  return d.value === n ? undefined : `${what} expects ${n}, got ${d.value}`;
}

export function forwardNative(interp: Interp, m: ModuleObj, a: CallArgs, at: Node): V {
  const n = m.native!;
  const type = n.type;
  if (n.error) return interp.fail(at, n.error);
  if (type === 'Sequential') {
    let x: V = a.args[0] ?? NONE;
    for (const child of m.modules.values()) {
      if (!child) continue;
      x = interp.callModule(child, { args: [x], kwargs: new Map() }, at);
    }
    return x;
  }
  if (type === 'Identity') return a.args[0] ?? NONE;
  if (n.data.unmodelled) return interp.opaque(at, a, `nn.${type} is not modelled`);
  const x = inputOf(interp, a, at, `nn.${type}`);
  if (x.kind === 'unknown') {
    if (n.data.conv) m.calls.push({ input: undefined, output: undefined, macs: undefined, why: x.why });
    return x;
  }
  const fail = (detail: string) => interp.fail(at, `nn.${type}: ${detail}`);
  if (n.data.conv) {
    const c = n.data.conv as ConvData;
    // ConvTranspose*(x, output_size=...) picks among the sizes the stride allows; a conv takes one input
    const extra = [...a.args.slice(1), ...[...a.kwargs].filter(([k]) => k !== 'input').map(([, v]) => v)];
    const outputSize = c.transposed ? (a.kwargs.get('output_size') ?? a.args[1]) : undefined;
    if (extra.length > (outputSize ? 1 : 0)) {
      const v = interp.fail(at, `nn.${type} takes one input`);
      m.calls.push({ input: x.shape, output: undefined, macs: undefined, why: (v as { why: string }).why });
      return v;
    }
    return convForward(interp, m, c, x, at, outputSize);
  }
  if (ELEMENTWISE_MODULES.has(type) || type === 'PReLU') return tensor(x.shape);
  if (/Norm/.test(type)) {
    const c = n.data.channels as number | undefined;
    if (type === 'LayerNorm') {
      const ns = n.data.normalized as number[];
      const tail = x.shape.slice(x.shape.length - ns.length);
      for (let i = 0; i < ns.length; i++) {
        const err = tail[i] === undefined ? 'input too small' : bindDim(tail[i], ns[i], 'normalized_shape');
        if (err) return fail(err);
      }
      return tensor(x.shape);
    }
    const dims = n.data.dims as number | undefined;
    if (dims !== undefined) {
      const ok = type.startsWith('BatchNorm1d') || type === 'LazyBatchNorm1d' ? x.shape.length === 2 || x.shape.length === 3 : x.shape.length === dims + 2 || (n.data.instance === true && x.shape.length === dims + 1);
      if (!ok) return fail(`expected a ${dims + 2}-d input, got ${shapeText(x.shape)}`);
    }
    if (c !== undefined && !(n.data.instance === true && !(n.attrs.get('affine') as { value?: boolean } | undefined)?.value)) {
      const ci = n.data.instance === true && dims !== undefined && x.shape.length === dims + 1 ? 0 : 1;
      const err = bindDim(x.shape[ci], c, 'num_features');
      if (err) return fail(err);
    }
    if (c === undefined) {
      const cv = dimValue(x.shape[1]);
      if (cv === undefined) return fail(CHANNELS_UNKNOWN);
      const affine = (n.attrs.get('affine') as { value?: boolean } | undefined)?.value ?? !type.includes('Instance');
      n.params = affine ? 2 * cv : 0;
    }
    return tensor(x.shape);
  }
  if (type === 'Linear' || type === 'LazyLinear') {
    const last = x.shape[x.shape.length - 1];
    if (last === undefined) return fail('a 0-d input');
    let inF = n.data.inF as number | undefined;
    if (inF === undefined) {
      inF = dimValue(last);
      if (inF === undefined) return fail(CHANNELS_UNKNOWN);
      n.data.inF = inF;
      n.params = inF * (n.data.outF as number) + (n.data.bias ? (n.data.outF as number) : 0);
    }
    const err = bindDim(last, inF, 'in_features');
    if (err) return fail(err);
    return tensor([...x.shape.slice(0, -1), n.data.outF as number]);
  }
  if (type === 'Bilinear') {
    return tensor([...x.shape.slice(0, -1), n.data.o as number]);
  }
  if (type === 'Embedding') return tensor([...x.shape, n.data.dim as number]);
  if (type === 'MultiheadAttention') {
    const last = x.shape[x.shape.length - 1];
    const err = last === undefined || (x.shape.length !== 2 && x.shape.length !== 3) ? 'expected a 2-d or 3-d query' : bindDim(last, n.data.e as number, 'embed_dim');
    if (err) return fail(err);
    const need = a.kwargs.get('need_weights') ?? a.args[4];
    const weights = need ? interp.truthy(need) : true;
    if (weights === undefined) return fail('need_weights cannot be decided');
    const key = a.args[1] ?? a.kwargs.get('key');
    const batched = x.shape.length === 3;
    const seq = (t: Dim[]) => (batched ? t[(n.data.batchFirst as boolean) ? 1 : 0] : t[0]);
    const batch = batched ? [x.shape[(n.data.batchFirst as boolean) ? 0 : 1]] : [];
    const s = key?.kind === 'tensor' ? seq(key.shape) : seq(x.shape);
    return { kind: 'tuple', items: [tensor(x.shape), weights ? tensor([...batch, seq(x.shape), s]) : NONE] };
  }
  if (type === 'RNN' || type === 'LSTM' || type === 'GRU') {
    const d = n.data as { input: number; hidden: number; out: number; layers: number; dirs: number; batchFirst: boolean; lstm: boolean };
    const batched = x.shape.length === 3;
    if (!batched && x.shape.length !== 2) return fail(`expected a 2-d or 3-d input, got ${shapeText(x.shape)}`);
    const err = bindDim(x.shape[x.shape.length - 1], d.input, 'input_size');
    if (err) return fail(err);
    const output = tensor([...x.shape.slice(0, -1), d.dirs * d.out]);
    const nb = batched ? [x.shape[d.batchFirst ? 0 : 1]] : [];
    const h = tensor([d.dirs * d.layers, ...nb, d.out]);
    return { kind: 'tuple', items: [output, d.lstm ? { kind: 'tuple', items: [h, tensor([d.dirs * d.layers, ...nb, d.hidden])] } : h] };
  }
  if (type === 'GLU') return glu(interp, x, n.data.dim as number, at);
  if (type === 'Flatten') return flatten(interp, x, n.data.start as number, n.data.end as number, at);
  if (type === 'Unflatten') {
    const dim = normDim(n.data.dim as number, x.shape.length);
    const sizes = n.data.sizes as number[];
    if (dim === undefined) return fail('dim out of range');
    const whole = dimValue(x.shape[dim]);
    const prod = sizes.reduce((p, v) => (v === -1 ? p : p * v), 1);
    if (whole === undefined) return fail(CHANNELS_UNKNOWN);
    const filled = sizes.map((v) => (v === -1 ? whole / prod : v));
    if (filled.reduce((p, v) => p * v, 1) !== whole) return fail('sizes do not multiply to the dimension');
    return tensor([...x.shape.slice(0, dim), ...filled, ...x.shape.slice(dim + 1)]);
  }
  if (/^(Max|Avg)Pool[123]d$/.test(type)) {
    const d = n.data as { dims: number; k: number[]; s: number[]; p: number[]; d: number[]; ceil: boolean; indices: boolean };
    const out = pool(interp, x, d.dims, d.k, d.s, d.p, d.d, d.ceil, at);
    return d.indices && out.kind === 'tensor' ? { kind: 'tuple', items: [out, tensor(out.shape)] } : out;
  }
  if (/^Adaptive(Max|Avg)Pool[123]d$/.test(type)) {
    const d = n.data as { dims: number; size: (number | null)[]; indices: boolean };
    const out = adaptivePool(interp, x, d.dims, d.size, at);
    return d.indices && out.kind === 'tensor' ? { kind: 'tuple', items: [out, tensor(out.shape)] } : out;
  }
  if (type === 'Upsample' || type === 'UpsamplingNearest2d' || type === 'UpsamplingBilinear2d') {
    return interpolate(interp, x, (n.data.size as V | undefined) ?? NONE, (n.data.scale as V | undefined) ?? NONE, at);
  }
  if (type === 'PixelShuffle' || type === 'PixelUnshuffle') return pixelShuffle(interp, x, n.data.r as number, type === 'PixelShuffle', at);
  if (/Pad[123]d$/.test(type)) return padTensor(interp, x, n.data.pad as number[], at);
  return interp.opaque(at, a, `nn.${type} is not modelled`);
}

function convForward(interp: Interp, m: ModuleObj, c: ConvData, x: TensorValue, at: Node, outputSize?: V): V {
  const record = (why: string): V => {
    const v = interp.fail(at, why);
    m.calls.push({ input: x.shape, output: undefined, macs: undefined, why: (v as { why: string }).why });
    return v;
  };
  const rank = x.shape.length;
  if (rank !== c.dims + 2 && rank !== c.dims + 1) return record(`expected a ${c.dims + 2}-d input, got ${shapeText(x.shape)}`);
  const ci = rank - c.dims - 1;
  let cin = c.args.inChannels?.constant;
  if (cin === undefined) {
    cin = dimValue(x.shape[ci]);
    if (cin === undefined) return record(CHANNELS_UNKNOWN);
    const g = c.args.groups!.constant!;
    if (cin % g !== 0) return record('in_channels must be divisible by groups');
    c.args = { ...c.args, inChannels: Poly.const(cin) };
    const params = convCost(c.args, c.kind, undefined, interp.costOptions).params.before?.constant;
    if (m.native) {
      m.native.params = params ?? 'unknown';
      m.native.attrs.set('in_channels', intV(cin));
    }
  } else {
    const err = bindDim(x.shape[ci], cin, 'in_channels');
    if (err) return record(err);
  }
  const spatial = concrete(x.shape.slice(ci + 1));
  if (!spatial) return record('spatial size unknown');
  const cost = convCost(c.args, c.kind, spatial, interp.costOptions);
  const k = c.args.kernelSize!;
  const s = c.args.stride!;
  const d = c.args.dilation!;
  let out: number[] | undefined;
  if (c.transposed) {
    const p = c.args.padding as number[];
    const smallest = spatial.map((size, i) => (size - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + 1);
    out = smallest.map((v, i) => v + c.outputPadding[i]);
    if (outputSize && outputSize.kind !== 'none') {
      const given = outputSize.kind === 'tuple' || outputSize.kind === 'list' ? outputSize.items.map(intOf) : [];
      const wanted = given.slice(given.length - c.dims);
      if (wanted.length !== c.dims || wanted.some((v) => v === undefined)) return record(outputSize.kind === 'unknown' ? outputSize.why : 'output_size is not known');
      if (wanted.some((v, i) => v! < smallest[i] || v! >= smallest[i] + Math.max(s[i], d[i]))) return record(`output_size ${JSON.stringify(wanted)} is not reachable from this input`);
      out = wanted as number[];
    }
  } else {
    out = convOutputSize(spatial, k, s, c.args.padding!, d);
  }
  if (!out || out.some((v) => v < 1)) return record(`the input ${shapeText(x.shape)} is too small for this conv`);
  const macs = cost.macs.before?.constant;
  const shape = [...x.shape.slice(0, ci), c.args.outChannels!.constant!, ...out];
  m.calls.push({ input: x.shape, output: shape, macs, why: macs === undefined ? 'MACs unknown' : undefined });
  return tensor(shape);
}

function normDim(d: number, rank: number): number | undefined {
  const r = Math.max(rank, 1);
  const v = d < 0 ? d + r : d;
  return v >= 0 && v < r ? v : undefined;
}

function spatialOf(interp: Interp, x: TensorValue, dims: number, at: Node, what: string): { lead: Dim[]; spatial: number[] } | V {
  const rank = x.shape.length;
  if (rank !== dims + 2 && rank !== dims + 1) return interp.fail(at, `${what}: expected a ${dims + 2}-d input, got ${shapeText(x.shape)}`);
  const spatial = concrete(x.shape.slice(rank - dims));
  if (!spatial) return interp.fail(at, `${what}: spatial size unknown`);
  return { lead: x.shape.slice(0, rank - dims), spatial };
}

/** PyTorch's pooling_output_shape. */
function pool(interp: Interp, x: TensorValue, dims: number, k: number[], s: number[], p: number[], d: number[], ceil: boolean, at: Node): V {
  const sp = spatialOf(interp, x, dims, at, 'pooling');
  if (!('spatial' in sp)) return sp;
  const out = sp.spatial.map((size, i) => {
    const num = size + 2 * p[i] - d[i] * (k[i] - 1) - 1 + (ceil ? s[i] - 1 : 0);
    let o = Math.floor(num / s[i]) + 1;
    if (ceil && (o - 1) * s[i] >= size + p[i]) o--;
    return o;
  });
  if (out.some((v) => v < 1)) return interp.fail(at, `pooling: the input ${shapeText(x.shape)} is too small`);
  return tensor([...sp.lead, ...out]);
}

function adaptivePool(interp: Interp, x: TensorValue, dims: number, size: (number | null)[], at: Node): V {
  const sp = spatialOf(interp, x, dims, at, 'adaptive pooling');
  if (!('spatial' in sp)) return sp;
  return tensor([...sp.lead, ...sp.spatial.map((v, i) => size[i] ?? v)]);
}

function interpolate(interp: Interp, x: TensorValue, size: V, scale: V, at: Node): V {
  const dims = x.shape.length - 2;
  if (dims < 1 || dims > 3) return interp.fail(at, `interpolate: expected a 3-d to 5-d input, got ${shapeText(x.shape)}`);
  const spatial = concrete(x.shape.slice(2));
  if (!spatial) return interp.fail(at, 'interpolate: spatial size unknown');
  if (size.kind !== 'none') {
    if (size.kind === 'unknown') return size;
    const out = intOf(size) !== undefined ? Array<number>(dims).fill(intOf(size)!) : size.kind === 'tuple' || size.kind === 'list' ? size.items.map(intOf) : undefined;
    if (!out || out.length !== dims || out.some((v) => v === undefined)) return interp.fail(at, 'interpolate: size is not known');
    return tensor([x.shape[0], x.shape[1], ...(out as number[])]);
  }
  if (scale.kind === 'none') return interp.fail(at, 'interpolate: neither size nor scale_factor');
  if (scale.kind === 'unknown') return scale;
  const factors = numOf(scale) !== undefined ? Array<number>(dims).fill(numOf(scale)!) : scale.kind === 'tuple' || scale.kind === 'list' ? scale.items.map(numOf) : undefined;
  if (!factors || factors.length !== dims || factors.some((v) => v === undefined)) return interp.fail(at, 'interpolate: scale_factor is not known');
  return tensor([x.shape[0], x.shape[1], ...spatial.map((v, i) => Math.floor(v * factors[i]!))]);
}

function pixelShuffle(interp: Interp, x: TensorValue, r: number, up: boolean, at: Node): V {
  const n = x.shape.length;
  if (n < 3) return interp.fail(at, 'pixel shuffle needs at least 3 dims');
  const c = dimValue(x.shape[n - 3]);
  const h = dimValue(x.shape[n - 2]);
  const w = dimValue(x.shape[n - 1]);
  if (c === undefined || h === undefined || w === undefined) return interp.fail(at, CHANNELS_UNKNOWN);
  if (up) {
    if (c % (r * r) !== 0) return interp.fail(at, 'channels not divisible by the upscale factor squared');
    return tensor([...x.shape.slice(0, n - 3), c / (r * r), h * r, w * r]);
  }
  if (h % r !== 0 || w % r !== 0) return interp.fail(at, 'size not divisible by the downscale factor');
  return tensor([...x.shape.slice(0, n - 3), c * r * r, h / r, w / r]);
}

/** F.pad / nn.*PadNd: pairs from the last dim backwards. */
function padTensor(interp: Interp, x: TensorValue, pad: number[], at: Node): V {
  if (pad.length % 2 !== 0 || pad.length / 2 > x.shape.length) return interp.fail(at, 'padding length');
  const shape = [...x.shape];
  for (let i = 0; i < pad.length / 2; i++) {
    const dim = shape.length - 1 - i;
    const v = dimValue(shape[dim]);
    if (v === undefined) return interp.fail(at, CHANNELS_UNKNOWN);
    shape[dim] = v + pad[2 * i] + pad[2 * i + 1];
    if (shape[dim] < 1) return interp.fail(at, 'padding makes a dimension empty');
  }
  return tensor(shape);
}

function flatten(interp: Interp, x: TensorValue, start: number, end: number, at: Node): V {
  if (x.shape.length === 0) return tensor([1]);
  const s = normDim(start, x.shape.length);
  const e = normDim(end, x.shape.length);
  if (s === undefined || e === undefined || s > e) return interp.fail(at, 'flatten: dims out of range');
  const mid = concrete(x.shape.slice(s, e + 1));
  if (!mid) return interp.fail(at, `flatten: ${CHANNELS_UNKNOWN}`);
  return tensor([...x.shape.slice(0, s), mid.reduce((p, v) => p * v, 1), ...x.shape.slice(e + 1)]);
}

function glu(interp: Interp, x: TensorValue, dim: number, at: Node): V {
  const d = normDim(dim, x.shape.length);
  const v = d === undefined ? undefined : dimValue(x.shape[d]);
  if (d === undefined || v === undefined || v % 2 !== 0) return interp.fail(at, 'glu: the dimension must be even');
  const shape = [...x.shape];
  shape[d] = v / 2;
  return tensor(shape);
}

// -----------------------------------------------------------------------------------------------
// tensors

function same(a: Dim, b: Dim): boolean {
  if (a === b) return true;
  const x = dimValue(a);
  const y = dimValue(b);
  return x !== undefined && x === y;
}

export function broadcast(a: readonly Dim[], b: readonly Dim[]): Dim[] | string {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (same(da, db)) out.push(da);
    else if (dimValue(da) === 1) out.push(db);
    else if (dimValue(db) === 1) out.push(da);
    else if (dimValue(da) === undefined || dimValue(db) === undefined) return CHANNELS_UNKNOWN;
    else return `shapes ${shapeText(a)} and ${shapeText(b)} do not broadcast`;
  }
  return out;
}

function matmul(interp: Interp, a: Dim[], b: Dim[], at: Node): V {
  if (a.length === 0 || b.length === 0) return interp.fail(at, 'matmul of a 0-d tensor');
  const A = a.length === 1 ? [1, a[0]] : a;
  const B = b.length === 1 ? [b[0], 1] : b;
  if (!same(A[A.length - 1], B[B.length - 2])) return interp.fail(at, `matmul: ${shapeText(a)} @ ${shapeText(b)}`);
  const batch = broadcast(A.slice(0, -2), B.slice(0, -2));
  if (typeof batch === 'string') return interp.fail(at, batch);
  const shape = [...batch, ...(a.length === 1 ? [] : [A[A.length - 2]]), ...(b.length === 1 ? [] : [B[B.length - 1]])];
  return tensor(shape);
}

export function tensorUnary(t: TensorValue): V {
  return tensor(t.shape);
}

export function tensorBinary(interp: Interp, op: string, l: V, r: V, at: Node): V {
  const scalar = (v: V) => v.kind === 'int' || v.kind === 'float' || v.kind === 'bool';
  if (l.kind === 'tensor' && r.kind === 'tensor') {
    if (op === '@') return matmul(interp, l.shape, r.shape, at);
    const s = broadcast(l.shape, r.shape);
    return typeof s === 'string' ? interp.fail(at, s) : tensor(s);
  }
  if (l.kind === 'tensor' && scalar(r)) return tensor(l.shape);
  if (r.kind === 'tensor' && scalar(l)) return tensor(r.shape);
  return interp.fail(at, `\`${op}\` of ${describe(l)} and ${describe(r)}`);
}

export function tensorCompare(interp: Interp, a: V, b: V, at: Node): V {
  return tensorBinary(interp, '+', a, b, at);
}

/** `x[:, :c]`, `x[..., None]`, `x[0]`. */
export function tensorItem(interp: Interp, t: TensorValue, key: V, at: Node): V {
  const keys = key.kind === 'tuple' ? key.items : [key];
  const consumed = keys.filter((k) => k.kind !== 'none' && k.kind !== 'ellipsis').length;
  const out: Dim[] = [];
  let dim = 0;
  for (const k of keys) {
    if (k.kind === 'none') out.push(1);
    else if (k.kind === 'ellipsis') {
      const n = t.shape.length - consumed;
      out.push(...t.shape.slice(dim, dim + n));
      dim += n;
    } else if (k.kind === 'slice') {
      const d = t.shape[dim];
      if (d === undefined) return interp.fail(at, 'too many indices');
      const size = dimValue(d);
      const full = k.start.kind === 'none' && k.stop.kind === 'none' && k.step.kind === 'none';
      if (full) out.push(d);
      else {
        if (size === undefined) return interp.fail(at, CHANNELS_UNKNOWN);
        const idx = sliceIndices(k, size);
        if (!idx) return interp.fail(at, 'slice bounds are not known');
        out.push(idx.length);
      }
      dim++;
    } else if (intOf(k) !== undefined && k.kind !== 'float') {
      if (t.shape[dim] === undefined) return interp.fail(at, 'too many indices');
      dim++;
    } else if (k.kind === 'unknown') return k;
    else return interp.fail(at, `indexing with ${describe(k)}`);
  }
  if (dim > t.shape.length) return interp.fail(at, 'too many indices');
  out.push(...t.shape.slice(dim));
  return tensor(out);
}

function sizeTuple(interp: Interp, t: TensorValue, at: Node): V {
  return { kind: 'tuple', items: t.shape.map((d) => (dimValue(d) !== undefined ? intV(dimValue(d)!) : interp.fail(at, CHANNELS_UNKNOWN))) };
}

export function tensorAttribute(interp: Interp, t: TensorValue, name: string, at: Node): V {
  switch (name) {
    case 'shape':
      return sizeTuple(interp, t, at);
    case 'ndim':
      return intV(t.shape.length);
    case 'T':
      return tensor([...t.shape].reverse());
    case 'data':
      return t;
    case 'dtype':
    case 'device':
      return { kind: 'lib', path: `torch.${name}` };
    case 'is_cuda':
    case 'requires_grad':
      return { kind: 'bool', value: false };
    case 'grad':
      return NONE;
    default:
      return { kind: 'native', name: `tensor.${name}`, self: t };
  }
}

/** Sizes given as `(2, 3)`, `[2, 3]`, `torch.Size`, or spread as arguments. */
function sizesOf(args: V[]): (number | undefined)[] | undefined {
  const one = args.length === 1 ? args[0] : undefined;
  const items = one && (one.kind === 'tuple' || one.kind === 'list') ? one.items : args;
  if (items.some((v) => v.kind === 'unknown')) return undefined;
  return items.map(intOf);
}

function reshape(interp: Interp, t: TensorValue, args: V[], at: Node): V {
  const first = args.find((v) => v.kind === 'unknown') ?? (args[0]?.kind === 'tuple' ? args[0].items.find((v) => v.kind === 'unknown') : undefined);
  if (first) return first;
  const sizes = sizesOf(args);
  if (!sizes || sizes.some((v) => v === undefined)) return interp.fail(at, 'view/reshape sizes are not known');
  const total = concrete(t.shape);
  if (!total) return interp.fail(at, CHANNELS_UNKNOWN);
  const numel = total.reduce((p, v) => p * v, 1);
  const known = (sizes as number[]).filter((v) => v !== -1).reduce((p, v) => p * v, 1);
  const holes = sizes.filter((v) => v === -1).length;
  if (holes > 1) return interp.fail(at, 'more than one -1');
  const out = (sizes as number[]).map((v) => (v === -1 ? numel / known : v));
  if (out.some((v) => !Number.isInteger(v) || v < 0) || out.reduce((p, v) => p * v, 1) !== numel) {
    return interp.fail(at, `shape ${shapeText(out)} is invalid for an input of size ${numel}`);
  }
  return tensor(out);
}

function dimsArg(v: V | undefined, rank: number): number[] | undefined | 'all' {
  if (v === undefined || v.kind === 'none') return 'all';
  const list = v.kind === 'tuple' || v.kind === 'list' ? v.items.map(intOf) : [intOf(v)];
  if (list.some((x) => x === undefined)) return undefined;
  const out = (list as number[]).map((d) => normDim(d, rank));
  return out.some((x) => x === undefined) ? undefined : (out as number[]);
}

function reduce(interp: Interp, t: TensorValue, dimV: V | undefined, keepV: V | undefined, at: Node): V {
  const dims = dimsArg(dimV, t.shape.length);
  if (dims === undefined) return dimV?.kind === 'unknown' ? dimV : interp.fail(at, 'reduction dims are not known');
  const keep = keepV ? interp.truthy(keepV) : false;
  if (keep === undefined) return interp.fail(at, 'keepdim cannot be decided');
  if (dims === 'all') return tensor(keep ? t.shape.map(() => 1) : []);
  return tensor(keep ? t.shape.map((d, i) => (dims.includes(i) ? 1 : d)) : t.shape.filter((_, i) => !dims.includes(i)));
}

/** Arguments by position or keyword for the small signatures of tensor methods and functions. */
function pick(a: CallArgs, names: string[]): (V | undefined)[] {
  return names.map((n, i) => a.kwargs.get(n) ?? a.args[i]);
}

export function callTensorMethod(interp: Interp, t: TensorValue, name: string, a: CallArgs, at: Node): V {
  const args = a.args;
  const fail = (d: string) => interp.fail(at, `${name}(): ${d}`);
  if (ELEMENTWISE_FUNCTIONS.has(name)) {
    // casts and in-place ops keep the object, so an example input stays one after `.to(device)`
    if (/^(to|cpu|cuda|float|double|half|contiguous|detach|requires_grad_)$/.test(name) || name.endsWith('_')) {
      if (name.endsWith('_') && args[0]?.kind === 'tensor' && !/^(masked_fill_|fill_)$/.test(name)) {
        const s = broadcast(t.shape, args[0].shape);
        if (typeof s === 'string') return fail(s);
      }
      return t;
    }
    return tensor(t.shape);
  }
  if (name in BROADCAST_FUNCTIONS) {
    const o = args[0] ?? a.kwargs.get('other');
    return o ? tensorBinary(interp, BROADCAST_FUNCTIONS[name], t, o, at) : fail('missing argument');
  }
  switch (name) {
    case 'size': {
      const d = args[0] ?? a.kwargs.get('dim');
      if (!d) return sizeTuple(interp, t, at);
      const i = intOf(d);
      const k = i === undefined ? undefined : normDim(i, t.shape.length);
      if (k === undefined) return d.kind === 'unknown' ? d : fail('dim out of range');
      const v = dimValue(t.shape[k]);
      return v === undefined ? fail(CHANNELS_UNKNOWN) : intV(v);
    }
    case 'dim':
    case 'ndimension':
      return intV(t.shape.length);
    case 'numel':
    case 'nelement': {
      const n = tensorNumel(t);
      return typeof n === 'number' ? intV(n) : fail(n);
    }
    case 'view':
    case 'reshape':
      return reshape(interp, t, args, at);
    case 'view_as':
    case 'reshape_as':
    case 'expand_as':
    case 'type_as':
      return args[0]?.kind === 'tensor' ? tensor(args[0].shape) : (args[0] ?? fail('missing argument'));
    case 'flatten': {
      const [s, e] = pick(a, ['start_dim', 'end_dim']);
      return flatten(interp, t, s ? (intOf(s) ?? 0) : 0, e ? (intOf(e) ?? -1) : -1, at);
    }
    case 'mean':
    case 'sum':
    case 'amax':
    case 'amin':
    case 'prod':
    case 'std':
    case 'var':
    case 'logsumexp':
    case 'norm':
    case 'argmax':
    case 'argmin':
    case 'all':
    case 'any': {
      const [d, k] = name === 'norm' ? pick(a, ['p', 'dim', 'keepdim']).slice(1) : pick(a, ['dim', 'keepdim']);
      return reduce(interp, t, d, k, at);
    }
    case 'max':
    case 'min': {
      const [d, k] = pick(a, ['dim', 'keepdim']);
      if (d?.kind === 'tensor') return tensorBinary(interp, '+', t, d, at);
      const r = reduce(interp, t, d, k, at);
      return d && d.kind !== 'none' && r.kind === 'tensor' ? { kind: 'tuple', items: [r, tensor(r.shape)] } : r;
    }
    case 'squeeze': {
      const d = args[0] ?? a.kwargs.get('dim');
      if (!d) return tensor(t.shape.filter((x) => dimValue(x) !== 1));
      const k = intOf(d) === undefined ? undefined : normDim(intOf(d)!, t.shape.length);
      if (k === undefined) return fail('dim out of range');
      return dimValue(t.shape[k]) === 1 ? tensor(t.shape.filter((_, i) => i !== k)) : t;
    }
    case 'unsqueeze': {
      const d = intOf(args[0] ?? a.kwargs.get('dim') ?? NONE);
      const k = d === undefined ? undefined : normDim(d, t.shape.length + 1);
      if (k === undefined) return fail('dim out of range');
      return tensor([...t.shape.slice(0, k), 1, ...t.shape.slice(k)]);
    }
    case 'transpose':
    case 'swapaxes': {
      const [x, y] = [intOf(args[0] ?? NONE), intOf(args[1] ?? NONE)].map((v) => (v === undefined ? undefined : normDim(v, t.shape.length)));
      if (x === undefined || y === undefined) return fail('dims out of range');
      const s = [...t.shape];
      [s[x], s[y]] = [s[y], s[x]];
      return tensor(s);
    }
    case 't':
      return tensor([...t.shape].reverse());
    case 'permute': {
      const order = sizesOf(args);
      if (!order || order.length !== t.shape.length || order.some((v) => v === undefined)) return fail('dims are not known');
      return tensor((order as number[]).map((i) => t.shape[normDim(i, t.shape.length) ?? 0]));
    }
    case 'expand': {
      const sizes = sizesOf(args);
      if (!sizes || sizes.some((v) => v === undefined)) return fail('sizes are not known');
      const lead = sizes.length - t.shape.length;
      return tensor((sizes as number[]).map((v, i) => (v === -1 ? t.shape[i - lead] : v)));
    }
    case 'repeat': {
      const reps = sizesOf(args);
      const shape = concrete(t.shape);
      if (!reps || reps.some((v) => v === undefined) || !shape) return fail('sizes are not known');
      const lead = reps.length - shape.length;
      return tensor((reps as number[]).map((r, i) => r * (shape[i - lead] ?? 1)));
    }
    case 'narrow': {
      const [d, , len] = pick(a, ['dim', 'start', 'length']);
      const k = intOf(d ?? NONE) === undefined ? undefined : normDim(intOf(d!)!, t.shape.length);
      const n = intOf(len ?? NONE);
      if (k === undefined || n === undefined) return fail('arguments are not known');
      const s = [...t.shape];
      s[k] = n;
      return tensor(s);
    }
    case 'chunk':
    case 'split':
    case 'unbind':
      return splitTensor(interp, t, name, a, at);
    case 'matmul':
    case 'mm':
    case 'bmm':
      return args[0]?.kind === 'tensor' ? matmul(interp, t.shape, args[0].shape, at) : fail('missing argument');
    case 'softmax':
    case 'log_softmax':
    case 'relu':
    case 'sigmoid':
    case 'tanh':
      return tensor(t.shape);
    case 'new_zeros':
    case 'new_ones':
    case 'new_empty':
    case 'new_full':
      return creation(interp, name === 'new_full' ? [args[0] ?? NONE] : args, at, false);
    case 'item':
    case 'tolist':
      return fail('a value computed from tensor data');
    case 'unflatten': {
      const [d, sizesV] = pick(a, ['dim', 'sizes']);
      const k = intOf(d ?? NONE) === undefined ? undefined : normDim(intOf(d!)!, t.shape.length);
      const sizes = sizesV ? sizesOf([sizesV]) : undefined;
      if (k === undefined || !sizes || sizes.some((v) => v === undefined)) return fail('arguments are not known');
      return tensor([...t.shape.slice(0, k), ...(sizes as number[]), ...t.shape.slice(k + 1)]);
    }
    default:
      return fail('this tensor method is not modelled');
  }
}

function splitTensor(interp: Interp, t: TensorValue, name: string, a: CallArgs, at: Node): V {
  const [first, dimV] = name === 'unbind' ? [undefined, a.args[0] ?? a.kwargs.get('dim')] : pick(a, [name === 'chunk' ? 'chunks' : 'split_size_or_sections', 'dim']);
  const d = normDim(intOf(dimV ?? intV(0)) ?? 0, t.shape.length);
  if (d === undefined) return interp.fail(at, `${name}(): dim out of range`);
  const size = dimValue(t.shape[d]);
  if (size === undefined) return interp.fail(at, `${name}(): ${CHANNELS_UNKNOWN}`);
  let parts: number[];
  if (name === 'unbind') return { kind: 'tuple', items: Array.from({ length: size }, () => tensor(t.shape.filter((_, i) => i !== d))) };
  if (!first) return interp.fail(at, `${name}(): missing argument`);
  if (name === 'chunk') {
    const n = intOf(first);
    if (n === undefined || n < 1) return interp.fail(at, 'chunk(): chunks is not known');
    const each = Math.ceil(size / n);
    parts = [];
    for (let left = size; left > 0; left -= each) parts.push(Math.min(each, left));
  } else if (intOf(first) !== undefined) {
    const each = intOf(first)!;
    parts = [];
    for (let left = size; left > 0; left -= each) parts.push(Math.min(each, left));
  } else {
    const list = sizesOf([first]);
    if (!list || list.some((v) => v === undefined) || (list as number[]).reduce((p, v) => p + v, 0) !== size) return interp.fail(at, 'split(): sections do not add up');
    parts = list as number[];
  }
  return {
    kind: 'tuple',
    items: parts.map((p) => {
      const s = [...t.shape];
      s[d] = p;
      return tensor(s);
    }),
  };
}

function creation(interp: Interp, args: V[], at: Node, example: boolean): V {
  const sizes = sizesOf(args);
  if (!sizes || sizes.some((v) => v === undefined || v < 0)) {
    const bad = args.find((v) => v.kind === 'unknown');
    return bad ?? interp.fail(at, 'sizes are not known');
  }
  const t = tensor(sizes as number[]);
  if (example) t.example = { line: at.startPosition.row };
  return t;
}

function tensorList(interp: Interp, v: V | undefined, at: Node): TensorValue[] | V {
  if (!v) return interp.fail(at, 'missing tensors');
  const items = interp.iterate(v, at);
  if (!Array.isArray(items)) return items;
  const bad = items.find((x) => x.kind !== 'tensor');
  if (bad) return bad.kind === 'unknown' ? bad : interp.fail(at, `${describe(bad)} among the tensors`);
  return items as TensorValue[];
}

function cat(interp: Interp, a: CallArgs, at: Node, stack: boolean): V {
  const [list, dimV] = pick(a, ['tensors', 'dim']);
  const ts = tensorList(interp, list, at);
  if (!Array.isArray(ts)) return ts;
  if (ts.length === 0) return interp.fail(at, 'no tensors');
  const rank = ts[0].shape.length;
  const d = normDim(intOf(dimV ?? intV(0)) ?? 0, stack ? rank + 1 : rank);
  if (d === undefined) return interp.fail(at, 'dim out of range');
  if (ts.some((t) => t.shape.length !== rank)) return interp.fail(at, `tensors of different ranks: ${ts.map((t) => shapeText(t.shape)).join(', ')}`);
  for (let i = 0; i < rank; i++) {
    if (!stack && i === d) continue;
    if (ts.some((t) => !same(t.shape[i], ts[0].shape[i]))) return interp.fail(at, `sizes differ in dim ${i}: ${ts.map((t) => shapeText(t.shape)).join(', ')}`);
  }
  if (stack) return tensor([...ts[0].shape.slice(0, d), ts.length, ...ts[0].shape.slice(d)]);
  const total = ts.map((t) => dimValue(t.shape[d]));
  if (total.some((v) => v === undefined)) return interp.fail(at, CHANNELS_UNKNOWN);
  const shape = [...ts[0].shape];
  shape[d] = (total as number[]).reduce((p, v) => p + v, 0);
  return tensor(shape);
}

function clone(interp: Interp, v: V, seen = new Map<ModuleObj, ModuleObj>()): V {
  if (v.kind !== 'module') return v.kind === 'list' ? { kind: 'list', items: v.items.map((x) => clone(interp, x, seen)) } : v;
  const copy = (m: ModuleObj): ModuleObj => {
    const known = seen.get(m);
    if (known) return known;
    const c: ModuleObj = {
      ...m,
      id: interp.newId(),
      native: m.native ? { ...m.native, attrs: new Map(m.native.attrs), data: { ...m.native.data, ...(m.native.data.conv ? { conv: { ...(m.native.data.conv as ConvData) } } : {}) } } : undefined,
      attrs: new Map(m.attrs),
      modules: new Map(),
      params: new Map(m.params),
      calls: [],
    };
    seen.set(m, c);
    for (const [k, sub] of m.modules) c.modules.set(k, sub ? copy(sub) : null);
    return c;
  };
  return { kind: 'module', m: copy(v.m) };
}

/** Calls of library functions and classes by canonical dotted path. */
export function callTorch(interp: Interp, p: string, _self: V | undefined, a: CallArgs, at: Node): V {
  if (isNnClass(p)) {
    const m = interp.newModule(undefined, undefined, at);
    initNative(interp, m, p, a, at);
    if (!m.native) m.native = { type: 'Module', params: 0, attrs: new Map(), data: {} };
    return { kind: 'module', m };
  }
  // quantization stubs are identities in a float model
  if (/^torch\.(ao\.)?quantization\.(stubs\.)?(QuantStub|DeQuantStub)$/.test(p)) {
    const m = interp.newModule(undefined, { type: 'Identity', params: 0, attrs: new Map(), data: {} }, at);
    return { kind: 'module', m };
  }
  const init = /^(.*)\.__init__$/.exec(p);
  if (init && isNnClass(canonical(init[1]))) {
    const self = a.args[0];
    if (self?.kind === 'module') initNative(interp, self.m, init[1], { args: a.args.slice(1), kwargs: a.kwargs }, at);
    return NONE;
  }
  const fwd = /^(.*)\.forward$/.exec(p);
  if (fwd && isNnClass(canonical(fwd[1])) && a.args[0]?.kind === 'module') {
    return forwardNative(interp, a.args[0].m, { args: a.args.slice(1), kwargs: a.kwargs }, at);
  }
  const args = a.args;
  const x = args[0];
  const unary = (fn: (t: TensorValue) => V): V => (x?.kind === 'tensor' ? fn(x) : x?.kind === 'unknown' ? x : interp.fail(at, `${p}() of ${x ? describe(x) : 'nothing'}`));
  const fname = p.replace(/^torch\.nn\.functional\./, '').replace(/^torch\./, '');
  const functional = p.startsWith('torch.nn.functional.');
  const isTorch = functional || (p.startsWith('torch.') && !p.slice(6).includes('.'));
  switch (p) {
    case 'torch.nn.Parameter':
    case 'torch.nn.parameter.Parameter':
      if (x?.kind === 'tensor') return { ...x, param: true, example: undefined };
      // a parameter of unknown size still is a parameter: the module's count becomes unknown, not smaller
      return { ...(x?.kind === 'unknown' ? x : interp.fail(at, `Parameter() of ${x ? describe(x) : 'nothing'}`)), param: true } as V;
    case 'collections.OrderedDict':
    case 'typing.OrderedDict': {
      const entries: [V, V][] = [];
      if (x) {
        const items = x.kind === 'dict' ? x.entries.map(([k, v]) => ({ kind: 'tuple', items: [k, v] })) : interp.iterate(x, at);
        if (!Array.isArray(items)) return items;
        for (const it of items) {
          if ((it.kind !== 'tuple' && it.kind !== 'list') || it.items.length !== 2) return interp.fail(at, 'OrderedDict of non-pairs');
          entries.push([it.items[0], it.items[1]]);
        }
      }
      for (const [k, v] of a.kwargs) entries.push([{ kind: 'str', value: k }, v]);
      return { kind: 'dict', entries };
    }
    case 'functools.partial':
      return x ? { kind: 'native', name: 'functools.partial', self: x, partial: { args: args.slice(1), kwargs: a.kwargs } } : interp.fail(at, 'partial()');
    case 'copy.deepcopy':
    case 'copy.copy':
      return x ? clone(interp, x) : interp.fail(at);
    case 'typing.cast':
      return args[1] ?? interp.fail(at);
    case 'dataclasses.fields': {
      // the fields of a dataclass (or of an instance's class), each with its `name`
      const c = x?.kind === 'class' ? x.c : x?.kind === 'object' ? x.o.cls : undefined;
      if (!c?.fields) return interp.fail(at, 'fields() of something that is not a dataclass');
      const field: ClassObj = { id: -1, name: 'Field', node: c.node, env: c.env, bases: [], attrs: new Map() };
      return { kind: 'tuple', items: c.fields.map((f) => ({ kind: 'object', o: { cls: field, attrs: new Map([['name', strV(f)]]) } })) };
    }
    case 'dataclasses.field':
      // a marker the generated __init__ reads (`default`, `default_factory`)
      return { kind: 'native', name: 'dataclasses.field', partial: { args: [], kwargs: a.kwargs } };
    case 'math.ceil':
    case 'math.floor':
    case 'math.sqrt':
    case 'math.log':
    case 'math.log2':
    case 'math.exp':
    case 'math.trunc': {
      const n = x ? numOf(x) : undefined;
      if (n === undefined) return x?.kind === 'unknown' ? x : interp.fail(at, `${p}()`);
      const f: Record<string, (v: number) => V> = {
        'math.ceil': (v) => intV(Math.ceil(v)),
        'math.floor': (v) => intV(Math.floor(v)),
        'math.trunc': (v) => intV(Math.trunc(v)),
        'math.sqrt': (v) => ({ kind: 'float', value: Math.sqrt(v) }),
        'math.log': (v) => ({ kind: 'float', value: args[1] ? Math.log(v) / Math.log(numOf(args[1]) ?? Math.E) : Math.log(v) }),
        'math.log2': (v) => ({ kind: 'float', value: Math.log2(v) }),
        'math.exp': (v) => ({ kind: 'float', value: Math.exp(v) }),
      };
      return f[p](n);
    }
    case 'math.prod':
    case 'numpy.prod': {
      const items = x ? interp.iterate(x, at) : [];
      if (!Array.isArray(items)) return items;
      let acc: V = intV(1);
      for (const v of items) acc = interp.binop('*', acc, v, at);
      return acc;
    }
    case 'math.gcd': {
      let [u, v] = [intOf(x ?? NONE), intOf(args[1] ?? NONE)];
      if (u === undefined || v === undefined) return interp.fail(at, 'gcd()');
      [u, v] = [Math.abs(u), Math.abs(v)];
      while (v) [u, v] = [v, u % v];
      return intV(u);
    }
    case 'torch.no_grad':
    case 'torch.enable_grad':
    case 'torch.set_grad_enabled':
    case 'torch.inference_mode':
    case 'torch._assert':
    case 'warnings.warn':
    case 'torch.manual_seed':
      return NONE;
    case 'torch.jit.is_scripting':
    case 'torch.jit.is_tracing':
    case 'torch.is_grad_enabled':
    case 'torch.cuda.is_available':
      return { kind: 'bool', value: false };
    case 'torch.jit.annotate':
      return args[1] ?? interp.fail(at);
    case 'torch.utils.checkpoint.checkpoint':
    case 'torch.utils.checkpoint.checkpoint_sequential':
      if (p.endsWith('checkpoint') && x) {
        const kw = new Map([...a.kwargs].filter(([k]) => k !== 'use_reentrant' && k !== 'preserve_rng_state'));
        return interp.call(x, { args: args.slice(1), kwargs: kw }, at);
      }
      return interp.opaque(at, a, `${p} is not modelled`);
    case 'torch.nn.utils.weight_norm':
    case 'torch.nn.utils.parametrizations.weight_norm':
    case 'torch.nn.utils.spectral_norm':
    case 'torch.nn.utils.parametrizations.spectral_norm':
      return x?.kind === 'module' ? reparametrize(x.m, p.endsWith('weight_norm'), a, at) : interp.opaque(at, a, `${p}() of ${x ? describe(x) : 'nothing'}`);
    case 'torch.Size':
      return x ? ({ kind: 'tuple', items: Array.isArray(interp.iterate(x, at)) ? (interp.iterate(x, at) as V[]) : [] }) : { kind: 'tuple', items: [] };
  }
  if (p.startsWith('torch.nn.init.')) return x ?? NONE;
  if (p.startsWith('logging.') || p.startsWith('warnings.')) return NONE;
  if (!isTorch) return interp.opaque(at, a, `${p}() is not modelled`);

  if (ELEMENTWISE_FUNCTIONS.has(fname)) return unary((t) => tensor(t.shape));
  if (fname in BROADCAST_FUNCTIONS && !functional) {
    const y = args[1] ?? a.kwargs.get('other');
    return x && y ? tensorBinary(interp, BROADCAST_FUNCTIONS[fname], x, y, at) : interp.fail(at, `${p}()`);
  }
  switch (fname) {
    case 'cat':
    case 'concat':
    case 'concatenate':
      return cat(interp, a, at, false);
    case 'stack':
      return cat(interp, a, at, true);
    case 'meshgrid': {
      // 1-d tensors (or one list of them) of sizes n1..nk: k tensors of shape (n1, ..., nk), as with
      // indexing="ij"; "xy" swaps the first two sizes
      const given = args.length === 1 && (x?.kind === 'list' || x?.kind === 'tuple') ? x.items : args;
      if (given.some((t) => t.kind !== 'tensor' || t.shape.length !== 1)) return given.find((t) => t.kind === 'unknown') ?? interp.fail(at, 'meshgrid() of tensors that are not 1-d');
      const sizes = given.map((t) => (t as TensorValue).shape[0]);
      const xy = a.kwargs.get('indexing');
      if (xy?.kind === 'str' && xy.value === 'xy' && sizes.length >= 2) [sizes[0], sizes[1]] = [sizes[1], sizes[0]];
      return { kind: 'tuple', items: given.map(() => tensor([...sizes])) };
    }
    case 'randn':
    case 'rand':
    case 'zeros':
    case 'ones':
    case 'empty':
      return creation(interp, args, at, true);
    case 'full':
      return creation(interp, [x ?? NONE], at, true);
    case 'Tensor':
    case 'FloatTensor':
    case 'DoubleTensor':
    case 'HalfTensor':
    case 'LongTensor':
    case 'IntTensor':
      // the legacy constructors take sizes (`torch.FloatTensor(num_classes, dim)`) or data
      return args.length && args.every((v) => intOf(v) !== undefined) ? creation(interp, args, at, true) : interp.fail(at, `torch.${fname}() of data`);
    case 'randint':
      return creation(interp, [args[args.length - 1] ?? a.kwargs.get('size') ?? NONE], at, true);
    case 'arange': {
      const nums = args.map(numOf);
      if (nums.length === 0 || nums.some((v) => v === undefined)) return interp.fail(at, 'arange() bounds are not known');
      const [s, e, st] = nums.length === 1 ? [0, nums[0]!, 1] : [nums[0]!, nums[1]!, nums[2] ?? 1];
      return tensor([Math.max(0, Math.ceil((e - s) / st))]);
    }
    case 'linspace':
      return intOf(args[2] ?? a.kwargs.get('steps') ?? NONE) !== undefined ? tensor([intOf(args[2] ?? a.kwargs.get('steps')!)!]) : interp.fail(at, 'linspace() steps');
    case 'flatten': {
      const [, s, e] = pick(a, ['input', 'start_dim', 'end_dim']);
      return unary((t) => flatten(interp, t, s ? (intOf(s) ?? 0) : 0, e ? (intOf(e) ?? -1) : -1, at));
    }
    case 'where':
      if (args.length === 3) {
        const s1 = tensorBinary(interp, '+', args[0], args[1], at);
        return s1.kind === 'tensor' ? tensorBinary(interp, '+', s1, args[2], at) : s1;
      }
      return interp.fail(at, 'where() with one argument');
    case 'matmul':
    case 'mm':
    case 'bmm':
      return x?.kind === 'tensor' && args[1]?.kind === 'tensor' ? matmul(interp, x.shape, args[1].shape, at) : interp.fail(at, `${fname}()`);
    case 'einsum':
      return interp.fail(at, 'einsum() is not modelled');
    case 'max_pool1d':
    case 'max_pool2d':
    case 'max_pool3d':
    case 'avg_pool1d':
    case 'avg_pool2d':
    case 'avg_pool3d': {
      const dims = Number(fname.slice(-2, -1));
      const max = fname.startsWith('max');
      const names = max ? ['input', 'kernel_size', 'stride', 'padding', 'dilation', 'ceil_mode', 'return_indices'] : ['input', 'kernel_size', 'stride', 'padding', 'ceil_mode', 'count_include_pad', 'divisor_override'];
      try {
        const r = new Args(p, names, a, interp, at);
        const k = r.tuple('kernel_size', dims);
        const s = r.has('stride') && !(r.opt('stride')?.kind === 'list' && (r.opt('stride') as { items: V[] }).items.length === 0) ? r.tuple('stride', dims) : k;
        const out = unary((t) => pool(interp, t, dims, k, s, r.tuple('padding', dims, 0), max ? r.tuple('dilation', dims, 1) : Array<number>(dims).fill(1), r.bool('ceil_mode', false), at));
        return max && r.bool('return_indices', false) && out.kind === 'tensor' ? { kind: 'tuple', items: [out, tensor(out.shape)] } : out;
      } catch (e) {
        if (e instanceof ArgError) return interp.fail(at, e.message);
        throw e;
      }
    }
    case 'adaptive_avg_pool1d':
    case 'adaptive_avg_pool2d':
    case 'adaptive_avg_pool3d':
    case 'adaptive_max_pool1d':
    case 'adaptive_max_pool2d':
    case 'adaptive_max_pool3d': {
      const dims = Number(fname.slice(-2, -1));
      const o = args[1] ?? a.kwargs.get('output_size');
      if (!o) return interp.fail(at, 'output_size is missing');
      const size = intOf(o) !== undefined ? Array<number | null>(dims).fill(intOf(o)!) : o.kind === 'tuple' || o.kind === 'list' ? o.items.map((v) => (v.kind === 'none' ? null : (intOf(v) ?? NaN))) : undefined;
      if (!size || size.length !== dims || size.some((v) => v !== null && Number.isNaN(v))) return o.kind === 'unknown' ? o : interp.fail(at, 'output_size is not known');
      return unary((t) => adaptivePool(interp, t, dims, size, at));
    }
    case 'interpolate':
    case 'upsample':
    case 'upsample_nearest':
    case 'upsample_bilinear': {
      const [, size, scale] = pick(a, ['input', 'size', 'scale_factor']);
      return unary((t) => interpolate(interp, t, size ?? NONE, scale ?? NONE, at));
    }
    case 'pad': {
      const padV = args[1] ?? a.kwargs.get('pad');
      const pads = padV ? sizesOf([padV]) : undefined;
      if (!pads || pads.some((v) => v === undefined)) return padV?.kind === 'unknown' ? padV : (padV && padV.kind === 'list' && padV.items.find((v) => v.kind === 'unknown')) || interp.fail(at, 'pad sizes are not known');
      return unary((t) => padTensor(interp, t, pads as number[], at));
    }
    case 'pixel_shuffle':
    case 'pixel_unshuffle':
      return unary((t) => pixelShuffle(interp, t, intOf(args[1] ?? NONE) ?? 1, fname === 'pixel_shuffle', at));
    case 'glu':
      return unary((t) => glu(interp, t, intOf(args[1] ?? a.kwargs.get('dim') ?? intV(-1)) ?? -1, at));
    case 'linear': {
      const w = args[1] ?? a.kwargs.get('weight');
      return unary((t) => {
        if (w?.kind !== 'tensor' || w.shape.length !== 2) return interp.fail(at, 'linear(): the weight shape is not known');
        const err = bindDim(t.shape[t.shape.length - 1], dimValue(w.shape[1]) ?? -1, 'in_features');
        return err ? interp.fail(at, err) : tensor([...t.shape.slice(0, -1), w.shape[0]]);
      });
    }
    case 'conv1d':
    case 'conv2d':
    case 'conv3d': {
      const dims = Number(fname.slice(-2, -1));
      return unary((t) => functionalConv(interp, t, dims, a, at));
    }
    case 'mean':
    case 'sum':
    case 'amax':
    case 'amin':
    case 'max':
    case 'min':
    case 'argmax':
    case 'argmin':
    case 'std':
    case 'var':
    case 'logsumexp':
    case 'squeeze':
    case 'unsqueeze':
    case 'transpose':
    case 'swapaxes':
    case 'permute':
    case 'reshape':
    case 'chunk':
    case 'split':
    case 'unbind':
    case 'narrow':
    case 't':
      return unary((t) => callTensorMethod(interp, t, fname, { args: args.slice(1), kwargs: new Map([...a.kwargs].filter(([k]) => k !== 'input')) }, at));
  }
  return interp.opaque(at, a, `${p}() is not modelled`);
}

function functionalConv(interp: Interp, t: TensorValue, dims: number, a: CallArgs, at: Node): V {
  try {
    const r = new Args(`conv${dims}d`, ['input', 'weight', 'bias', 'stride', 'padding', 'dilation', 'groups'], a, interp, at);
    const w = r.opt('weight');
    if (w?.kind !== 'tensor' || w.shape.length !== dims + 2) return interp.fail(at, 'the weight shape is not known');
    const ws = concrete(w.shape);
    if (!ws) return interp.fail(at, 'the weight shape is not known');
    const padV = r.opt('padding');
    const padding = padV?.kind === 'str' ? (padV.value as 'same' | 'valid') : r.tuple('padding', dims, 0);
    const spatial = concrete(t.shape.slice(t.shape.length - dims));
    if (!spatial) return interp.fail(at, 'spatial size unknown');
    const out = convOutputSize(spatial, ws.slice(2), r.tuple('stride', dims, 1), padding, r.tuple('dilation', dims, 1));
    if (!out || out.some((v) => v < 1)) return interp.fail(at, 'the input is too small');
    return tensor([...t.shape.slice(0, t.shape.length - dims - 1), ws[0], ...out]);
  } catch (e) {
    if (e instanceof ArgError) return interp.fail(at, e.message);
    throw e;
  }
}

// -----------------------------------------------------------------------------------------------
// module attributes and methods

const MODULE_METHODS = new Set([
  'add_module', 'register_module', 'register_buffer', 'register_parameter', 'modules', 'named_modules', 'children',
  'named_children', 'parameters', 'named_parameters', 'buffers', 'apply', 'eval', 'train', 'to', 'cuda', 'cpu', 'float',
  'half', 'double', 'requires_grad_', 'zero_grad', 'forward', 'append', 'extend', 'insert', 'keys', 'items', 'values',
  'update', 'pop', 'state_dict', 'load_state_dict', 'type', 'get_submodule', 'extra_repr', 'reset_parameters',
]);

export function nativeModuleAttribute(interp: Interp, v: V & { kind: 'module' }, name: string, at: Node, fromSuper = false): V {
  const n = v.m.native;
  const attr = n?.attrs.get(name);
  if (attr) return attr;
  if ((name === 'weight' || name === 'bias') && n?.data.conv) {
    const c = n.data.conv as ConvData;
    if (name === 'bias') return c.args.bias ? { kind: 'tensor', shape: [c.args.outChannels!.constant!], param: true } : NONE;
    const shape = weightShape(n);
    return shape ? { kind: 'tensor', shape, param: true } : interp.fail(at, 'the weight of a lazy conv');
  }
  if ((name === 'weight' || name === 'bias') && n && (n.type === 'Linear' || n.type === 'LazyLinear')) {
    if (name === 'bias') return n.data.bias ? { kind: 'tensor', shape: [n.data.outF as number], param: true } : NONE;
    const shape = weightShape(n);
    return shape ? { kind: 'tensor', shape, param: true } : interp.fail(at, 'a lazy weight');
  }
  if ((name === 'weight' || name === 'bias') && n && typeof n.data.channels === 'number') {
    return { kind: 'tensor', shape: [n.data.channels], param: true };
  }
  if (MODULE_METHODS.has(name)) return { kind: 'native', name: `module.${name}`, self: v };
  void fromSuper;
  return interp.fail(at, `${describe(v)} has no attribute \`${name}\``);
}

/** named_modules(): each module once, depth first, in registration order. */
export function namedModules(root: ModuleObj, prefix = ''): [string, ModuleObj][] {
  const out: [string, ModuleObj][] = [];
  const seen = new Set<ModuleObj>();
  const walk = (m: ModuleObj, name: string) => {
    if (seen.has(m)) return;
    seen.add(m);
    out.push([name, m]);
    for (const [k, sub] of m.modules) if (sub) walk(sub, name ? `${name}.${k}` : k);
  };
  walk(root, prefix);
  return out;
}

export function callModuleMethod(interp: Interp, self: V & { kind: 'module' }, name: string, a: CallArgs, at: Node): V {
  const m = self.m;
  const args = a.args;
  const str = (v: V | undefined) => (v?.kind === 'str' ? v.value : undefined);
  switch (name) {
    case 'forward':
      return m.native ? forwardNative(interp, m, a, at) : interp.fail(at, 'nn.Module.forward is not implemented');
    case 'add_module':
    case 'register_module': {
      const key = str(args[0] ?? a.kwargs.get('name'));
      const sub = args[1] ?? a.kwargs.get('module');
      if (key === undefined || !sub) return interp.fail(at, `${name}() arguments`);
      if (sub.kind === 'module') m.modules.set(key, sub.m);
      else if (sub.kind === 'none') m.modules.set(key, null);
      else m.params.set(`<${key}>`, sub.kind === 'unknown' ? sub.why : 'not a module');
      return NONE;
    }
    case 'register_buffer': {
      const key = str(args[0]);
      if (key !== undefined) m.attrs.set(key, args[1] ?? NONE);
      return NONE;
    }
    case 'register_parameter': {
      const key = str(args[0]);
      const p = args[1];
      if (key !== undefined && p) {
        if (p.kind === 'tensor') m.params.set(key, tensorNumel(p));
        else if (p.kind !== 'none') m.params.set(key, p.kind === 'unknown' ? p.why : 'not a parameter');
        m.attrs.set(key, p);
      }
      return NONE;
    }
    case 'modules':
    case 'named_modules':
    case 'children':
    case 'named_children': {
      const list = name.endsWith('children')
        ? [...m.modules.entries()].filter(([, x]) => x !== null).filter(([, x], i, all) => all.findIndex(([, y]) => y === x) === i) as [string, ModuleObj][]
        : namedModules(m);
      const named = name.startsWith('named');
      return { kind: 'list', items: list.map(([k, x]) => (named ? { kind: 'tuple', items: [{ kind: 'str', value: k }, { kind: 'module', m: x }] } : { kind: 'module', m: x })) };
    }
    case 'parameters':
    case 'named_parameters':
    case 'buffers':
      return { kind: 'list', items: [] };
    case 'apply':
    case 'eval':
    case 'train':
    case 'to':
    case 'cuda':
    case 'cpu':
    case 'float':
    case 'half':
    case 'double':
    case 'requires_grad_':
    case 'type':
      return self;
    case 'zero_grad':
    case 'load_state_dict':
    case 'reset_parameters':
      return NONE;
    case 'append':
    case 'extend':
    case 'insert': {
      const items = name === 'extend' ? interp.iterate(args[0] ?? NONE, at) : [name === 'insert' ? (args[1] ?? NONE) : (args[0] ?? NONE)];
      if (!Array.isArray(items)) {
        m.params.set(`<${m.modules.size}>`, items.why);
        return self;
      }
      if (name === 'insert') {
        const i = intOf(args[0] ?? NONE);
        const all = [...m.modules.values()];
        if (i === undefined) return interp.fail(at, 'insert() index');
        const item = items[0];
        if (item.kind !== 'module') return interp.fail(at, 'insert() of a non-module');
        all.splice(i < 0 ? all.length + i : i, 0, item.m);
        m.modules.clear();
        all.forEach((x, k) => m.modules.set(String(k), x));
        return NONE;
      }
      for (const it of items) register(interp, m, String(m.modules.size), it);
      return name === 'extend' ? self : m.native?.type === 'Sequential' ? self : NONE;
    }
    case 'keys':
      return { kind: 'list', items: [...m.modules.keys()].map((k) => ({ kind: 'str', value: k })) };
    case 'values':
      return { kind: 'list', items: [...m.modules.values()].filter((x) => x !== null).map((x) => ({ kind: 'module', m: x })) };
    case 'items':
      return { kind: 'list', items: [...m.modules.entries()].filter(([, x]) => x !== null).map(([k, x]) => ({ kind: 'tuple', items: [{ kind: 'str', value: k }, { kind: 'module', m: x! }] })) };
    case 'update': {
      const src = args[0];
      if (src?.kind === 'dict') for (const [k, v] of src.entries) if (k.kind === 'str') register(interp, m, k.value, v);
      return NONE;
    }
    case 'pop': {
      const key = str(args[0]);
      const sub = key !== undefined ? m.modules.get(key) : undefined;
      if (key !== undefined) m.modules.delete(key);
      return sub ? { kind: 'module', m: sub } : interp.fail(at, 'pop()');
    }
    default:
      return unknown(`shape unknown after line ${at.startPosition.row + 1}: nn.Module.${name}() is not modelled`);
  }
}

/**
 * `weight_norm(module, name='weight', dim=0)` splits the weight into `weight_v` (same shape) and
 * `weight_g` (the weight's size along `dim`, 1 elsewhere; `dim=None`: one number), so the module gains
 * that many parameters; `spectral_norm` keeps the count (its `u`, `v` are buffers). The module is
 * returned, as PyTorch does.
 */
function reparametrize(m: ModuleObj, weightNorm: boolean, a: CallArgs, at: Node): V {
  if (!weightNorm) return { kind: 'module', m };
  const name = a.args[1] ?? a.kwargs.get('name');
  const dimArg = a.args[2] ?? a.kwargs.get('dim') ?? intV(0);
  const shape = weightShape(m.native);
  const why = (detail: string) => `weight_norm() at line ${at.startPosition.row + 1}: ${detail}`;
  if (name && !(name.kind === 'str' && name.value === 'weight')) m.params.set('weight_g', why('a weight other than `weight`'));
  else if (!shape) m.params.set('weight_g', why(`the weight shape of ${describe({ kind: 'module', m })} is not known`));
  else if (dimArg.kind === 'none') m.params.set('weight_g', 1);
  else {
    const d = intOf(dimArg);
    const size = d === undefined ? undefined : shape[d < 0 ? shape.length + d : d];
    m.params.set('weight_g', size ?? why('`dim` is not known'));
  }
  return { kind: 'module', m };
}

/** The `weight` shape of a conv or linear module, from its configuration; undefined while lazy. */
function weightShape(n: NativeModule | undefined): number[] | undefined {
  const c = n?.data.conv as ConvData | undefined;
  if (c) {
    const cin = c.args.inChannels?.constant;
    const cout = c.args.outChannels!.constant!;
    const g = c.args.groups!.constant!;
    if (cin === undefined) return undefined;
    return c.transposed ? [cin, cout / g, ...c.args.kernelSize!] : [cout, cin / g, ...c.args.kernelSize!];
  }
  if (n && (n.type === 'Linear' || n.type === 'LazyLinear') && n.data.inF !== undefined) return [n.data.outF as number, n.data.inF as number];
  return undefined;
}
