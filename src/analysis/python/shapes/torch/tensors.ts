/** Tensors: broadcasting, arithmetic, indexing, attributes (`.shape`, `.size()`) and methods. */
import type { Node } from 'web-tree-sitter';
import type { Host } from '../host';
import { sliceIndices, tensorNumel } from '../values';
import {
  concrete,
  describe,
  dimValue,
  intOf,
  intV,
  NONE,
  shapeText,
  tensor,
  type CallArgs,
  type Dim,
  type TensorValue,
  type V,
} from '../values';

import { ELEMENTWISE_FUNCTIONS, BROADCAST_FUNCTIONS, family, ruleFor } from './args';
import { CHANNELS_UNKNOWN, normDim, flatten } from './forward';
import { tensorDataMethod } from '../tensorData';

// -----------------------------------------------------------------------------------------------
// tensors

export function same(a: Dim, b: Dim): boolean {
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

export function matmul(interp: Host, a: Dim[], b: Dim[], at: Node): V {
  if (a.length === 0 || b.length === 0) return interp.fail(at, 'matmul of a 0-d tensor');
  const A = a.length === 1 ? [1, a[0]] : a;
  const B = b.length === 1 ? [b[0], 1] : b;
  if (!same(A[A.length - 1], B[B.length - 2])) {
    const [x, y] = [concrete(a), concrete(b)];
    const detail = `matmul: ${shapeText(a)} @ ${shapeText(b)}`;
    return x && y ? interp.mismatch(at, { check: 'matmul', op: 'matmul', expected: x, got: y }, detail) : interp.fail(at, detail);
  }
  const batch = broadcast(A.slice(0, -2), B.slice(0, -2));
  if (typeof batch === 'string') return interp.fail(at, batch);
  const shape = [...batch, ...(a.length === 1 ? [] : [A[A.length - 2]]), ...(b.length === 1 ? [] : [B[B.length - 1]])];
  return tensor(shape);
}

export function tensorUnary(t: TensorValue): V {
  return tensor(t.shape);
}

export function tensorBinary(interp: Host, op: string, l: V, r: V, at: Node): V {
  const scalar = (v: V) => v.kind === 'int' || v.kind === 'float' || v.kind === 'bool';
  if (l.kind === 'tensor' && r.kind === 'tensor') {
    if (op === '@') return matmul(interp, l.shape, r.shape, at);
    const s = broadcast(l.shape, r.shape);
    if (typeof s !== 'string') return tensor(s);
    // broadcast() says "do not broadcast" only of sizes it knows
    const [x, y] = [concrete(l.shape), concrete(r.shape)];
    return x && y && s !== CHANNELS_UNKNOWN ? interp.mismatch(at, { check: 'broadcast', op, expected: x, got: y }, s) : interp.fail(at, s);
  }
  if (l.kind === 'tensor' && scalar(r)) return tensor(l.shape);
  if (r.kind === 'tensor' && scalar(l)) return tensor(r.shape);
  return interp.fail(at, `\`${op}\` of ${describe(l)} and ${describe(r)}`);
}

export function tensorCompare(interp: Host, a: V, b: V, at: Node): V {
  return tensorBinary(interp, '+', a, b, at);
}

/** `x[:, :c]`, `x[..., None]`, `x[0]`. */
export function tensorItem(interp: Host, t: TensorValue, key: V, at: Node): V {
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

function sizeTuple(interp: Host, t: TensorValue, at: Node): V {
  return { kind: 'tuple', items: t.shape.map((d) => (dimValue(d) !== undefined ? intV(dimValue(d)!) : interp.fail(at, CHANNELS_UNKNOWN))) };
}

export function tensorAttribute(interp: Host, t: TensorValue, name: string, at: Node): V {
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
export function sizesOf(args: V[]): (number | undefined)[] | undefined {
  const one = args.length === 1 ? args[0] : undefined;
  const items = one && (one.kind === 'tuple' || one.kind === 'list') ? one.items : args;
  if (items.some((v) => v.kind === 'unknown')) return undefined;
  return items.map(intOf);
}

function reshape(interp: Host, t: TensorValue, args: V[], at: Node): V {
  const first =
    args.find((v) => v.kind === 'unknown') ?? (args[0]?.kind === 'tuple' ? args[0].items.find((v) => v.kind === 'unknown') : undefined);
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

function reduce(interp: Host, t: TensorValue, dimV: V | undefined, keepV: V | undefined, at: Node): V {
  const dims = dimsArg(dimV, t.shape.length);
  if (dims === undefined) return dimV?.kind === 'unknown' ? dimV : interp.fail(at, 'reduction dims are not known');
  const keep = keepV ? interp.truthy(keepV) : false;
  if (keep === undefined) return interp.fail(at, 'keepdim cannot be decided');
  if (dims === 'all') return tensor(keep ? t.shape.map(() => 1) : []);
  return tensor(keep ? t.shape.map((d, i) => (dims.includes(i) ? 1 : d)) : t.shape.filter((_, i) => !dims.includes(i)));
}

/** Arguments by position or keyword for the small signatures of tensor methods and functions. */
export function pick(a: CallArgs, names: string[]): (V | undefined)[] {
  return names.map((n, i) => a.kwargs.get(n) ?? a.args[i]);
}

/** What a tensor method rule gets: the tensor, the method's name, the call. */
interface MethodCall {
  interp: Host;
  t: TensorValue;
  name: string;
  a: CallArgs;
  at: Node;
  args: V[];
  /** an unknown value: "`name`(): `detail`" */
  fail: (detail: string) => V;
}

/** A tensor method rule: a pure builder from the call to its value, through the Host only. */
type MethodRule = (c: MethodCall) => V;

/** The index `d` names (negative from the end), or undefined when it is not a known dim of `rank`. */
const dimIndex = (d: V | undefined, rank: number): number | undefined => {
  const i = intOf(d ?? NONE);
  return i === undefined ? undefined : normDim(i, rank);
};

const REDUCTIONS = ['mean', 'sum', 'amax', 'amin', 'prod', 'std', 'var', 'logsumexp', 'norm', 'argmax', 'argmin', 'all', 'any'];

/** Tensor methods by name (after the data rules, the elementwise and the broadcasting ones). */
const TENSOR_METHODS: Record<string, MethodRule> = {
  size: ({ interp, t, args, a, at, fail }) => {
    const d = args[0] ?? a.kwargs.get('dim');
    if (!d) return sizeTuple(interp, t, at);
    const k = dimIndex(d, t.shape.length);
    if (k === undefined) return d.kind === 'unknown' ? d : fail('dim out of range');
    const v = dimValue(t.shape[k]);
    return v === undefined ? fail(CHANNELS_UNKNOWN) : intV(v);
  },
  ...family(['dim', 'ndimension'], ({ t }) => intV(t.shape.length)),
  ...family(['numel', 'nelement'], ({ t, fail }) => {
    const n = tensorNumel(t);
    return typeof n === 'number' ? intV(n) : fail(n);
  }),
  ...family(['view', 'reshape'], ({ interp, t, args, at }) => reshape(interp, t, args, at)),
  ...family(['view_as', 'reshape_as', 'expand_as', 'type_as'], ({ args, fail }) =>
    args[0]?.kind === 'tensor' ? tensor(args[0].shape) : (args[0] ?? fail('missing argument')),
  ),
  flatten: ({ interp, t, a, at }) => {
    const [s, e] = pick(a, ['start_dim', 'end_dim']);
    return flatten(interp, t, s ? (intOf(s) ?? 0) : 0, e ? (intOf(e) ?? -1) : -1, at);
  },
  ...family(REDUCTIONS, ({ interp, t, name, a, at }) => {
    const [d, k] = name === 'norm' ? pick(a, ['p', 'dim', 'keepdim']).slice(1) : pick(a, ['dim', 'keepdim']);
    return reduce(interp, t, d, k, at);
  }),
  ...family(['max', 'min'], ({ interp, t, a, at }) => {
    const [d, k] = pick(a, ['dim', 'keepdim']);
    if (d?.kind === 'tensor') return tensorBinary(interp, '+', t, d, at);
    const r = reduce(interp, t, d, k, at);
    return d && d.kind !== 'none' && r.kind === 'tensor' ? { kind: 'tuple', items: [r, tensor(r.shape)] } : r;
  }),
  squeeze: ({ t, args, a, fail }) => {
    const d = args[0] ?? a.kwargs.get('dim');
    if (!d) return tensor(t.shape.filter((x) => dimValue(x) !== 1));
    const k = dimIndex(d, t.shape.length);
    if (k === undefined) return fail('dim out of range');
    return dimValue(t.shape[k]) === 1 ? tensor(t.shape.filter((_, i) => i !== k)) : t;
  },
  unsqueeze: ({ t, args, a, fail }) => {
    const k = dimIndex(args[0] ?? a.kwargs.get('dim'), t.shape.length + 1);
    if (k === undefined) return fail('dim out of range');
    return tensor([...t.shape.slice(0, k), 1, ...t.shape.slice(k)]);
  },
  ...family(['transpose', 'swapaxes'], ({ t, args, fail }) => {
    const [x, y] = [dimIndex(args[0], t.shape.length), dimIndex(args[1], t.shape.length)];
    if (x === undefined || y === undefined) return fail('dims out of range');
    const s = [...t.shape];
    [s[x], s[y]] = [s[y], s[x]];
    return tensor(s);
  }),
  t: ({ t }) => tensor([...t.shape].reverse()),
  permute: ({ t, args, fail }) => {
    const order = sizesOf(args);
    if (!order || order.length !== t.shape.length || order.some((v) => v === undefined)) return fail('dims are not known');
    return tensor((order as number[]).map((i) => t.shape[normDim(i, t.shape.length) ?? 0]));
  },
  expand: ({ t, args, fail }) => {
    const sizes = sizesOf(args);
    if (!sizes || sizes.some((v) => v === undefined)) return fail('sizes are not known');
    const lead = sizes.length - t.shape.length;
    return tensor((sizes as number[]).map((v, i) => (v === -1 ? t.shape[i - lead] : v)));
  },
  repeat: ({ t, args, fail }) => {
    const reps = sizesOf(args);
    const shape = concrete(t.shape);
    if (!reps || reps.some((v) => v === undefined) || !shape) return fail('sizes are not known');
    const lead = reps.length - shape.length;
    return tensor((reps as number[]).map((r, i) => r * (shape[i - lead] ?? 1)));
  },
  narrow: ({ t, a, fail }) => {
    const [d, , len] = pick(a, ['dim', 'start', 'length']);
    const k = dimIndex(d, t.shape.length);
    const n = intOf(len ?? NONE);
    if (k === undefined || n === undefined) return fail('arguments are not known');
    const s = [...t.shape];
    s[k] = n;
    return tensor(s);
  },
  ...family(['chunk', 'split', 'unbind'], ({ interp, t, name, a, at }) => splitTensor(interp, t, name, a, at)),
  ...family(['matmul', 'mm', 'bmm'], ({ interp, t, args, at, fail }) =>
    args[0]?.kind === 'tensor' ? matmul(interp, t.shape, args[0].shape, at) : fail('missing argument'),
  ),
  ...family(['softmax', 'log_softmax', 'relu', 'sigmoid', 'tanh'], ({ t }) => tensor(t.shape)),
  ...family(['new_zeros', 'new_ones', 'new_empty', 'new_full'], ({ interp, name, args, at }) =>
    creation(interp, name === 'new_full' ? [args[0] ?? NONE] : args, at, false),
  ),
  ...family(['item', 'tolist'], ({ fail }) => fail('a value computed from tensor data')),
  unflatten: ({ t, a, fail }) => {
    const [d, sizesV] = pick(a, ['dim', 'sizes']);
    const k = dimIndex(d, t.shape.length);
    const sizes = sizesV ? sizesOf([sizesV]) : undefined;
    if (k === undefined || !sizes || sizes.some((v) => v === undefined)) return fail('arguments are not known');
    return tensor([...t.shape.slice(0, k), ...(sizes as number[]), ...t.shape.slice(k + 1)]);
  },
};

export function callTensorMethod(interp: Host, t: TensorValue, name: string, a: CallArgs, at: Node): V {
  const known = tensorDataMethod(t, name, a);
  if (known) return known;
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
  const rule = ruleFor(TENSOR_METHODS, name);
  return rule ? rule({ interp, t, name, a, at, args, fail }) : fail('this tensor method is not modelled');
}

function splitTensor(interp: Host, t: TensorValue, name: string, a: CallArgs, at: Node): V {
  const [first, dimV] =
    name === 'unbind'
      ? [undefined, a.args[0] ?? a.kwargs.get('dim')]
      : pick(a, [name === 'chunk' ? 'chunks' : 'split_size_or_sections', 'dim']);
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
    if (!list || list.some((v) => v === undefined) || (list as number[]).reduce((p, v) => p + v, 0) !== size)
      return interp.fail(at, 'split(): sections do not add up');
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

export function creation(interp: Host, args: V[], at: Node, example: boolean): V {
  const sizes = sizesOf(args);
  if (!sizes || sizes.some((v) => v === undefined || v < 0)) {
    const bad = args.find((v) => v.kind === 'unknown');
    return bad ?? interp.fail(at, 'sizes are not known');
  }
  const t = tensor(sizes as number[]);
  if (example) t.example = { line: at.startPosition.row };
  return t;
}
