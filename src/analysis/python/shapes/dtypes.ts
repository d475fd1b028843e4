/**
 * The dtype of a shape-only tensor, where it is certain, for the one rule that needs it: indexing
 * with an integer tensor (`table[index]`, Swin's relative position bias) gathers rows, while a
 * boolean mask selects a data-dependent number of them. A tensor's dtype never changes in place,
 * so it is a fact of the object; it is known from how the tensor was made (`torch.arange` of ints,
 * `torch.tensor` of ints, a `dtype=` argument, `.long()`, `argmax`) and carried by the ops in the
 * tables below, and unknown (undefined) everywhere else. Casts (`.float()`, `.to(dtype)`) of a
 * tensor whose dtype is known give a new tensor. Tensors with values (tensorData.ts) have theirs.
 */
import { type DType, TORCH_DTYPES } from './tensorData';
import { type CallArgs, type Dim, type TensorValue, type V, concrete, dimValue, intOf } from './values';

/** The dtype of a tensor, if known. */
export function dtypeOfTensor(v: V | undefined): DType | undefined {
  if (v?.kind !== 'tensor') return undefined;
  return v.data?.dtype ?? v.dtype;
}

const isIntType = (d: DType | undefined) => d === 'int32' || d === 'int64';

/** Ops whose result has the dtype of their (first) tensor: views, copies, reorderings. */
const SAME = new Set([
  'view',
  'reshape',
  'flatten',
  'unflatten',
  'permute',
  'transpose',
  'swapaxes',
  'contiguous',
  'clone',
  'detach',
  'unsqueeze',
  'squeeze',
  'expand',
  'expand_as',
  'repeat',
  'flip',
  'roll',
  't',
  'narrow',
  'view_as',
  'reshape_as',
  'tril',
  'triu',
  'cpu',
  'cuda',
  'abs',
  'neg',
  'chunk',
  'split',
  'unbind',
  'getitem',
  'repeat_interleave',
]);

/** Ops whose result has the dtype all their tensors share. */
const JOIN = new Set(['cat', 'concat', 'concatenate', 'stack', 'meshgrid']);

/** Ops whose result is int64 whatever the input. */
const INDICES = new Set(['argmax', 'argmin', 'argsort', 'nonzero']);

function named(v: V | undefined): DType | undefined {
  return v?.kind === 'lib' ? TORCH_DTYPES[v.path] : undefined;
}

function tensorsIn(args: V[]): TensorValue[] {
  const out: TensorValue[] = [];
  for (const a of args) {
    if (a.kind === 'tensor') out.push(a);
    else if (a.kind === 'list' || a.kind === 'tuple') out.push(...tensorsIn(a.items));
  }
  return out;
}

/** Sets `dtype` on every tensor in a result (a tensor, or a tuple/list of them) that has none. */
function stamp(result: V, dtype: DType | undefined): V {
  if (dtype === undefined) return result;
  if (result.kind === 'tensor') {
    if (result.dtype === undefined && !result.data) result.dtype = dtype;
  } else if (result.kind === 'tuple' || result.kind === 'list') for (const x of result.items) stamp(x, dtype);
  return result;
}

/**
 * The dtype of `name`'s result from its inputs (`self` first for a method), set on the result when
 * certain. `name` is a tensor method or torch function name without its module.
 */
export function carryDtype(name: string, inputs: V[], a: CallArgs | undefined, result: V): V {
  if (result.kind !== 'tensor' && result.kind !== 'tuple' && result.kind !== 'list') return result;
  // an op that handed back one of its inputs (`x.to(...)`, `x.contiguous()`): that object's dtype stands
  if (inputs.includes(result)) return result;
  const asked = named(a?.kwargs.get('dtype'));
  if (asked) return stamp(result, asked);
  if (INDICES.has(name)) return stamp(result, 'int64');
  const ts = tensorsIn(inputs);
  if (SAME.has(name)) return stamp(result, dtypeOfTensor(ts[0]));
  if (JOIN.has(name)) {
    const ds = ts.map(dtypeOfTensor);
    return ds.length && ds.every((d) => d !== undefined && d === ds[0]) ? stamp(result, ds[0]) : result;
  }
  if ((name === 'sum' || name === 'prod' || name === 'cumsum') && (isIntType(dtypeOfTensor(ts[0])) || dtypeOfTensor(ts[0]) === 'bool'))
    return stamp(result, 'int64');
  if (name === 'arange' && inputs.length && inputs.every((v) => v.kind === 'int' || v.kind === 'bool')) return stamp(result, 'int64');
  return result;
}

/** `arange` for `torch.arange`; undefined for names in torch's submodules. */
export function torchName(p: string): string | undefined {
  return /^torch\.[a-z_]+$/.test(p) ? p.slice(6) : undefined;
}

/** `l op r` (Python operators) on tensors whose dtypes are integer: the integer result's dtype. */
export function carryOperatorDtype(op: string, l: V, r: V, result: V): V {
  if (result.kind !== 'tensor' || result === l || result === r || !['+', '-', '*', '//', '%'].includes(op)) return result;
  const side = (v: V): DType | 'pyint' | undefined =>
    v.kind === 'tensor' ? dtypeOfTensor(v) : v.kind === 'int' && intOf(v) !== undefined ? 'pyint' : undefined;
  const x = side(l);
  const y = side(r);
  const ints = [x, y].filter((d) => d !== 'pyint');
  if (!ints.every(isIntType) || ints.length === 0) return result;
  // two int tensors: the wider one (0-d tensors are not told apart here, so they must agree)
  if (ints.length === 2 && ints[0] !== ints[1]) return result;
  return stamp(result, ints[0]);
}

/** A cast of a tensor whose dtype is known: a new tensor (the dtype is a fact of the object). */
export function castDtype(t: TensorValue, name: string, a: CallArgs): V | undefined {
  if (!t.dtype) return undefined;
  const to: Record<string, DType | null> = {
    float: 'float32',
    double: 'float64',
    half: null,
    bfloat16: null,
    int: 'int32',
    long: 'int64',
    bool: 'bool',
  };
  if (name in to && Object.prototype.hasOwnProperty.call(to, name))
    return { kind: 'tensor', shape: [...t.shape], ...(to[name] ? { dtype: to[name] } : {}) };
  if (name === 'to' || name === 'type') {
    const d =
      a.args.find((v) => v.kind === 'lib' && /^torch\.[a-z]+\d*$/.test(v.path) && !/^torch\.(device|cpu|cuda)/.test(v.path)) ??
      a.kwargs.get('dtype');
    if (d === undefined) return undefined;
    const dt = named(d);
    return { kind: 'tensor', shape: [...t.shape], ...(dt ? { dtype: dt } : {}) };
  }
  return undefined;
}

/**
 * `x[index]` with one integer tensor among the keys (the others slices, `None`, `...` or ints are
 * left to the caller): the gathered shape, or undefined when the rule does not apply. A boolean or
 * an untyped tensor key never gets here.
 */
export function integerIndex(t: TensorValue, key: V): { shape: Dim[] } | undefined {
  const keys = key.kind === 'tuple' ? key.items : [key];
  const tensorKeys = keys.filter((k) => k.kind === 'tensor');
  if (tensorKeys.length !== 1 || !isIntType(dtypeOfTensor(tensorKeys[0]))) return undefined;
  const idx = tensorKeys[0];
  // only full slices besides it: x[idx], x[:, idx], x[idx, :]
  const pos = keys.indexOf(idx);
  if (!keys.every((k) => k === idx || (k.kind === 'slice' && k.start.kind === 'none' && k.stop.kind === 'none' && k.step.kind === 'none')))
    return undefined;
  if (keys.length > t.shape.length) return undefined;
  // the indexed dimension must be known, and every index value in range is not checked: PyTorch raises otherwise
  if (dimValue(t.shape[pos]) === undefined || concrete(idx.shape) === undefined) return undefined;
  return { shape: [...t.shape.slice(0, pos), ...idx.shape, ...t.shape.slice(pos + 1)] };
}
