/** torch.nn modules as built: constructor signatures, parameter counts, the attributes a model reads (PyTorch 1.13's formulas). */
import type { Node } from 'web-tree-sitter';
import { convCost } from '../../../cost';
import type { ConvArgs, LayerKind } from '../../../model';
import { Poly } from '../../../poly';
import { convSignature } from '../../convSignature';
import { canonical } from '../../imports';
import type { Host } from '../host';
import { describe, intOf, intV, NONE, type CallArgs, type ModuleObj, type NativeModule, type V } from '../values';

import { ArgError, ELEMENTWISE_MODULES, Args, tupleV } from './args';

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

/** Configures `m` as the torch.nn class `base` (a direct construction or a user subclass's `super().__init__`). */
export function initNative(interp: Host, m: ModuleObj, base: string, a: CallArgs, at: Node): void {
  const path = canonical(base);
  const type = path.startsWith('torch.nn.') ? path.slice('torch.nn.'.length) : path;
  if (type === 'Module') return;
  // a subclass's super().__init__ is where PyTorch records the construction (the oracle's position too)
  const { row, column } = at.startPosition;
  m.site = { file: interp.fileOf(at), start: at.startIndex, end: at.endIndex, line: row, column };
  try {
    m.native = construct(interp, m, type, a, at);
  } catch (e) {
    if (!(e instanceof ArgError)) throw e;
    m.native = { type, params: e.message, attrs: new Map(), error: e.message, data: {} };
  }
}

/** A module's configuration copied as `copy.deepcopy` copies it (its conv settings change when a lazy conv first runs). */
export function copyNative(n: NativeModule): NativeModule {
  return {
    ...n,
    attrs: new Map(n.attrs),
    data: { ...n.data, ...(n.data.conv ? { conv: { ...(n.data.conv as ConvData) } } : {}) },
  };
}

/** What a constructor rule gets: the call, and helpers to read its arguments and describe the module. */
interface Construction {
  interp: Host;
  m: ModuleObj;
  type: string;
  a: CallArgs;
  at: Node;
  /** the arguments bound to a signature (`nn.<type>(...)` in messages) */
  args: (sig: string[]) => Args;
  /** the module: parameter count (or why it is unknown), attributes a model reads, data for its forward rule */
  native: (params: number | string, attrs: Record<string, V>, data?: Record<string, unknown>) => NativeModule;
  /** 1, 2 or 3 from a name ending in 1d/2d/3d (2 otherwise) */
  dimsOf: (t: string) => number;
}

/** A constructor rule: a pure builder from the construction to the module's description. */
type Constructor = (c: Construction) => NativeModule;
/** The same for a family of classes matched by a pattern (`hit`: the match of the class name). */
type PatternConstructor = (c: Construction, hit: RegExpExecArray) => NativeModule;

const moduleList: Constructor = ({ interp, m, type, a, at, native }) => {
  const given = a.args[0] ?? a.kwargs.get('modules');
  if (given && given.kind !== 'none') {
    if (type === 'ModuleDict') {
      const entries = given.kind === 'dict' ? given.entries : undefined;
      const items =
        entries ??
        (Array.isArray(interp.iterate(given, at))
          ? (interp.iterate(given, at) as V[]).map((p) =>
              p.kind === 'tuple' || p.kind === 'list' ? ([p.items[0], p.items[1]] as [V, V]) : ([NONE, p] as [V, V]),
            )
          : undefined);
      if (!items) throw new ArgError('the modules of nn.ModuleDict() are unknown');
      for (const [k, v] of items) register(interp, m, k.kind === 'str' ? k.value : '?', v);
    } else {
      const items = interp.iterate(given, at);
      if (!Array.isArray(items)) throw new ArgError(items.why);
      items.forEach((v, i) => register(interp, m, String(i), v));
    }
  }
  return native(0, {});
};

const parameterList: Constructor = ({ type, native }) => native(`nn.${type} is not modelled`, {});

const linear: Constructor = ({ type, args, native }) => {
  const lazy = type === 'LazyLinear';
  const r = args(lazy ? ['out_features', 'bias', 'device', 'dtype'] : ['in_features', 'out_features', 'bias', 'device', 'dtype']);
  const inF = lazy ? undefined : r.int('in_features');
  const outF = r.int('out_features');
  const bias = r.bool('bias', true);
  return native(
    inF === undefined ? 'a lazy linear layer' : inF * outF + (bias ? outF : 0),
    { ...(inF === undefined ? {} : { in_features: intV(inF) }), out_features: intV(outF) },
    { inF, outF, bias },
  );
};

const recurrent: Constructor = ({ type, args, native }) => {
  const gates = type === 'LSTM' ? 4 : type === 'GRU' ? 3 : 1;
  const names = [
    'input_size',
    'hidden_size',
    'num_layers',
    'bias',
    'batch_first',
    'dropout',
    'bidirectional',
    ...(type === 'LSTM' ? ['proj_size'] : []),
    ...(type === 'RNN' ? ['nonlinearity'] : []),
    'device',
    'dtype',
  ];
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
  return native(
    params,
    { input_size: intV(input), hidden_size: intV(hidden), num_layers: intV(layers) },
    { input, hidden, out, layers, dirs, batchFirst: r.bool('batch_first', false), lstm: type === 'LSTM' },
  );
};

const elementwise: Constructor = ({ native }) => native(0, {});

const upsample: Constructor = ({ type, args, native }) => {
  const r = args(
    type === 'Upsample' ? ['size', 'scale_factor', 'mode', 'align_corners', 'recompute_scale_factor'] : ['size', 'scale_factor'],
  );
  return native(0, {}, { size: r.opt('size'), scale: r.opt('scale_factor'), dims: type === 'Upsample' ? undefined : 2 });
};

const pixelShuffle: Constructor = ({ type, args, native }) => {
  const r = args([type === 'PixelShuffle' ? 'upscale_factor' : 'downscale_factor']);
  return native(0, {}, { r: r.int(type === 'PixelShuffle' ? 'upscale_factor' : 'downscale_factor') });
};

/** torch.nn classes by name. */
const MODULES: Record<string, Constructor> = {
  Sequential: ({ interp, m, a, native }) => {
    if (a.kwargs.size) throw new ArgError('nn.Sequential() takes no keyword arguments');
    const only = a.args[0];
    if (a.args.length === 1 && only?.kind === 'dict') {
      for (const [k, v] of only.entries) register(interp, m, k.kind === 'str' ? k.value : String(intOf(k)), v);
    } else a.args.forEach((v, i) => register(interp, m, String(i), v));
    return native(0, {});
  },
  ModuleList: moduleList,
  ModuleDict: moduleList,
  ParameterList: parameterList,
  ParameterDict: parameterList,
  GroupNorm: ({ args, native }) => {
    const r = args(['num_groups', 'num_channels', 'eps', 'affine', 'device', 'dtype']);
    const g = r.int('num_groups');
    const c = r.int('num_channels');
    if (g <= 0 || c % g !== 0) return r.fail('num_channels must be divisible by num_groups');
    const affine = r.bool('affine', true);
    return native(
      affine ? 2 * c : 0,
      { num_groups: intV(g), num_channels: intV(c), affine: { kind: 'bool', value: affine } },
      { channels: c },
    );
  },
  LayerNorm: ({ args, native }) => {
    const r = args(['normalized_shape', 'eps', 'elementwise_affine', 'device', 'dtype']);
    const ns = r.opt('normalized_shape');
    const shape =
      ns && intOf(ns) !== undefined ? [intOf(ns)!] : ns && (ns.kind === 'tuple' || ns.kind === 'list') ? ns.items.map(intOf) : undefined;
    if (!shape || shape.some((x) => x === undefined)) return r.fail('normalized_shape of nn.LayerNorm() is not known');
    const prod = (shape as number[]).reduce((x, y) => x * y, 1);
    const affine = r.bool('elementwise_affine', true);
    return native(
      affine ? 2 * prod : 0,
      { normalized_shape: tupleV(shape as number[]), elementwise_affine: { kind: 'bool', value: affine } },
      { normalized: shape },
    );
  },
  Linear: linear,
  LazyLinear: linear,
  Bilinear: ({ args, native }) => {
    const r = args(['in1_features', 'in2_features', 'out_features', 'bias', 'device', 'dtype']);
    const [i1, i2, o] = [r.int('in1_features'), r.int('in2_features'), r.int('out_features')];
    return native(
      i1 * i2 * o + (r.bool('bias', true) ? o : 0),
      { in1_features: intV(i1), in2_features: intV(i2), out_features: intV(o) },
      { i1, i2, o },
    );
  },
  Embedding: ({ args, native }) => {
    const r = args([
      'num_embeddings',
      'embedding_dim',
      'padding_idx',
      'max_norm',
      'norm_type',
      'scale_grad_by_freq',
      'sparse',
      '_weight',
      'device',
      'dtype',
    ]);
    const n = r.int('num_embeddings');
    const d = r.int('embedding_dim');
    return native(n * d, { num_embeddings: intV(n), embedding_dim: intV(d) }, { dim: d });
  },
  PReLU: ({ args, native }) => {
    const r = args(['num_parameters', 'init', 'device', 'dtype']);
    return native(r.int('num_parameters', 1), {});
  },
  MultiheadAttention: ({ args, native }) => {
    const r = args([
      'embed_dim',
      'num_heads',
      'dropout',
      'bias',
      'add_bias_kv',
      'add_zero_attn',
      'kdim',
      'vdim',
      'batch_first',
      'device',
      'dtype',
    ]);
    const e = r.int('embed_dim');
    const h = r.int('num_heads');
    if (h <= 0 || e % h !== 0) return r.fail('embed_dim must be divisible by num_heads');
    const kdim = r.int('kdim', e);
    const vdim = r.int('vdim', e);
    const bias = r.bool('bias', true);
    // in-projection (one matrix, or three when kdim/vdim differ), its bias, out_proj, bias_k/bias_v
    const params = e * (e + kdim + vdim) + (bias ? 3 * e : 0) + e * e + (bias ? e : 0) + (r.bool('add_bias_kv', false) ? 2 * e : 0);
    return native(
      params,
      { embed_dim: intV(e), num_heads: intV(h), batch_first: { kind: 'bool', value: r.bool('batch_first', false) } },
      { e, h, batchFirst: r.bool('batch_first', false) },
    );
  },
  RNN: recurrent,
  LSTM: recurrent,
  GRU: recurrent,
  Identity: ({ native }) => native(0, {}),
  GLU: ({ interp, a, at, native }) => native(0, {}, { dim: new Args('nn.GLU', ['dim'], a, interp, at).int('dim', -1) }),
  ...Object.fromEntries([...ELEMENTWISE_MODULES].map((t) => [t, elementwise])),
  Flatten: ({ args, native }) => {
    const r = args(['start_dim', 'end_dim']);
    return native(0, {}, { start: r.int('start_dim', 1), end: r.int('end_dim', -1) });
  },
  Unflatten: ({ args, native }) => {
    const r = args(['dim', 'unflattened_size']);
    const sizes = r.opt('unflattened_size');
    const list = sizes && (sizes.kind === 'tuple' || sizes.kind === 'list') ? sizes.items.map(intOf) : undefined;
    if (!list || list.some((x) => x === undefined)) return r.fail('unflattened_size is not known');
    return native(0, {}, { dim: r.int('dim'), sizes: list });
  },
  Upsample: upsample,
  UpsamplingNearest2d: upsample,
  UpsamplingBilinear2d: upsample,
  PixelShuffle: pixelShuffle,
  PixelUnshuffle: pixelShuffle,
};

/** torch.nn classes by pattern (norms, pools, pads). */
const MODULE_PATTERNS: [RegExp, PatternConstructor][] = [
  [
    /^(Lazy)?BatchNorm[123]d$|^SyncBatchNorm$|^(Lazy)?InstanceNorm[123]d$/,
    ({ type, args, native, dimsOf }) => {
      const lazy = type.startsWith('Lazy');
      const instance = type.includes('Instance');
      const r = args(
        lazy
          ? ['eps', 'momentum', 'affine', 'track_running_stats', 'device', 'dtype']
          : [
              'num_features',
              'eps',
              'momentum',
              'affine',
              'track_running_stats',
              ...(type === 'SyncBatchNorm' ? ['process_group'] : []),
              'device',
              'dtype',
            ],
      );
      const affine = r.bool('affine', !instance);
      const c = lazy ? undefined : r.int('num_features');
      return native(
        c === undefined ? 'a lazy norm layer' : affine ? 2 * c : 0,
        c === undefined ? {} : { num_features: intV(c), affine: { kind: 'bool', value: affine } },
        {
          channels: c,
          dims: type === 'SyncBatchNorm' ? undefined : dimsOf(type),
          instance,
        },
      );
    },
  ],
  [
    /^(Max|Avg)Pool([123])d$/,
    ({ args, native }, hit) => {
      const dims = Number(hit[2]);
      const max = hit[1] === 'Max';
      const r = args(
        max
          ? ['kernel_size', 'stride', 'padding', 'dilation', 'return_indices', 'ceil_mode']
          : ['kernel_size', 'stride', 'padding', 'ceil_mode', 'count_include_pad', ...(dims > 1 ? ['divisor_override'] : [])],
      );
      const k = r.tuple('kernel_size', dims);
      const s = r.has('stride') ? r.tuple('stride', dims) : k;
      const p = r.tuple('padding', dims, 0);
      const d = max ? r.tuple('dilation', dims, 1) : Array<number>(dims).fill(1);
      if (p.some((x, i) => x > k[i] / 2)) return r.fail('pad should be at most half of the kernel size');
      const attrs = {
        kernel_size: dims === 1 || r.opt('kernel_size')?.kind !== 'int' ? tupleV(k) : intV(k[0]),
        stride: tupleV(s),
        padding: tupleV(p),
      };
      return native(0, attrs, { dims, k, s, p, d, ceil: r.bool('ceil_mode', false), indices: max && r.bool('return_indices', false) });
    },
  ],
  [
    /^Adaptive(Max|Avg)Pool([123])d$/,
    ({ args, native }, hit) => {
      const dims = Number(hit[2]);
      const r = args(hit[1] === 'Max' ? ['output_size', 'return_indices'] : ['output_size']);
      const o = r.opt('output_size');
      if (!o) return r.fail('output_size is missing');
      const size =
        intOf(o) !== undefined
          ? Array<number | null>(dims).fill(intOf(o)!)
          : o.kind === 'tuple' || o.kind === 'list'
            ? o.items.map((x) => (x.kind === 'none' ? null : (intOf(x) ?? NaN)))
            : undefined;
      if (!size || size.length !== dims || size.some((x) => x !== null && Number.isNaN(x))) return r.fail('output_size is not known');
      return native(0, { output_size: o }, { dims, size, indices: hit[1] === 'Max' && r.bool('return_indices', false) });
    },
  ],
  [
    /^(Zero|Constant|Reflection|Replication|Circular)Pad([123])d$/,
    ({ args, native }, hit) => {
      const dims = Number(hit[2]);
      const r = args(hit[1] === 'Constant' ? ['padding', 'value'] : ['padding']);
      return native(0, {}, { pad: r.tuple('padding', 2 * dims) });
    },
  ],
];

function construct(interp: Host, m: ModuleObj, type: string, a: CallArgs, at: Node): NativeModule {
  const conv = CONV.exec(type);
  if (conv) return constructConv(interp, type, conv, a, at);
  const c: Construction = {
    interp,
    m,
    type,
    a,
    at,
    args: (sig) => new Args(`nn.${type}`, sig, a, interp, at),
    native: (params, attrs, data = {}) => ({ type, params, attrs: new Map(Object.entries(attrs)), data }),
    dimsOf: (t) => Number(/([123])d$/.exec(t)?.[1] ?? 2),
  };
  const rule = Object.hasOwn(MODULES, type) ? MODULES[type] : undefined;
  if (rule) return rule(c);
  for (const [re, build] of MODULE_PATTERNS) {
    const hit = re.exec(type);
    if (hit) return build(c, hit);
  }
  return c.native(`nn.${type} is not modelled`, {}, { unmodelled: true });
}

export function register(interp: Host, m: ModuleObj, name: string, v: V): void {
  if (v.kind === 'module') m.modules.set(name, v.m);
  else m.params.set(`<${name}>`, v.kind === 'unknown' ? v.why : `${describe(v)} is not a module`);
  void interp;
}

function constructConv(interp: Host, type: string, hit: RegExpExecArray, a: CallArgs, at: Node): NativeModule {
  const lazy = !!hit[1];
  const transposed = !!hit[2];
  const dims = Number(hit[3]) as 1 | 2 | 3;
  const sig = convSignature(lazy, transposed);
  const r = new Args(`nn.${type}`, sig, a, interp, at);
  const cin = lazy ? undefined : r.int('in_channels');
  const cout = r.int('out_channels');
  const k = r.tuple('kernel_size', dims);
  const s = r.tuple('stride', dims, 1);
  const padV = r.opt('padding');
  const padding = padV?.kind === 'str' ? padV.value : r.tuple('padding', dims, 0);
  if (typeof padding === 'string' && padding !== 'same' && padding !== 'valid')
    return r.fail(`padding='${padding}' is not 'same' or 'valid'`);
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
  const kind: LayerKind = lazy
    ? 'lazy'
    : transposed
      ? 'transposed'
      : g === cin && g !== 1
        ? 'depthwise'
        : kvol === 1
          ? 'pointwise'
          : 'conv';
  const params =
    cin === undefined
      ? 'a lazy conv: counted after its first call'
      : (convCost(args, kind, undefined, interp.costOptions).params.before?.constant ?? 'unknown');
  const data: ConvData = {
    dims,
    transposed,
    lazy,
    args,
    kind,
    outputPadding: op,
    kernelIsInt: r.opt('kernel_size')?.kind === 'int',
    keywords: [...a.kwargs.keys()],
  };
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
