/** torch.nn modules called: each module's output shape from its input (conv MACs through the one cost function). */
import type { Node } from 'web-tree-sitter';
import { convCost } from '../../../cost';
import { convOutputSize } from '../../../kernel/conv';
import { Poly } from '../../../poly';
import type { Host } from '../host';
import type { Check } from '../mismatch';
import {
  concrete,
  describe,
  dimValue,
  intOf,
  intV,
  NONE,
  numOf,
  shapeText,
  tensor,
  type CallArgs,
  type Dim,
  type ModuleObj,
  type NativeModule,
  type TensorValue,
  type Unknown,
  type V,
} from '../values';

import { ELEMENTWISE_MODULES, family, ruleFor } from './args';
import { type ConvData } from './modules';

// -----------------------------------------------------------------------------------------------
// forward rules

export const CHANNELS_UNKNOWN = "the input's channel count is not known here: give the input shape with `# sepconv: input=1x3x224x224`";

function inputOf(interp: Host, a: CallArgs, at: Node, what: string): TensorValue | Unknown {
  const x = a.args[0] ?? a.kwargs.get('input') ?? a.kwargs.get('query');
  if (!x) return interp.fail(at, `${what} needs an input`) as Unknown;
  if (x.kind === 'unknown') return x;
  if (x.kind !== 'tensor') return interp.fail(at, `${what} of ${describe(x)}`) as Unknown;
  return x;
}

/** Fixes the input's open channel count to `n`, or checks it; a message when it does not fit. */
export function bindDim(d: Dim, n: number, what: string): string | undefined {
  if (typeof d === 'number') return d === n ? undefined : `${what} expects ${n}, got ${d}`;
  if (d.value === undefined) {
    d.value = n;
    return undefined;
  }
  return d.value === n ? undefined : `${what} expects ${n}, got ${d.value}`;
}

/**
 * `bindDim` on a module's input; when it does not fit (both sides are then known), the failure
 * `${prefix}${message}` with the mismatch kept (Host.mismatch).
 */
function checkDim(interp: Host, at: Node, m: ModuleObj, d: Dim, n: number, param: string, check: Check, prefix: string): V | undefined {
  const err = bindDim(d, n, param);
  if (!err) return undefined;
  return interp.mismatch(at, { check, module: m, expected: n, got: dimValue(d)! }, `${prefix}${err}`);
}

/** What a forward rule gets: the module, its native description, its tensor input, the call. */
interface ForwardCall {
  interp: Host;
  m: ModuleObj;
  n: NativeModule;
  type: string;
  x: TensorValue;
  a: CallArgs;
  at: Node;
  /** an unknown value: "nn.`type`: `detail`" */
  fail: (detail: string) => V;
  /** binds an input dimension to the module's `param` (checkDim); a kept mismatch when it does not fit */
  check: (d: Dim, n: number, param: Check) => V | undefined;
}

/** A forward rule: the module's output from its input (a pure builder, through the Host only). */
type ForwardRule = (c: ForwardCall) => V;

/** A pool's output, with the indices as a second tensor when the module returns them. */
const withIndices = (out: V, indices: boolean): V =>
  indices && out.kind === 'tensor' ? { kind: 'tuple', items: [out, tensor(out.shape)] } : out;

const linear: ForwardRule = ({ n, x, fail, check }) => {
  const last = x.shape[x.shape.length - 1];
  if (last === undefined) return fail('a 0-d input');
  let inF = n.data.inF as number | undefined;
  if (inF === undefined) {
    inF = dimValue(last);
    if (inF === undefined) return fail(CHANNELS_UNKNOWN);
    n.data.inF = inF;
    n.params = inF * (n.data.outF as number) + (n.data.bias ? (n.data.outF as number) : 0);
  }
  const bad = check(last, inF, 'in_features');
  if (bad) return bad;
  return tensor([...x.shape.slice(0, -1), n.data.outF as number]);
};

const recurrent: ForwardRule = ({ n, x, fail, check }) => {
  const d = n.data as { input: number; hidden: number; out: number; layers: number; dirs: number; batchFirst: boolean; lstm: boolean };
  const batched = x.shape.length === 3;
  if (!batched && x.shape.length !== 2) return fail(`expected a 2-d or 3-d input, got ${shapeText(x.shape)}`);
  const bad = check(x.shape[x.shape.length - 1], d.input, 'input_size');
  if (bad) return bad;
  const output = tensor([...x.shape.slice(0, -1), d.dirs * d.out]);
  const nb = batched ? [x.shape[d.batchFirst ? 0 : 1]] : [];
  const h = tensor([d.dirs * d.layers, ...nb, d.out]);
  return { kind: 'tuple', items: [output, d.lstm ? { kind: 'tuple', items: [h, tensor([d.dirs * d.layers, ...nb, d.hidden])] } : h] };
};

/** torch.nn modules' forwards by class name (after the conv rule). */
const FORWARDS: Record<string, ForwardRule> = {
  ...family([...ELEMENTWISE_MODULES, 'PReLU'], ({ x }) => tensor(x.shape)),
  ...family(['Linear', 'LazyLinear'], linear),
  Bilinear: ({ n, x }) => tensor([...x.shape.slice(0, -1), n.data.o as number]),
  Embedding: ({ n, x }) => tensor([...x.shape, n.data.dim as number]),
  MultiheadAttention: ({ interp, n, x, a, fail, check }) => {
    const last = x.shape[x.shape.length - 1];
    if (last === undefined || (x.shape.length !== 2 && x.shape.length !== 3)) return fail('expected a 2-d or 3-d query');
    const bad = check(last, n.data.e as number, 'embed_dim');
    if (bad) return bad;
    const need = a.kwargs.get('need_weights') ?? a.args[4];
    const weights = need ? interp.truthy(need) : true;
    if (weights === undefined) return fail('need_weights cannot be decided');
    const key = a.args[1] ?? a.kwargs.get('key');
    const batched = x.shape.length === 3;
    const seq = (t: Dim[]) => (batched ? t[(n.data.batchFirst as boolean) ? 1 : 0] : t[0]);
    const batch = batched ? [x.shape[(n.data.batchFirst as boolean) ? 0 : 1]] : [];
    const s = key?.kind === 'tensor' ? seq(key.shape) : seq(x.shape);
    return { kind: 'tuple', items: [tensor(x.shape), weights ? tensor([...batch, seq(x.shape), s]) : NONE] };
  },
  ...family(['RNN', 'LSTM', 'GRU'], recurrent),
  GLU: ({ interp, n, x, at }) => glu(interp, x, n.data.dim as number, at),
  Flatten: ({ interp, n, x, at }) => flatten(interp, x, n.data.start as number, n.data.end as number, at),
  Unflatten: ({ n, x, fail }) => {
    const dim = normDim(n.data.dim as number, x.shape.length);
    const sizes = n.data.sizes as number[];
    if (dim === undefined) return fail('dim out of range');
    const whole = dimValue(x.shape[dim]);
    const prod = sizes.reduce((p, v) => (v === -1 ? p : p * v), 1);
    if (whole === undefined) return fail(CHANNELS_UNKNOWN);
    const filled = sizes.map((v) => (v === -1 ? whole / prod : v));
    if (filled.reduce((p, v) => p * v, 1) !== whole) return fail('sizes do not multiply to the dimension');
    return tensor([...x.shape.slice(0, dim), ...filled, ...x.shape.slice(dim + 1)]);
  },
  ...family(['Upsample', 'UpsamplingNearest2d', 'UpsamplingBilinear2d'], ({ interp, n, x, at }) =>
    interpolate(interp, x, (n.data.size as V | undefined) ?? NONE, (n.data.scale as V | undefined) ?? NONE, at),
  ),
  ...family(['PixelShuffle', 'PixelUnshuffle'], ({ interp, n, type, x, at }) =>
    pixelShuffle(interp, x, n.data.r as number, type === 'PixelShuffle', at),
  ),
};

/**
 * The same for families matched by a pattern, tried in order after the names. The one name above
 * that a pattern also matches (LocalResponseNorm, elementwise, against /Norm/) was decided before
 * the norms in the if-chain these tables replace too, so every module keeps its rule.
 */
const FORWARD_PATTERNS: [RegExp, ForwardRule][] = [
  [/Norm/, norm],
  [
    /^(Max|Avg)Pool[123]d$/,
    ({ interp, n, x, at }) => {
      const d = n.data as { dims: number; k: number[]; s: number[]; p: number[]; d: number[]; ceil: boolean; indices: boolean };
      return withIndices(pool(interp, x, d.dims, d.k, d.s, d.p, d.d, d.ceil, at), d.indices);
    },
  ],
  [
    /^Adaptive(Max|Avg)Pool[123]d$/,
    ({ interp, n, x, at }) => {
      const d = n.data as { dims: number; size: (number | null)[]; indices: boolean };
      return withIndices(adaptivePool(interp, x, d.dims, d.size, at), d.indices);
    },
  ],
  [/Pad[123]d$/, ({ interp, n, x, at }) => padTensor(interp, x, n.data.pad as number[], at)],
];

/** LayerNorm, the batch, instance and group norms: the input's shape, its channels bound (a lazy norm counts its parameters here). */
function norm({ n, type, x, fail, check }: ForwardCall): V {
  const c = n.data.channels as number | undefined;
  if (type === 'LayerNorm') {
    const ns = n.data.normalized as number[];
    const tail = x.shape.slice(x.shape.length - ns.length);
    for (let i = 0; i < ns.length; i++) {
      if (tail[i] === undefined) return fail('input too small');
      const bad = check(tail[i], ns[i], 'normalized_shape');
      if (bad) return bad;
    }
    return tensor(x.shape);
  }
  const dims = n.data.dims as number | undefined;
  if (dims !== undefined) {
    const ok =
      type.startsWith('BatchNorm1d') || type === 'LazyBatchNorm1d'
        ? x.shape.length === 2 || x.shape.length === 3
        : x.shape.length === dims + 2 || (n.data.instance === true && x.shape.length === dims + 1);
    if (!ok) return fail(`expected a ${dims + 2}-d input, got ${shapeText(x.shape)}`);
  }
  if (c !== undefined && !(n.data.instance === true && !(n.attrs.get('affine') as { value?: boolean } | undefined)?.value)) {
    const ci = n.data.instance === true && dims !== undefined && x.shape.length === dims + 1 ? 0 : 1;
    const bad = check(x.shape[ci], c, 'num_features');
    if (bad) return bad;
  }
  if (c === undefined) {
    const cv = dimValue(x.shape[1]);
    if (cv === undefined) return fail(CHANNELS_UNKNOWN);
    const affine = (n.attrs.get('affine') as { value?: boolean } | undefined)?.value ?? !type.includes('Instance');
    n.params = affine ? 2 * cv : 0;
  }
  return tensor(x.shape);
}

export function forwardNative(interp: Host, m: ModuleObj, a: CallArgs, at: Node): V {
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
  const rule = ruleFor(FORWARDS, type) ?? FORWARD_PATTERNS.find(([re]) => re.test(type))?.[1];
  if (!rule) return interp.opaque(at, a, `nn.${type} is not modelled`);
  const prefix = `nn.${type}: `;
  return rule({
    interp,
    m,
    n,
    type,
    x,
    a,
    at,
    fail: (detail) => interp.fail(at, prefix + detail),
    check: (d, want, param) => checkDim(interp, at, m, d, want, param, param, prefix),
  });
}

function convForward(interp: Host, m: ModuleObj, c: ConvData, x: TensorValue, at: Node, outputSize?: V): V {
  const record = (why: string, mismatch?: V): V => {
    const v = mismatch ?? interp.fail(at, why);
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
    if (err) return record(err, interp.mismatch(at, { check: 'in_channels', module: m, expected: cin, got: dimValue(x.shape[ci])! }, err));
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
      if (wanted.length !== c.dims || wanted.some((v) => v === undefined))
        return record(outputSize.kind === 'unknown' ? outputSize.why : 'output_size is not known');
      if (wanted.some((v, i) => v! < smallest[i] || v! >= smallest[i] + Math.max(s[i], d[i])))
        return record(`output_size ${JSON.stringify(wanted)} is not reachable from this input`);
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

export function normDim(d: number, rank: number): number | undefined {
  const r = Math.max(rank, 1);
  const v = d < 0 ? d + r : d;
  return v >= 0 && v < r ? v : undefined;
}

function spatialOf(interp: Host, x: TensorValue, dims: number, at: Node, what: string): { lead: Dim[]; spatial: number[] } | V {
  const rank = x.shape.length;
  if (rank !== dims + 2 && rank !== dims + 1) return interp.fail(at, `${what}: expected a ${dims + 2}-d input, got ${shapeText(x.shape)}`);
  const spatial = concrete(x.shape.slice(rank - dims));
  if (!spatial) return interp.fail(at, `${what}: spatial size unknown`);
  return { lead: x.shape.slice(0, rank - dims), spatial };
}

/** PyTorch's pooling_output_shape. */
export function pool(
  interp: Host,
  x: TensorValue,
  dims: number,
  k: number[],
  s: number[],
  p: number[],
  d: number[],
  ceil: boolean,
  at: Node,
): V {
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

export function adaptivePool(interp: Host, x: TensorValue, dims: number, size: (number | null)[], at: Node): V {
  const sp = spatialOf(interp, x, dims, at, 'adaptive pooling');
  if (!('spatial' in sp)) return sp;
  return tensor([...sp.lead, ...sp.spatial.map((v, i) => size[i] ?? v)]);
}

export function interpolate(interp: Host, x: TensorValue, size: V, scale: V, at: Node): V {
  const dims = x.shape.length - 2;
  if (dims < 1 || dims > 3) return interp.fail(at, `interpolate: expected a 3-d to 5-d input, got ${shapeText(x.shape)}`);
  const spatial = concrete(x.shape.slice(2));
  if (!spatial) return interp.fail(at, 'interpolate: spatial size unknown');
  if (size.kind !== 'none') {
    if (size.kind === 'unknown') return size;
    const out =
      intOf(size) !== undefined
        ? Array<number>(dims).fill(intOf(size)!)
        : size.kind === 'tuple' || size.kind === 'list'
          ? size.items.map(intOf)
          : undefined;
    if (!out || out.length !== dims || out.some((v) => v === undefined)) return interp.fail(at, 'interpolate: size is not known');
    return tensor([x.shape[0], x.shape[1], ...(out as number[])]);
  }
  if (scale.kind === 'none') return interp.fail(at, 'interpolate: neither size nor scale_factor');
  if (scale.kind === 'unknown') return scale;
  const factors =
    numOf(scale) !== undefined
      ? Array<number>(dims).fill(numOf(scale)!)
      : scale.kind === 'tuple' || scale.kind === 'list'
        ? scale.items.map(numOf)
        : undefined;
  if (!factors || factors.length !== dims || factors.some((v) => v === undefined))
    return interp.fail(at, 'interpolate: scale_factor is not known');
  return tensor([x.shape[0], x.shape[1], ...spatial.map((v, i) => Math.floor(v * factors[i]!))]);
}

export function pixelShuffle(interp: Host, x: TensorValue, r: number, up: boolean, at: Node): V {
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
export function padTensor(interp: Host, x: TensorValue, pad: number[], at: Node): V {
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

export function flatten(interp: Host, x: TensorValue, start: number, end: number, at: Node): V {
  if (x.shape.length === 0) return tensor([1]);
  const s = normDim(start, x.shape.length);
  const e = normDim(end, x.shape.length);
  if (s === undefined || e === undefined || s > e) return interp.fail(at, 'flatten: dims out of range');
  const mid = concrete(x.shape.slice(s, e + 1));
  if (!mid) return interp.fail(at, `flatten: ${CHANNELS_UNKNOWN}`);
  return tensor([...x.shape.slice(0, s), mid.reduce((p, v) => p * v, 1), ...x.shape.slice(e + 1)]);
}

export function glu(interp: Host, x: TensorValue, dim: number, at: Node): V {
  const d = normDim(dim, x.shape.length);
  const v = d === undefined ? undefined : dimValue(x.shape[d]);
  if (d === undefined || v === undefined || v % 2 !== 0) return interp.fail(at, 'glu: the dimension must be even');
  const shape = [...x.shape];
  shape[d] = v / 2;
  return tensor(shape);
}
