/**
 * Tensors whose values are known: small tensors made from Python numbers (`torch.arange(depth)`,
 * `torch.tensor([1, 2, 3])`) and what torch computes from them elementwise, so configuration
 * arithmetic written with torch (RegNet's block widths: `torch.round(torch.log(w / w_0) / ...)`,
 * `.int().tolist()`) gives the Python numbers PyTorch gives.
 *
 * Every element is an interval [lo, hi] that holds the value PyTorch computes, whatever its
 * kernels' rounding: float32 results of `+ - *` on exact operands are exact (IEEE, computed in
 * double then rounded once, which is correctly rounded), a division is widened by one float32 unit in
 * the last place, and `log`/`exp`/`pow`/... (whose last bit depends on the math library) by four. A
 * step that turns a float into an integer (`round`, `floor`, `.int()`) is exact when both ends agree,
 * and an element is unknown otherwise; `.tolist()` and `.item()` hand out only exact elements. A
 * value is never guessed.
 *
 * In-place changes (`x.add_(1)`, `x[0] = 1`, `x += 1`, a call the interpreter cannot see) drop the
 * values, so an alias never holds stale ones. Values are kept for tensors up to MAX_DATA elements.
 */
import { type CallArgs, type TensorValue, type V, concrete, intOf, intV, itemsOf } from './values';

export type DType = 'bool' | 'int32' | 'int64' | 'float32' | 'float64';

export interface TensorData {
  dtype: DType;
  /** row-major; lo[i] <= value <= hi[i] */
  lo: number[];
  hi: number[];
}

/** Elements a tensor may have to keep its values. */
export const MAX_DATA = 4096;

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const isFloat = (d: DType) => d === 'float32' || d === 'float64';
const isInt = (d: DType) => d === 'int32' || d === 'int64';

/** `torch.<dtype>` names and the dtype each stands for. */
export const TORCH_DTYPES: Record<string, DType> = {
  'torch.bool': 'bool',
  'torch.int': 'int32',
  'torch.int32': 'int32',
  'torch.long': 'int64',
  'torch.int64': 'int64',
  'torch.float': 'float32',
  'torch.float32': 'float32',
  'torch.double': 'float64',
  'torch.float64': 'float64',
};

/** The dtype a `torch.float32`-like value names; undefined for one without values kept (float16, ...). */
function dtypeOf(v: V | undefined): DType | 'other' | undefined {
  if (v === undefined || v.kind === 'none') return undefined;
  if (v.kind === 'lib') return TORCH_DTYPES[v.path] ?? 'other';
  if (v.kind === 'native' && /^builtins\.(int|float|bool)$/.test(v.name))
    return ({ int: 'int64', float: 'float64', bool: 'bool' } as const)[v.name.slice(9) as 'int' | 'float' | 'bool'];
  return 'other';
}

// -------------------------------------------------------------------------------------------------
// rounding

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);
const F64 = new Float64Array(1);
const I64 = new BigInt64Array(F64.buffer);

/** The float32 `n` units in the last place above (n > 0) or below x (a float32). */
function stepF32(x: number, n: number): number {
  if (!Number.isFinite(x)) return x;
  let y = x;
  for (let k = 0; k < Math.abs(n); k++) {
    if (y === 0) {
      y = n > 0 ? 1.401298464324817e-45 : -1.401298464324817e-45;
      continue;
    }
    F32[0] = y;
    I32[0] += y > 0 === n > 0 ? 1 : -1;
    y = F32[0];
  }
  return y;
}

function stepF64(x: number, n: number): number {
  if (!Number.isFinite(x)) return x;
  let y = x;
  for (let k = 0; k < Math.abs(n); k++) {
    if (y === 0) {
      y = n > 0 ? Number.MIN_VALUE : -Number.MIN_VALUE;
      continue;
    }
    F64[0] = y;
    I64[0] += y > 0 === n > 0 ? 1n : -1n;
    y = F64[0];
  }
  return y;
}

/**
 * [lo, hi] (computed in double) as a `dtype` interval: rounded into the type, then widened by
 * `ulps` units on each side (0 when the double result is the one the type rounds to as well).
 */
function into(dtype: DType, lo: number, hi: number, ulps: number): [number, number] {
  if (Number.isNaN(lo) || Number.isNaN(hi)) return [-Infinity, Infinity];
  switch (dtype) {
    case 'float32': {
      const a = Math.fround(lo);
      const b = Math.fround(hi);
      // rounding to nearest can move past the double bound: one step out keeps it inside
      return lo === hi && ulps === 0 ? [a, b] : [stepF32(a, -Math.max(ulps, 1)), stepF32(b, Math.max(ulps, 1))];
    }
    case 'float64':
      return ulps === 0 ? [lo, hi] : [stepF64(lo, -ulps), stepF64(hi, ulps)];
    case 'bool':
      return lo === hi ? [lo !== 0 ? 1 : 0, lo !== 0 ? 1 : 0] : [0, 1];
    default: {
      // integers: exact while they fit in a double's mantissa; int32 wraps like C
      if (lo !== hi || !Number.isSafeInteger(lo)) return [-Infinity, Infinity];
      const v = dtype === 'int32' ? lo | 0 : lo;
      return [v, v];
    }
  }
}

const exact = (d: TensorData, i: number) => d.lo[i] === d.hi[i];

// -------------------------------------------------------------------------------------------------
// making and reading

function make(shape: number[], data: TensorData): TensorValue {
  return { kind: 'tensor', shape, data };
}

/** The known values of a tensor, if it has them. */
export function dataOf(v: V | undefined): { shape: number[]; data: TensorData } | undefined {
  if (v?.kind !== 'tensor' || !v.data) return undefined;
  const shape = concrete(v.shape);
  return shape ? { shape, data: v.data } : undefined;
}

/** Forgets a tensor's values (it is changed in place, or handed to code the interpreter cannot see). */
export function dropData(v: V): void {
  if (v.kind === 'tensor' && v.data) {
    // the dtype stays: a change in place never changes it
    v.dtype = v.data.dtype;
    delete v.data;
  }
}

/** A nested list of Python numbers as shape and values; undefined if it is not one. */
function fromPython(v: V): { shape: number[]; values: number[]; kind: 'bool' | 'int' | 'float' } | undefined {
  const values: number[] = [];
  let kind: 'bool' | 'int' | 'float' = 'bool';
  const shape: number[] = [];
  const walk = (x: V, depth: number): boolean => {
    const items = itemsOf(x);
    if (items) {
      if (shape.length === depth) shape.push(items.length);
      else if (shape[depth] !== items.length) return false;
      return items.every((y) => walk(y, depth + 1));
    }
    if (x.kind === 'tensor') {
      const d = dataOf(x);
      if (!d || d.shape.length !== 0 || !exact(d.data, 0)) return false;
      values.push(d.data.lo[0]);
      kind = isFloat(d.data.dtype) ? 'float' : isInt(d.data.dtype) && kind !== 'float' ? 'int' : kind;
    } else if (x.kind === 'float') {
      values.push(x.value);
      kind = 'float';
    } else if (x.kind === 'int' || x.kind === 'bool') {
      const n = intOf(x);
      if (n === undefined) return false;
      values.push(n);
      if (x.kind === 'int' && kind === 'bool') kind = 'int';
    } else return false;
    return shape.length === depth;
  };
  if (!walk(v, 0) || values.length > MAX_DATA) return undefined;
  return { shape, values, kind };
}

/** A Python number as a 0-d operand: its interval in `dtype` (a float not exact in float32 spans both roundings). */
function scalarOperand(v: V): { value: number; kind: 'bool' | 'int' | 'float' } | undefined {
  if (v.kind === 'float') return { value: v.value, kind: 'float' };
  if (v.kind === 'bool') return { value: v.value ? 1 : 0, kind: 'bool' };
  const n = intOf(v);
  return n === undefined ? undefined : { value: n, kind: 'int' };
}

/** torch.tensor(data, dtype=...) and torch.as_tensor. */
export function tensorFromData(data: V, dtypeV: V | undefined): TensorValue | undefined {
  const py = fromPython(data);
  if (!py) return undefined;
  const asked = dtypeOf(dtypeV);
  // a dtype not kept or not known (`dtype=image.dtype`): the shape, without values
  if (asked === 'other') return { kind: 'tensor', shape: py.shape };
  const dtype: DType = asked ?? (py.kind === 'float' ? 'float32' : py.kind === 'int' ? 'int64' : 'bool');
  const lo: number[] = [];
  const hi: number[] = [];
  for (const x of py.values) {
    const [a, b] = into(dtype, isInt(dtype) ? Math.trunc(x) : x, isInt(dtype) ? Math.trunc(x) : x, 0);
    lo.push(a);
    hi.push(b);
  }
  return make(py.shape, { dtype, lo, hi });
}

/** torch.arange(start, end, step, dtype=...). */
export function arangeData(nums: number[], allInts: boolean, dtypeV: V | undefined): TensorValue | undefined {
  const [s, e, st] = nums.length === 1 ? [0, nums[0], 1] : [nums[0], nums[1], nums[2] ?? 1];
  if (st === 0) return undefined;
  const n = Math.max(0, Math.ceil((e - s) / st));
  if (n > MAX_DATA) return undefined;
  const asked = dtypeOf(dtypeV);
  if (asked === 'other') return undefined;
  const dtype: DType = asked ?? (allInts ? 'int64' : 'float32');
  const lo: number[] = [];
  const hi: number[] = [];
  for (let i = 0; i < n; i++) {
    // computed in double (PyTorch's accumulate type) and rounded once into the dtype
    const v = s + st * i;
    // exact when start, step and the result are float32 numbers (step * i is exact in double for
    // i < MAX_DATA): computed in float32 or in double, the result is the same
    const float32Exact = Math.fround(s) === s && Math.fround(st) === st && Math.fround(v) === v;
    const [a, b] = into(
      dtype,
      isInt(dtype) ? Math.trunc(v) : v,
      isInt(dtype) ? Math.trunc(v) : v,
      allInts || isInt(dtype) || float32Exact ? 0 : 1,
    );
    lo.push(a);
    hi.push(b);
  }
  return make([n], { dtype, lo, hi });
}

// -------------------------------------------------------------------------------------------------
// type promotion (torch.result_type for the cases kept)

type Operand = { shape: number[]; data: TensorData; dim0: boolean } | { scalar: number; kind: 'bool' | 'int' | 'float' };

const RANK: Record<DType, number> = { bool: 0, int32: 1, int64: 2, float32: 3, float64: 4 };
const category = (d: DType) => (d === 'bool' ? 0 : isInt(d) ? 1 : 2);

function promote(a: Operand, b: Operand): DType {
  const tensors = [a, b].filter((o): o is Extract<Operand, { data: TensorData }> => 'data' in o);
  const scalars = [a, b].filter((o): o is Extract<Operand, { scalar: number }> => 'scalar' in o);
  const dims = tensors.filter((t) => !t.dim0);
  const zeros = tensors.filter((t) => t.dim0);
  const pick = (ts: { data: TensorData }[]) =>
    ts.map((t) => t.data.dtype).reduce<DType | undefined>((x, y) => (x === undefined || RANK[y] > RANK[x] ? y : x), undefined);
  let result = pick(dims);
  const zero = pick(zeros);
  // a 0-d tensor counts only if it is of a higher category than the sized tensors
  if (zero && (result === undefined || category(zero) > category(result))) result = zero;
  for (const s of scalars) {
    const c = s.kind === 'float' ? 2 : s.kind === 'int' ? 1 : 0;
    if (result === undefined) result = c === 2 ? 'float32' : c === 1 ? 'int64' : 'bool';
    else if (c > category(result)) result = c === 2 ? 'float32' : 'int64';
  }
  return result ?? 'float32';
}

function operand(v: V): Operand | undefined {
  const d = dataOf(v);
  if (d) return { ...d, dim0: d.shape.length === 0 };
  const s = scalarOperand(v);
  return s && { scalar: s.value, kind: s.kind };
}

/** The shape two concrete shapes broadcast to, or undefined. */
function broadcastShapes(a: number[], b: number[]): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** The flat index into `shape` (broadcast to `out`) for each flat index of `out`. */
function gather(shape: number[], out: number[]): number[] {
  const total = out.reduce((p, x) => p * x, 1);
  const idx: number[] = [];
  for (let f = 0; f < total; f++) {
    let rest = f;
    let src = 0;
    let stride = 1;
    for (let k = out.length - 1; k >= 0; k--) {
      const coord = rest % out[k];
      rest = Math.floor(rest / out[k]);
      const j = k - (out.length - shape.length);
      if (j >= 0) {
        if (shape[j] !== 1) src += coord * stride;
        stride *= shape[j];
      }
    }
    idx.push(src);
  }
  return idx;
}

type Interval = [number, number];

/** The interval of `x op y` in double, over the corners (the operations here are monotone per argument). */
function corners(f: (x: number, y: number) => number, a: Interval, b: Interval): Interval {
  const vs = [f(a[0], b[0]), f(a[0], b[1]), f(a[1], b[0]), f(a[1], b[1])];
  if (vs.some(Number.isNaN)) return [-Infinity, Infinity];
  return [Math.min(...vs), Math.max(...vs)];
}

const floorDiv = (x: number, y: number) => Math.floor(x / y);
const pyMod = (x: number, y: number) => x - y * Math.floor(x / y);

/** `l op r` where one side is a tensor with values and the other one too or a Python number. */
export function dataBinary(op: string, l: V, r: V): TensorValue | undefined {
  if (!dataOf(l) && !dataOf(r)) return undefined;
  const a = operand(l);
  const b = operand(r);
  if (!a || !b) return undefined;
  const sa = 'data' in a ? a.shape : [];
  const sb = 'data' in b ? b.shape : [];
  const shape = broadcastShapes(sa, sb);
  if (!shape || shape.reduce((p, x) => p * x, 1) > MAX_DATA) return undefined;
  const compare = ['<', '>', '<=', '>=', '==', '!='].includes(op);
  let dtype = promote(a, b);
  if (op === '/' && !isFloat(dtype)) dtype = 'float32';
  if ((op === '&' || op === '|' || op === '^') && isFloat(dtype)) return undefined;
  const out: DType = compare ? 'bool' : dtype;
  // a Python float not exact in the computation's type: it may be rounded into it, or not
  // an operand in the computation's type: a value not exact in float32 (a Python float, a large
  // integer) may be rounded into it or not, so both stay in its interval
  const widen = (x: number): Interval => {
    if (dtype !== 'float32' || !Number.isFinite(x)) return [x, x];
    const f = Math.fround(x);
    return f === x ? [x, x] : [Math.min(x, stepF32(f, -1)), Math.max(x, stepF32(f, 1))];
  };
  const interval = (o: Operand, i: number): Interval => {
    if ('data' in o) {
      if (o.data.dtype === dtype || dtype === 'float64' || isInt(dtype) || dtype === 'bool') return [o.data.lo[i], o.data.hi[i]];
      return [widen(o.data.lo[i])[0], widen(o.data.hi[i])[1]];
    }
    return widen(o.scalar);
  };
  const ia = 'data' in a ? gather(sa, shape) : undefined;
  const ib = 'data' in b ? gather(sb, shape) : undefined;
  const n = shape.reduce((p, x) => p * x, 1);
  const lo: number[] = [];
  const hi: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = interval(a, ia ? ia[i] : 0);
    const y = interval(b, ib ? ib[i] : 0);
    let v: Interval;
    let ulps = 0;
    switch (op) {
      case '+':
        v = [x[0] + y[0], x[1] + y[1]];
        break;
      case '-':
        v = [x[0] - y[1], x[1] - y[0]];
        break;
      case '*':
        v = corners((p, q) => p * q, x, y);
        break;
      case '/':
        if (y[0] <= 0 && y[1] >= 0) return undefined;
        v = corners((p, q) => p / q, x, y);
        ulps = 1;
        break;
      case '//':
        if (y[0] <= 0 && y[1] >= 0) return undefined;
        v = isFloat(dtype) ? corners((p, q) => p / q, x, y) : corners(floorDiv, x, y);
        if (isFloat(dtype)) v = [Math.floor(stepF64(v[0], -2)), Math.floor(stepF64(v[1], 2))];
        break;
      case '%':
        if (!isInt(dtype) || x[0] !== x[1] || y[0] !== y[1] || y[0] === 0) return undefined;
        v = [pyMod(x[0], y[0]), pyMod(x[0], y[0])];
        break;
      case '**':
        if (isInt(dtype)) {
          if (x[0] !== x[1] || y[0] !== y[1] || y[0] < 0) return undefined;
          v = [x[0] ** y[0], x[0] ** y[0]];
        } else {
          v = corners((p, q) => p ** q, x, y);
          ulps = 4;
        }
        break;
      case '&':
      case '|':
      case '^':
        if (x[0] !== x[1] || y[0] !== y[1]) return undefined;
        v = op === '&' ? [x[0] & y[0], x[0] & y[0]] : op === '|' ? [x[0] | y[0], x[0] | y[0]] : [x[0] ^ y[0], x[0] ^ y[0]];
        break;
      default: {
        if (!compare) return undefined;
        // decided only when the intervals cannot overlap the other way
        const decide = (): boolean | undefined => {
          switch (op) {
            case '<':
              return x[1] < y[0] ? true : x[0] >= y[1] ? false : undefined;
            case '<=':
              return x[1] <= y[0] ? true : x[0] > y[1] ? false : undefined;
            case '>':
              return x[0] > y[1] ? true : x[1] <= y[0] ? false : undefined;
            case '>=':
              return x[0] >= y[1] ? true : x[1] < y[0] ? false : undefined;
            case '==':
              return x[0] === x[1] && y[0] === y[1] ? x[0] === y[0] : x[1] < y[0] || y[1] < x[0] ? false : undefined;
            default:
              return x[0] === x[1] && y[0] === y[1] ? x[0] !== y[0] : x[1] < y[0] || y[1] < x[0] ? true : undefined;
          }
        };
        const d = decide();
        v = d === undefined ? [0, 1] : [d ? 1 : 0, d ? 1 : 0];
        lo.push(v[0]);
        hi.push(v[1]);
        continue;
      }
    }
    const [p, q] = into(out, v[0], v[1], ulps);
    lo.push(p);
    hi.push(q);
  }
  return make(shape, { dtype: out, lo, hi });
}

/** Monotone non-decreasing maps from an element to an element. */
const ROUNDING: Record<string, (x: number) => number> = {
  round: (x) => {
    // half to even, as torch.round
    const f = Math.floor(x);
    const d = x - f;
    return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  },
  floor: Math.floor,
  ceil: Math.ceil,
  trunc: Math.trunc,
};

const TRANSCENDENTAL: Record<string, (x: number) => number> = {
  log: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  log1p: Math.log1p,
  exp: Math.exp,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
};

function mapData(t: { shape: number[]; data: TensorData }, dtype: DType, f: (lo: number, hi: number) => Interval): TensorValue {
  const lo: number[] = [];
  const hi: number[] = [];
  for (let i = 0; i < t.data.lo.length; i++) {
    const [a, b] = f(t.data.lo[i], t.data.hi[i]);
    lo.push(a);
    hi.push(b);
  }
  return make(t.shape, { dtype, lo, hi });
}

/** An elementwise function of one tensor with values (`torch.log(x)`, `x.round()`, `x.int()`). */
export function dataUnary(name: string, x: V, dtypeV?: V): TensorValue | undefined {
  const t = dataOf(x);
  if (!t) return undefined;
  const { dtype } = t.data;
  if (has(ROUNDING, name)) {
    const f = ROUNDING[name];
    if (!isFloat(dtype)) return mapData(t, dtype, (lo, hi) => [lo, hi]);
    return mapData(t, dtype, (lo, hi) => [f(lo), f(hi)]);
  }
  if (has(TRANSCENDENTAL, name)) {
    const f = TRANSCENDENTAL[name];
    const out = isFloat(dtype) ? dtype : 'float32';
    // monotone increasing; sqrt is correctly rounded, the others are widened
    return mapData(t, out, (lo, hi) => into(out, f(lo), f(hi), name === 'sqrt' ? 1 : 4));
  }
  switch (name) {
    case 'neg':
    case 'negative':
      return dtype === 'bool' ? undefined : mapData(t, dtype, (lo, hi) => [-hi, -lo]);
    case 'abs':
      return mapData(t, dtype, (lo, hi) => (lo >= 0 ? [lo, hi] : hi <= 0 ? [-hi, -lo] : [0, Math.max(-lo, hi)]));
    case 'sign':
      return mapData(t, dtype, (lo, hi) => [Math.sign(lo), Math.sign(hi)]);
    case 'clone':
    case 'contiguous':
    case 'detach':
      return mapData(t, dtype, (lo, hi) => [lo, hi]);
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'bool':
      return cast(t, ({ int: 'int32', long: 'int64', float: 'float32', double: 'float64', bool: 'bool' } as const)[name]);
    case 'to':
    case 'type': {
      const want = dtypeOf(dtypeV);
      if (want === undefined) return mapData(t, dtype, (lo, hi) => [lo, hi]);
      return want === 'other' ? undefined : cast(t, want);
    }
  }
  return undefined;
}

function cast(t: { shape: number[]; data: TensorData }, to: DType): TensorValue {
  if (isInt(to)) return mapData(t, to, (lo, hi) => into(to, Math.trunc(lo) === Math.trunc(hi) ? Math.trunc(lo) : NaN, Math.trunc(hi), 0));
  if (to === 'bool') return mapData(t, to, (lo, hi) => (lo > 0 || hi < 0 ? [1, 1] : lo === 0 && hi === 0 ? [0, 0] : [0, 1]));
  return mapData(t, to, (lo, hi) => into(to, lo, hi, lo === hi && (to === 'float64' || Math.fround(lo) === lo) ? 0 : 1));
}

/** `x.tolist()`, `x.item()`: Python numbers, or an unknown element where the value is not pinned down. */
export function dataToPython(x: V, item: boolean): V | undefined {
  const t = dataOf(x);
  if (!t) return undefined;
  if (item && t.data.lo.length !== 1) return undefined;
  const scalar = (i: number): V => {
    if (!exact(t.data, i))
      return { kind: 'unknown', why: 'a value computed from tensor data is too close to a rounding boundary to be sure of it' };
    const v = t.data.lo[i];
    if (t.data.dtype === 'bool') return { kind: 'bool', value: v !== 0 };
    return isInt(t.data.dtype) ? intV(v) : { kind: 'float', value: v };
  };
  if (item) return scalar(0);
  let flat = 0;
  const build = (depth: number): V => {
    if (depth === t.shape.length) return scalar(flat++);
    return { kind: 'list', items: Array.from({ length: t.shape[depth] }, () => build(depth + 1)) };
  };
  return build(0);
}

/** 1-d reductions and differences with values: `torch.diff(x)`, `x.sum()`, `torch.cumsum(x, 0)`. */
export function dataReduce(name: string, x: V, a: CallArgs): TensorValue | undefined {
  const t = dataOf(x);
  if (!t) return undefined;
  const { dtype } = t.data;
  const rest = [...a.args.slice(1), ...a.kwargs.values()];
  switch (name) {
    case 'diff': {
      if (t.shape.length !== 1 || rest.length || dtype === 'bool') return undefined;
      const d: TensorValue = make([0], { dtype, lo: [], hi: [] });
      const tail = { shape: [Math.max(0, t.shape[0] - 1)], data: { dtype, lo: t.data.lo.slice(1), hi: t.data.hi.slice(1) } };
      const head = { shape: tail.shape, data: { dtype, lo: t.data.lo.slice(0, -1), hi: t.data.hi.slice(0, -1) } };
      return t.shape[0] === 0 ? d : dataBinary('-', make(tail.shape, tail.data), make(head.shape, head.data));
    }
    case 'sum': {
      if (rest.length || (!isInt(dtype) && dtype !== 'bool')) return undefined;
      // integer sums are exact; a float sum's order is the kernel's and is left alone
      let s = 0;
      for (let i = 0; i < t.data.lo.length; i++) s += t.data.lo[i];
      return make([], { dtype: 'int64', lo: [s], hi: [s] });
    }
  }
  return undefined;
}

/** `torch.pow(2.0, x)`: a Python number raised to a tensor with values. */
export function dataPow(base: V, exponent: V): TensorValue | undefined {
  return dataBinary('**', base, exponent);
}

// -------------------------------------------------------------------------------------------------
// entry points for torch.ts and the interpreter: each answers only for tensors with values (or
// their creation) and returns undefined otherwise, so the shape-only rules run as before

/** Python operators: `x * 2.5`, `w_0 * t`, `a < b`, `-x`. */
export function dataOperator(op: string, l: V, r: V): TensorValue | undefined {
  return dataBinary(op, l, r);
}

/** torch's functions (and tensor methods) named after a Python binary operator, and that operator. */
export const NAMED_BINARY: Readonly<Record<string, string>> = {
  add: '+',
  sub: '-',
  subtract: '-',
  mul: '*',
  multiply: '*',
  div: '/',
  divide: '/',
  true_divide: '/',
  floor_divide: '//',
  remainder: '%',
  pow: '**',
  lt: '<',
  le: '<=',
  gt: '>',
  ge: '>=',
  eq: '==',
  ne: '!=',
  less: '<',
  less_equal: '<=',
  greater: '>',
  greater_equal: '>=',
  not_equal: '!=',
};

function named(name: string, x: V, y: V | undefined, a: CallArgs): TensorValue | undefined {
  if (y === undefined || a.kwargs.has('alpha') || a.kwargs.has('out')) return undefined;
  const mode = a.kwargs.get('rounding_mode');
  if (mode && mode.kind !== 'none') {
    if (mode.kind !== 'str' || (name !== 'div' && name !== 'divide')) return undefined;
    if (mode.value === 'floor') return dataBinary('//', x, y);
    // 'trunc': the shape, without values
    const shapeOnly = dataBinary('/', x, y);
    if (shapeOnly) delete shapeOnly.data;
    return shapeOnly;
  }
  return dataBinary(NAMED_BINARY[name], x, y);
}

/** `torch.<name>(...)` (not torch.nn.functional): creation from Python numbers, elementwise math on values. */
export function torchDataCall(name: string, a: CallArgs): V | undefined {
  const [x, y] = a.args;
  switch (name) {
    case 'tensor':
    case 'as_tensor':
      return x && [...a.kwargs.keys()].every((k) => k === 'dtype' || k === 'device') ? tensorFromData(x, a.kwargs.get('dtype')) : undefined;
    case 'arange': {
      const nums = a.args.map((v) => (v.kind === 'float' ? v.value : intOf(v)));
      if (nums.length === 0 || nums.length > 3 || nums.some((n) => n === undefined) || [...a.kwargs.keys()].some((k) => k !== 'dtype'))
        return undefined;
      return arangeData(
        nums as number[],
        a.args.every((v) => v.kind !== 'float'),
        a.kwargs.get('dtype'),
      );
    }
    case 'diff':
      return x ? dataReduce('diff', x, { args: a.args, kwargs: a.kwargs }) : undefined;
    case 'sum':
      return x ? dataReduce('sum', x, a) : undefined;
  }
  if (has(NAMED_BINARY, name) && x) return named(name, x, y ?? a.kwargs.get('other') ?? a.kwargs.get('exponent'), a);
  if (x && a.args.length === 1 && a.kwargs.size === 0) return dataUnary(name, x);
  return undefined;
}

/** Tensor methods on a tensor with values; in-place methods forget them. */
export function tensorDataMethod(t: TensorValue, name: string, a: CallArgs): V | undefined {
  if (!t.data) return undefined;
  if (name.endsWith('_')) {
    dropData(t);
    return undefined;
  }
  switch (name) {
    case 'tolist':
      return a.args.length === 0 ? dataToPython(t, false) : undefined;
    case 'item':
      return a.args.length === 0 ? dataToPython(t, true) : undefined;
    case 'to':
    case 'type': {
      // to(torch.int64), to(dtype=...), to('cpu'), to(device): values kept where the dtype is one kept
      const dt =
        a.args.find(
          (v) => v.kind === 'lib' && /^torch\.(bool|u?int\d*|long|short|char|byte|float\d*|double|half|bfloat16|complex\d*)$/.test(v.path),
        ) ?? a.kwargs.get('dtype');
      const devicesOnly = a.args.every((v) => v === dt || v.kind === 'str' || (v.kind === 'lib' && v.path.startsWith('torch.device')));
      const out = devicesOnly ? dataUnary('to', t, dt) : undefined;
      return out ?? { kind: 'tensor', shape: [...t.shape] };
    }
    case 'half':
    case 'bfloat16':
    case 'short':
    case 'char':
    case 'byte':
      return { kind: 'tensor', shape: [...t.shape] };
    case 'sum':
    case 'diff':
      return dataReduce(name, t, { args: [t, ...a.args], kwargs: a.kwargs });
  }
  if (has(NAMED_BINARY, name)) return named(name, t, a.args[0] ?? a.kwargs.get('other') ?? a.kwargs.get('exponent'), a);
  if (a.args.length === 0 && a.kwargs.size === 0) return dataUnary(name, t);
  return undefined;
}

/**
 * `numpy.linspace(start, stop, num)` (float64, endpoint=True), computed as numpy 1.24 does in IEEE
 * double: `i * step + start` with `step = (stop - start) / (num - 1)` (`i / div * delta` when the
 * step is 0), the last element `stop`. Each step is one correctly rounded double operation, so the
 * values are numpy's exactly. Held as a float64 tensor with values (`.tolist()` gives the floats).
 */
export function numpyLinspace(a: CallArgs): TensorValue | undefined {
  const [s0, e0, n0] = a.args;
  const numV = n0 ?? a.kwargs.get('num');
  const num = numV === undefined ? 50 : numV.kind === 'int' ? intOf(numV) : undefined;
  const start = s0?.kind === 'float' ? s0.value : s0 ? intOf(s0) : undefined;
  const stop = e0?.kind === 'float' ? e0.value : e0 ? intOf(e0) : undefined;
  if (start === undefined || stop === undefined || num === undefined || num < 0 || num > MAX_DATA) return undefined;
  if ([...a.kwargs.keys()].some((k) => k !== 'num')) return undefined;
  const div = num - 1;
  const delta = stop - start;
  const values: number[] = [];
  const step = div > 0 ? delta / div : NaN;
  for (let i = 0; i < num; i++) {
    let y = i;
    if (div > 0) y = step === 0 ? (i / div) * delta : i * step;
    else y = i * delta;
    values.push(y + start);
  }
  if (num > 1) values[num - 1] = stop;
  return make([num], { dtype: 'float64', lo: values, hi: values.slice() });
}
