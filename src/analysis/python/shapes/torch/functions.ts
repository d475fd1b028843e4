/** `torch.*` and `torch.nn.functional.*` functions models call. */
import type { Node } from 'web-tree-sitter';
import { convOutputSize } from '../../../kernel/conv';
import { canonical } from '../../imports';
import type { Host } from '../host';
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
  type CallArgs,
  type ClassObj,
  type ModuleObj,
  type TensorValue,
  type V,
} from '../values';

import { isNnClass, ArgError, ELEMENTWISE_FUNCTIONS, BROADCAST_FUNCTIONS, Args, dimsOfName, family, ruleFor } from './args';
import { copyNative, initNative } from './modules';
import {
  CHANNELS_UNKNOWN,
  bindDim,
  forwardNative,
  normDim,
  pool,
  adaptivePool,
  interpolate,
  pixelShuffle,
  padTensor,
  flatten,
  glu,
} from './forward';
import { same, matmul, tensorBinary, sizesOf, pick, callTensorMethod, creation } from './tensors';
import { reparametrize } from './moduleMethods';
import { einsumShape } from '../einsum';
import { isFloatFunctional } from '../quantized';
import { dropData, numpyLinspace, torchDataCall } from '../tensorData';

function tensorList(interp: Host, v: V | undefined, at: Node): TensorValue[] | V {
  if (!v) return interp.fail(at, 'missing tensors');
  const items = interp.iterate(v, at);
  if (!Array.isArray(items)) return items;
  const bad = items.find((x) => x.kind !== 'tensor');
  if (bad) return bad.kind === 'unknown' ? bad : interp.fail(at, `${describe(bad)} among the tensors`);
  return items as TensorValue[];
}

function cat(interp: Host, a: CallArgs, at: Node, stack: boolean): V {
  const [list, dimV] = pick(a, ['tensors', 'dim']);
  const ts = tensorList(interp, list, at);
  if (!Array.isArray(ts)) return ts;
  if (ts.length === 0) return interp.fail(at, 'no tensors');
  const rank = ts[0].shape.length;
  const d = normDim(intOf(dimV ?? intV(0)) ?? 0, stack ? rank + 1 : rank);
  if (d === undefined) return interp.fail(at, 'dim out of range');
  if (ts.some((t) => t.shape.length !== rank))
    return interp.fail(at, `tensors of different ranks: ${ts.map((t) => shapeText(t.shape)).join(', ')}`);
  for (let i = 0; i < rank; i++) {
    if (!stack && i === d) continue;
    const other = ts.find((t) => !same(t.shape[i], ts[0].shape[i]));
    if (!other) continue;
    const detail = `sizes differ in dim ${i}: ${ts.map((t) => shapeText(t.shape)).join(', ')}`;
    const [x, y] = [concrete(ts[0].shape), concrete(other.shape)];
    return x && y
      ? interp.mismatch(at, { check: 'cat', op: stack ? 'torch.stack' : 'torch.cat', expected: x, got: y, dim: i }, detail)
      : interp.fail(at, detail);
  }
  if (stack) return tensor([...ts[0].shape.slice(0, d), ts.length, ...ts[0].shape.slice(d)]);
  const total = ts.map((t) => dimValue(t.shape[d]));
  if (total.some((v) => v === undefined)) return interp.fail(at, CHANNELS_UNKNOWN);
  const shape = [...ts[0].shape];
  shape[d] = (total as number[]).reduce((p, v) => p + v, 0);
  return tensor(shape);
}

function clone(interp: Host, v: V, seen = new Map<ModuleObj, ModuleObj>()): V {
  if (v.kind !== 'module') return v.kind === 'list' ? { kind: 'list', items: v.items.map((x) => clone(interp, x, seen)) } : v;
  const copy = (m: ModuleObj): ModuleObj => {
    const known = seen.get(m);
    if (known) return known;
    const c: ModuleObj = {
      ...m,
      id: interp.newId(),
      native: m.native ? copyNative(m.native) : undefined,
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

/** What a function rule gets: the canonical path, the name without `torch.` / `torch.nn.functional.`, the call. */
interface FunctionCall {
  interp: Host;
  /** the canonical dotted path (`torch.nn.functional.conv2d`, `math.ceil`) */
  p: string;
  /** the path without `torch.nn.functional.` or `torch.` */
  fname: string;
  /** a `torch.nn.functional` function */
  functional: boolean;
  a: CallArgs;
  at: Node;
  args: V[];
  /** the first positional argument */
  x: V | undefined;
  /** `fn` of the first argument when it is a tensor (an unknown passes through, anything else fails) */
  unary: (fn: (t: TensorValue) => V) => V;
}

/** A function rule: a pure builder from the call to its value, through the Host only. */
type FunctionRule = (c: FunctionCall) => V;

/** Python's library functions models call, by canonical path (checked before the torch functions). */
const LIBRARY: Record<string, FunctionRule> = {
  ...family(['torch.nn.Parameter', 'torch.nn.parameter.Parameter'], ({ interp, x, at }) => {
    if (x?.kind === 'tensor') return { ...x, param: true, example: undefined };
    // a parameter of unknown size still is a parameter: the module's count becomes unknown, not smaller
    return { ...(x?.kind === 'unknown' ? x : interp.fail(at, `Parameter() of ${x ? describe(x) : 'nothing'}`)), param: true } as V;
  }),
  ...family(['collections.OrderedDict', 'typing.OrderedDict'], ({ interp, x, a, at }) => {
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
  }),
  'functools.partial': ({ interp, x, args, a, at }) =>
    x
      ? { kind: 'native', name: 'functools.partial', self: x, partial: { args: args.slice(1), kwargs: a.kwargs } }
      : interp.fail(at, 'partial()'),
  ...family(['copy.deepcopy', 'copy.copy'], ({ interp, x, at }) => (x ? clone(interp, x) : interp.fail(at))),
  'typing.cast': ({ interp, args, at }) => args[1] ?? interp.fail(at),
  'dataclasses.fields': ({ interp, x, at }) => {
    // the fields of a dataclass (or of an instance's class), each with its `name`
    const c = x?.kind === 'class' ? x.c : x?.kind === 'object' ? x.o.cls : undefined;
    if (!c?.fields) return interp.fail(at, 'fields() of something that is not a dataclass');
    const field: ClassObj = { id: -1, name: 'Field', node: c.node, env: c.env, bases: [], attrs: new Map() };
    return { kind: 'tuple', items: c.fields.map((f) => ({ kind: 'object', o: { cls: field, attrs: new Map([['name', strV(f)]]) } })) };
  },
  // a marker the generated __init__ reads (`default`, `default_factory`)
  'dataclasses.field': ({ a }) => ({ kind: 'native', name: 'dataclasses.field', partial: { args: [], kwargs: a.kwargs } }),
  'math.ceil': mathOf((v) => intV(Math.ceil(v))),
  'math.floor': mathOf((v) => intV(Math.floor(v))),
  'math.trunc': mathOf((v) => intV(Math.trunc(v))),
  'math.sqrt': mathOf((v) => ({ kind: 'float', value: Math.sqrt(v) })),
  'math.log': mathOf((v, args) => ({ kind: 'float', value: args[1] ? Math.log(v) / Math.log(numOf(args[1]) ?? Math.E) : Math.log(v) })),
  'math.log2': mathOf((v) => ({ kind: 'float', value: Math.log2(v) })),
  'math.exp': mathOf((v) => ({ kind: 'float', value: Math.exp(v) })),
  ...family(['math.prod', 'numpy.prod'], ({ interp, x, at }) => {
    const items = x ? interp.iterate(x, at) : [];
    if (!Array.isArray(items)) return items;
    let acc: V = intV(1);
    for (const v of items) acc = interp.binop('*', acc, v, at);
    return acc;
  }),
  'math.gcd': ({ interp, x, args, at }) => {
    let [u, v] = [intOf(x ?? NONE), intOf(args[1] ?? NONE)];
    if (u === undefined || v === undefined) return interp.fail(at, 'gcd()');
    [u, v] = [Math.abs(u), Math.abs(v)];
    while (v) [u, v] = [v, u % v];
    return intV(u);
  },
  ...family(
    [
      'torch.no_grad',
      'torch.enable_grad',
      'torch.set_grad_enabled',
      'torch.inference_mode',
      'torch._assert',
      'warnings.warn',
      'torch.manual_seed',
      'torch._C._log_api_usage_once',
      // not tracing (torchvision's `_is_tracing()`)
      'torch._C._get_tracing_state',
    ],
    () => NONE,
  ),
  ...family(['torch.jit.is_scripting', 'torch.jit.is_tracing', 'torch.is_grad_enabled', 'torch.cuda.is_available'], () => ({
    kind: 'bool',
    value: false,
  })),
  'torch.jit.annotate': ({ interp, args, at }) => args[1] ?? interp.fail(at),
  'torch.utils.checkpoint.checkpoint': ({ interp, p, x, args, a, at }) => {
    if (!x) return interp.opaque(at, a, `${p} is not modelled`);
    const kw = new Map([...a.kwargs].filter(([k]) => k !== 'use_reentrant' && k !== 'preserve_rng_state'));
    return interp.call(x, { args: args.slice(1), kwargs: kw }, at);
  },
  'torch.utils.checkpoint.checkpoint_sequential': ({ interp, p, a, at }) => interp.opaque(at, a, `${p} is not modelled`),
  ...family(
    [
      'torch.nn.utils.weight_norm',
      'torch.nn.utils.parametrizations.weight_norm',
      'torch.nn.utils.spectral_norm',
      'torch.nn.utils.parametrizations.spectral_norm',
    ],
    ({ interp, p, x, a, at }) =>
      x?.kind === 'module'
        ? reparametrize(x.m, p.endsWith('weight_norm'), a, at)
        : interp.opaque(at, a, `${p}() of ${x ? describe(x) : 'nothing'}`),
  ),
  'torch.Size': ({ interp, x, at }) =>
    x ? { kind: 'tuple', items: Array.isArray(interp.iterate(x, at)) ? (interp.iterate(x, at) as V[]) : [] } : { kind: 'tuple', items: [] },
};

/** `math.*` of one number (an unknown argument passes through). */
function mathOf(f: (v: number, args: V[]) => V): FunctionRule {
  return ({ interp, p, x, args, at }) => {
    const n = x ? numOf(x) : undefined;
    if (n === undefined) return x?.kind === 'unknown' ? x : interp.fail(at, `${p}()`);
    return f(n, args);
  };
}

const POOLS = ['max_pool1d', 'max_pool2d', 'max_pool3d', 'avg_pool1d', 'avg_pool2d', 'avg_pool3d'];
const ADAPTIVE_POOLS = [
  'adaptive_avg_pool1d',
  'adaptive_avg_pool2d',
  'adaptive_avg_pool3d',
  'adaptive_max_pool1d',
  'adaptive_max_pool2d',
  'adaptive_max_pool3d',
];
/** torch functions that are their tensor method on the first argument (reductions, reshapes, splits) */
const AS_METHOD = [
  'mean',
  'sum',
  'amax',
  'amin',
  'max',
  'min',
  'argmax',
  'argmin',
  'std',
  'var',
  'logsumexp',
  'squeeze',
  'unsqueeze',
  'transpose',
  'swapaxes',
  'permute',
  'reshape',
  'chunk',
  'split',
  'unbind',
  'narrow',
  't',
];

/** `torch.*` and `torch.nn.functional.*` by name (after the data rules, the elementwise and the broadcasting ones). */
const TORCH: Record<string, FunctionRule> = {
  ...family(['cat', 'concat', 'concatenate'], ({ interp, a, at }) => cat(interp, a, at, false)),
  stack: ({ interp, a, at }) => cat(interp, a, at, true),
  meshgrid: ({ interp, x, args, a, at }) => {
    // 1-d tensors (or one list of them) of sizes n1..nk: k tensors of shape (n1, ..., nk), as with
    // indexing="ij"; "xy" swaps the first two sizes
    const given = args.length === 1 && (x?.kind === 'list' || x?.kind === 'tuple') ? x.items : args;
    if (given.some((t) => t.kind !== 'tensor' || t.shape.length !== 1))
      return given.find((t) => t.kind === 'unknown') ?? interp.fail(at, 'meshgrid() of tensors that are not 1-d');
    const sizes = given.map((t) => (t as TensorValue).shape[0]);
    const xy = a.kwargs.get('indexing');
    if (xy?.kind === 'str' && xy.value === 'xy' && sizes.length >= 2) [sizes[0], sizes[1]] = [sizes[1], sizes[0]];
    return { kind: 'tuple', items: given.map(() => tensor([...sizes])) };
  },
  ...family(['randn', 'rand', 'zeros', 'ones', 'empty'], ({ interp, args, at }) => creation(interp, args, at, true)),
  full: ({ interp, x, at }) => creation(interp, [x ?? NONE], at, true),
  // the legacy constructors take sizes (`torch.FloatTensor(num_classes, dim)`) or data
  ...family(['Tensor', 'FloatTensor', 'DoubleTensor', 'HalfTensor', 'LongTensor', 'IntTensor'], ({ interp, fname, args, at }) =>
    args.length && args.every((v) => intOf(v) !== undefined)
      ? creation(interp, args, at, true)
      : interp.fail(at, `torch.${fname}() of data`),
  ),
  randint: ({ interp, args, a, at }) => creation(interp, [args[args.length - 1] ?? a.kwargs.get('size') ?? NONE], at, true),
  arange: ({ interp, args, at }) => {
    const nums = args.map(numOf);
    if (nums.length === 0 || nums.some((v) => v === undefined)) return interp.fail(at, 'arange() bounds are not known');
    const [s, e, st] = nums.length === 1 ? [0, nums[0]!, 1] : [nums[0]!, nums[1]!, nums[2] ?? 1];
    return tensor([Math.max(0, Math.ceil((e - s) / st))]);
  },
  linspace: ({ interp, args, a, at }) =>
    intOf(args[2] ?? a.kwargs.get('steps') ?? NONE) !== undefined
      ? tensor([intOf(args[2] ?? a.kwargs.get('steps')!)!])
      : interp.fail(at, 'linspace() steps'),
  flatten: ({ interp, a, at, unary }) => {
    const [, s, e] = pick(a, ['input', 'start_dim', 'end_dim']);
    return unary((t) => flatten(interp, t, s ? (intOf(s) ?? 0) : 0, e ? (intOf(e) ?? -1) : -1, at));
  },
  where: ({ interp, args, at }) => {
    if (args.length !== 3) return interp.fail(at, 'where() with one argument');
    const s1 = tensorBinary(interp, '+', args[0], args[1], at);
    return s1.kind === 'tensor' ? tensorBinary(interp, '+', s1, args[2], at) : s1;
  },
  ...family(['matmul', 'mm', 'bmm'], ({ interp, fname, x, args, at }) =>
    x?.kind === 'tensor' && args[1]?.kind === 'tensor' ? matmul(interp, x.shape, args[1].shape, at) : interp.fail(at, `${fname}()`),
  ),
  einsum: ({ interp, x, args, at }) => {
    const shape = einsumShape(x, args.slice(1));
    return typeof shape === 'string' ? interp.fail(at, shape) : tensor(shape);
  },
  ...family(POOLS, functionalPool),
  ...family(ADAPTIVE_POOLS, ({ interp, fname, args, a, at, unary }) => {
    const dims = dimsOfName(fname);
    const o = args[1] ?? a.kwargs.get('output_size');
    if (!o) return interp.fail(at, 'output_size is missing');
    const size =
      intOf(o) !== undefined
        ? Array<number | null>(dims).fill(intOf(o)!)
        : o.kind === 'tuple' || o.kind === 'list'
          ? o.items.map((v) => (v.kind === 'none' ? null : (intOf(v) ?? NaN)))
          : undefined;
    if (!size || size.length !== dims || size.some((v) => v !== null && Number.isNaN(v)))
      return o.kind === 'unknown' ? o : interp.fail(at, 'output_size is not known');
    return unary((t) => adaptivePool(interp, t, dims, size, at));
  }),
  ...family(['interpolate', 'upsample', 'upsample_nearest', 'upsample_bilinear'], ({ interp, a, at, unary }) => {
    const [, size, scale] = pick(a, ['input', 'size', 'scale_factor']);
    return unary((t) => interpolate(interp, t, size ?? NONE, scale ?? NONE, at));
  }),
  pad: ({ interp, args, a, at, unary }) => {
    const padV = args[1] ?? a.kwargs.get('pad');
    const pads = padV ? sizesOf([padV]) : undefined;
    if (!pads || pads.some((v) => v === undefined))
      return padV?.kind === 'unknown'
        ? padV
        : (padV && padV.kind === 'list' && padV.items.find((v) => v.kind === 'unknown')) || interp.fail(at, 'pad sizes are not known');
    return unary((t) => padTensor(interp, t, pads as number[], at));
  },
  ...family(['pixel_shuffle', 'pixel_unshuffle'], ({ interp, fname, args, at, unary }) =>
    unary((t) => pixelShuffle(interp, t, intOf(args[1] ?? NONE) ?? 1, fname === 'pixel_shuffle', at)),
  ),
  glu: ({ interp, args, a, at, unary }) => unary((t) => glu(interp, t, intOf(args[1] ?? a.kwargs.get('dim') ?? intV(-1)) ?? -1, at)),
  linear: ({ interp, args, a, at, unary }) => {
    const w = args[1] ?? a.kwargs.get('weight');
    return unary((t) => {
      if (w?.kind !== 'tensor' || w.shape.length !== 2) return interp.fail(at, 'linear(): the weight shape is not known');
      const inF = dimValue(w.shape[1]);
      const err = bindDim(t.shape[t.shape.length - 1], inF ?? -1, 'in_features');
      if (!err) return tensor([...t.shape.slice(0, -1), w.shape[0]]);
      const got = dimValue(t.shape[t.shape.length - 1]);
      return inF !== undefined && got !== undefined
        ? interp.mismatch(at, { check: 'in_features', op: 'F.linear', expected: inF, got }, err)
        : interp.fail(at, err);
    });
  },
  ...family(['conv1d', 'conv2d', 'conv3d'], ({ interp, fname, a, at, unary }) =>
    unary((t) => functionalConv(interp, t, dimsOfName(fname), a, at)),
  ),
  ...family(AS_METHOD, ({ interp, fname, args, a, at, unary }) =>
    unary((t) =>
      callTensorMethod(interp, t, fname, { args: args.slice(1), kwargs: new Map([...a.kwargs].filter(([k]) => k !== 'input')) }, at),
    ),
  ),
};

/** F.max_pool*d / F.avg_pool*d */
function functionalPool({ interp, p, fname, a, at, unary }: FunctionCall): V {
  const dims = dimsOfName(fname);
  const max = fname.startsWith('max');
  const names = max
    ? ['input', 'kernel_size', 'stride', 'padding', 'dilation', 'ceil_mode', 'return_indices']
    : ['input', 'kernel_size', 'stride', 'padding', 'ceil_mode', 'count_include_pad', 'divisor_override'];
  try {
    const r = new Args(p, names, a, interp, at);
    const k = r.tuple('kernel_size', dims);
    const s =
      r.has('stride') && !(r.opt('stride')?.kind === 'list' && (r.opt('stride') as { items: V[] }).items.length === 0)
        ? r.tuple('stride', dims)
        : k;
    const out = unary((t) =>
      pool(
        interp,
        t,
        dims,
        k,
        s,
        r.tuple('padding', dims, 0),
        max ? r.tuple('dilation', dims, 1) : Array<number>(dims).fill(1),
        r.bool('ceil_mode', false),
        at,
      ),
    );
    return max && r.bool('return_indices', false) && out.kind === 'tensor' ? { kind: 'tuple', items: [out, tensor(out.shape)] } : out;
  } catch (e) {
    if (e instanceof ArgError) return interp.fail(at, e.message);
    throw e;
  }
}

/** Calls of library functions and classes by canonical dotted path. */
export function callTorch(interp: Host, p: string, _self: V | undefined, a: CallArgs, at: Node): V {
  if (isNnClass(p)) {
    const m = interp.newModule(undefined, undefined, at);
    initNative(interp, m, p, a, at);
    if (!m.native) m.native = { type: 'Module', params: 0, attrs: new Map(), data: {} };
    return { kind: 'module', m };
  }
  if (isFloatFunctional(p)) {
    const m = interp.newModule(undefined, { type: 'FloatFunctional', params: 0, attrs: new Map(), data: {} }, at);
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
  const functional = p.startsWith('torch.nn.functional.');
  const c: FunctionCall = {
    interp,
    p,
    fname: p.replace(/^torch\.nn\.functional\./, '').replace(/^torch\./, ''),
    functional,
    a,
    at,
    args,
    x,
    unary: (fn) => (x?.kind === 'tensor' ? fn(x) : x?.kind === 'unknown' ? x : interp.fail(at, `${p}() of ${x ? describe(x) : 'nothing'}`)),
  };
  const library = ruleFor(LIBRARY, p);
  if (library) return library(c);
  if (p.startsWith('torch.nn.init.')) {
    if (x) dropData(x);
    return x ?? NONE;
  }
  if (p.startsWith('logging.') || p.startsWith('warnings.')) return NONE;
  if (p === 'numpy.linspace') {
    const values = numpyLinspace(a);
    if (values) return values;
  }
  const isTorch = functional || (p.startsWith('torch.') && !p.slice(6).includes('.'));
  if (!isTorch) return interp.opaque(at, a, `${p}() is not modelled`);
  const { fname } = c;
  const known = functional ? undefined : torchDataCall(fname, a);
  if (known) return known;
  if (ELEMENTWISE_FUNCTIONS.has(fname)) return c.unary((t) => tensor(t.shape));
  if (fname in BROADCAST_FUNCTIONS && !functional) {
    const y = args[1] ?? a.kwargs.get('other');
    return x && y ? tensorBinary(interp, BROADCAST_FUNCTIONS[fname], x, y, at) : interp.fail(at, `${p}()`);
  }
  const rule = ruleFor(TORCH, fname);
  return rule ? rule(c) : interp.opaque(at, a, `${p}() is not modelled`);
}

function functionalConv(interp: Host, t: TensorValue, dims: number, a: CallArgs, at: Node): V {
  try {
    const r = new Args(`conv${dims}d`, ['input', 'weight', 'bias', 'stride', 'padding', 'dilation', 'groups'], a, interp, at);
    const w = r.opt('weight');
    if (w?.kind !== 'tensor' || w.shape.length !== dims + 2) return interp.fail(at, 'the weight shape is not known');
    const ws = concrete(w.shape);
    if (!ws) return interp.fail(at, 'the weight shape is not known');
    // PyTorch's check: the input has weight.shape[1] * groups channels
    const gV = r.opt('groups');
    const groups = gV === undefined ? 1 : intOf(gV);
    if (groups === undefined) return interp.fail(at, 'groups is not known');
    const ci = t.shape.length - dims - 1;
    if (ci < 0) return interp.fail(at, `expected a ${dims + 2}-d input`);
    const err = bindDim(t.shape[ci], ws[1] * groups, 'in_channels');
    if (err)
      return interp.mismatch(
        at,
        { check: 'in_channels', op: `F.conv${dims}d`, expected: ws[1] * groups, got: dimValue(t.shape[ci])! },
        err,
      );
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
