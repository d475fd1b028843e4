/**
 * What each `tf.layers` op does to a shape and how many parameters it has, as tfjs computes them
 * (`computeOutputShape`, `countParams`). Shapes have no batch dimension. The conv family also yields
 * the `ConvArgs` every front end reports. An op not listed here stops the propagation, explicitly.
 */
import type { ConvArgs } from '../model';
import { convOutputLengthPoly } from '../kernel/conv';
import { inputSizeFor, type AnalysisOptions } from '../options';
import { Poly } from '../poly';
import { asNumber, asPoly, dimsText, whyNot, type Dim, type Shape, type ShapeOrWhy, type Value } from './values';

/** Read access to a layer's config object; `undefined` means "not given" (the default applies). */
export interface Config {
  get(key: string): Value | undefined;
  /** keys given, in order */
  keys(): string[];
  /** why keys other than those listed may be present (an unresolved spread), if so */
  open: string | undefined;
}

export function configOf(v: Value | undefined): Config {
  if (v?.kind === 'undefined' || v?.kind === 'null') v = undefined;
  if (v?.kind === 'object') {
    const open = v.open;
    return {
      get: (k) => v.props.get(k) ?? (open ? { kind: 'unknown', why: open } : undefined),
      keys: () => [...v.props.keys()],
      open,
    };
  }
  const why = v === undefined ? 'no config object is given' : v.kind === 'unknown' ? v.why : whyNot(v, 'the config');
  return { get: () => (v === undefined ? undefined : { kind: 'unknown', why }), keys: () => [], open: v === undefined ? undefined : why };
}

export interface BuildResult {
  output: ShapeOrWhy;
  params?: Poly;
  paramsWhy?: string;
  /** the spatial size a conv assumed because its input's was not known */
  assumed?: { size: number[]; note: string };
}

type Builder = (cfg: Config, inputs: Shape[], options: AnalysisOptions) => BuildResult;

export interface OpSpec {
  /** takes a list of tensors (concatenate, add) */
  multi?: boolean;
  build: Builder;
}

const CONV_OPS: Record<string, { dims: 1 | 2 | 3; kind: 'conv' | 'separable' | 'depthwise' | 'transposed' }> = {
  conv1d: { dims: 1, kind: 'conv' },
  conv2d: { dims: 2, kind: 'conv' },
  conv3d: { dims: 3, kind: 'conv' },
  separableConv2d: { dims: 2, kind: 'separable' },
  depthwiseConv2d: { dims: 2, kind: 'depthwise' },
  conv2dTranspose: { dims: 2, kind: 'transposed' },
  conv3dTranspose: { dims: 3, kind: 'transposed' },
};

export function convOp(op: string): (typeof CONV_OPS)[string] | undefined {
  return CONV_OPS[op];
}

// ---------------------------------------------------------------------------------------------
// reading config values

const show = (v: Value | undefined) =>
  v === undefined ? 'missing' : v.kind === 'unknown' || v.kind === 'sym' ? whyNot(v, '') : `not a valid value`;

/** An int or a list of `n` ints; `dflt` when not given. Pushes a message and returns undefined otherwise. */
export function intList(cfg: Config, key: string, n: number, dflt: number | undefined, problems: string[]): number[] | undefined {
  const v = cfg.get(key);
  if (v === undefined || v.kind === 'undefined' || v.kind === 'null') {
    if (dflt !== undefined) return Array<number>(n).fill(dflt);
    problems.push(`${key} (missing)`);
    return undefined;
  }
  const one = asNumber(v);
  if (one !== undefined && Number.isInteger(one)) return Array<number>(n).fill(one);
  if (v.kind === 'array' && !v.open) {
    const xs = v.items.map(asNumber);
    if (xs.length === 1 && xs[0] !== undefined) return Array<number>(n).fill(xs[0]);
    if (xs.length === n && xs.every((x) => x !== undefined && Number.isInteger(x))) return xs as number[];
  }
  problems.push(`${key} (${v.kind === 'array' ? `not ${n} integers` : show(v)})`);
  return undefined;
}

export function paddingOf(cfg: Config, problems: string[], allowed: string[] = ['same', 'valid']): 'same' | 'valid' | undefined {
  const v = cfg.get('padding');
  if (v === undefined || v.kind === 'undefined' || v.kind === 'null') return 'valid';
  if (v.kind === 'str' && allowed.includes(v.value)) return v.value as 'same' | 'valid';
  if (v.kind === 'str') problems.push(`padding ('${v.value}' is not supported here)`);
  else problems.push(`padding (${show(v)})`);
  return undefined;
}

export function boolOf(cfg: Config, key: string, dflt: boolean, problems: string[]): boolean | undefined {
  const v = cfg.get(key);
  if (v === undefined || v.kind === 'undefined' || v.kind === 'null') return dflt;
  if (v.kind === 'bool') return v.value;
  problems.push(`${key} (${show(v)})`);
  return undefined;
}

export function channelsFirst(cfg: Config): boolean | undefined {
  const v = cfg.get('dataFormat');
  if (v === undefined || v.kind === 'undefined' || v.kind === 'null') return false;
  if (v.kind === 'str') return v.value === 'channelsFirst';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// shape arithmetic

/** tfjs `convOutputLength` ('same' -> ceil(in / s); 'valid' -> ceil((in - (k-1)*d) / s)): the kernel's one formula. */
export function convLength(input: Dim, k: number, s: number, padding: 'same' | 'valid', d = 1): Dim {
  return input === undefined ? undefined : convOutputLengthPoly(input, k, s, padding, d);
}

/** tfjs `deconvLength`: 'valid' -> in*s + max(k - s, 0); 'same' -> in*s. */
function deconvLength(input: Dim, k: number, s: number, padding: 'same' | 'valid'): Dim {
  if (input === undefined) return undefined;
  const base = input.mulConst(s);
  return padding === 'valid' ? base.add(Poly.const(Math.max(k - s, 0))) : base;
}

const product = (ds: Dim[]): Dim => ds.reduce<Dim>((a, b) => (a && b ? a.mul(b) : undefined), Poly.ONE);

/** Positions of channels and spatial dims in a shape of rank `rank`. */
function axes(rank: number, first: boolean): { channel: number; spatial: number[] } {
  const all = [...Array(rank).keys()];
  return first ? { channel: 0, spatial: all.slice(1) } : { channel: rank - 1, spatial: all.slice(0, -1) };
}

function rankProblem(op: string, want: number, shape: Shape): BuildResult | undefined {
  if (shape.dims.length === want) return undefined;
  return { output: { why: `${op} expects inputs of rank ${want + 1} (with the batch), got ${dimsText(shape.dims)}` } };
}

/** Conv hyper-parameters as the report shows them, for the conv family. */
export interface ConvConfig {
  args: ConvArgs;
  /** keys that could not be resolved, with why */
  unresolved: string[];
  channelsFirst: boolean;
  filters: Poly | undefined;
}

export function convConfig(op: string, cfg: Config, input: Shape | undefined): ConvConfig {
  const spec = CONV_OPS[op];
  const n = spec.dims;
  const problems: string[] = [];
  const first = channelsFirst(cfg);
  if (first === undefined) problems.push(`dataFormat (${show(cfg.get('dataFormat'))})`);
  const kernelSize = intList(cfg, 'kernelSize', n, undefined, problems);
  const stride = intList(cfg, 'strides', n, 1, problems);
  const padding = paddingOf(cfg, problems);
  const dilation = spec.kind === 'depthwise' ? Array<number>(n).fill(1) : intList(cfg, 'dilationRate', n, 1, problems);
  const bias = boolOf(cfg, 'useBias', true, problems);
  let filters: Poly | undefined;
  if (spec.kind !== 'depthwise') {
    const f = cfg.get('filters');
    filters = asPoly(f);
    if (!filters) problems.push(`filters (${show(f)})`);
  }
  let depthMultiplier: number | undefined;
  if (spec.kind === 'depthwise' || spec.kind === 'separable') {
    const m = intList(cfg, 'depthMultiplier', 1, 1, problems);
    depthMultiplier = m?.[0];
  }
  const ax = input ? axes(input.dims.length, !!first) : undefined;
  const cin = input && ax && input.dims.length === n + 1 ? input.dims[ax.channel] : undefined;
  const args: ConvArgs = {
    dims: n,
    inChannels: cin,
    outChannels: spec.kind === 'depthwise' ? (cin && depthMultiplier !== undefined ? cin.mulConst(depthMultiplier) : undefined) : filters,
    kernelSize,
    stride,
    padding,
    dilation,
    groups: spec.kind === 'depthwise' ? cin : Poly.ONE,
    bias,
    depthMultiplier,
  };
  return { args, unresolved: problems, channelsFirst: !!first, filters };
}

/** The spatial input a conv prices its MACs at: the shape's, or the assumed size when not known. */
function spatialInput(
  shape: Shape,
  spatial: number[],
  dims: 1 | 2 | 3,
  options: AnalysisOptions,
): { size: Dim[]; assumed?: { size: number[]; note: string } } {
  const size = spatial.map((i) => shape.dims[i]);
  if (size.every((d) => d?.constant !== undefined)) return { size };
  const fallback = inputSizeFor(options, dims);
  const note = `input ${fallback.size.join('x')} (${fallback.given ? '--input-size' : 'default'}; the model leaves it open)`;
  return { size: fallback.size.map((v) => Poly.const(v)), assumed: { size: fallback.size, note } };
}

const buildConv =
  (op: string): Builder =>
  (cfg, [x], options) => {
    const spec = CONV_OPS[op];
    const bad = rankProblem(op, spec.dims + 1, x);
    if (bad) return bad;
    const c = convConfig(op, cfg, x);
    const { kernelSize: k, stride: s, dilation: d, inChannels: cin, bias } = c.args;
    const p = c.args.padding === 'same' || c.args.padding === 'valid' ? c.args.padding : undefined;
    if (
      !k ||
      !s ||
      !p ||
      !d ||
      (spec.kind !== 'depthwise' && !c.filters) ||
      bias === undefined ||
      (c.args.depthMultiplier === undefined && (spec.kind === 'depthwise' || spec.kind === 'separable'))
    ) {
      return { output: { why: `the shape after ${op} is unknown: could not resolve ${c.unresolved.join('; ')}` } };
    }
    const ax = axes(x.dims.length, c.channelsFirst);
    const { size, assumed } = spatialInput(x, ax.spatial, spec.dims, options);
    const out = size.map((dim, i) =>
      spec.kind === 'transposed' ? deconvLength(dim, k[i], s[i], p) : convLength(dim, k[i], s[i], p, d[i]),
    );
    const kvol = k.reduce((a, b) => a * b, 1);
    const m = c.args.depthMultiplier ?? 1;
    let channels: Dim;
    let params: Poly | undefined;
    if (spec.kind === 'depthwise') {
      channels = cin?.mulConst(m);
      params = channels ? channels.mulConst(kvol).add(bias ? channels : Poly.ZERO) : undefined;
    } else {
      channels = c.filters;
      const f = c.filters!;
      const b = bias ? f : Poly.ZERO;
      if (cin)
        params =
          spec.kind === 'separable'
            ? cin
                .mulConst(m * kvol)
                .add(cin.mulConst(m).mul(f))
                .add(b)
            : cin.mul(f).mulConst(kvol).add(b);
    }
    if (out.some((o) => o?.constant !== undefined && o.constant <= 0)) {
      return {
        output: {
          why: `${op} would output an empty shape (${out.map((o) => o?.toString() ?? '?').join('x')}): its input is smaller than its kernel`,
        },
        params,
        assumed,
      };
    }
    const dims: Dim[] = [];
    dims[ax.channel] = channels;
    ax.spatial.forEach((i, j) => (dims[i] = out[j]));
    const notes = assumed ? [...x.notes, assumed.note] : x.notes;
    return { output: { shape: { dims, notes } }, params, paramsWhy: params ? undefined : 'input channels unknown', assumed };
  };

const buildPool =
  (n: 1 | 2 | 3): Builder =>
  (cfg, [x]) => {
    const bad = rankProblem(`a ${n}d pooling layer`, n + 1, x);
    if (bad) return bad;
    const problems: string[] = [];
    const pool = intList(cfg, 'poolSize', n, 2, problems);
    const strides =
      cfg.get('strides') === undefined || cfg.get('strides')?.kind === 'null' ? pool : intList(cfg, 'strides', n, undefined, problems);
    const p = paddingOf(cfg, problems);
    const first = n === 1 ? false : channelsFirst(cfg);
    if (!pool || !strides || !p || first === undefined)
      return { output: { why: `the shape after pooling is unknown: could not resolve ${problems.join('; ')}` }, params: Poly.ZERO };
    const ax = axes(n + 1, first);
    const dims = [...x.dims];
    ax.spatial.forEach((i, j) => (dims[i] = convLength(x.dims[i], pool[j], strides[j], p)));
    return { output: { shape: { dims, notes: x.notes } }, params: Poly.ZERO };
  };

const buildGlobalPool =
  (n: 1 | 2): Builder =>
  (cfg, [x]) => {
    const bad = rankProblem(`a global ${n}d pooling layer`, n + 1, x);
    if (bad) return bad;
    const first = n === 1 ? false : channelsFirst(cfg);
    if (first === undefined) return { output: { why: 'dataFormat of a global pooling layer is not known' }, params: Poly.ZERO };
    return { output: { shape: { dims: [x.dims[axes(n + 1, first).channel]], notes: x.notes } }, params: Poly.ZERO };
  };

const same: Builder = (_cfg, [x]) => ({ output: { shape: x }, params: Poly.ZERO });

/** Normalisation over `axis` (default -1): `perChannel` weights per channel. */
const buildNorm =
  (perChannel: (cfg: Config) => number | undefined): Builder =>
  (cfg, [x]) => {
    const problems: string[] = [];
    const axis = intList(cfg, 'axis', 1, -1, problems)?.[0];
    const k = perChannel(cfg);
    const rank = x.dims.length;
    const a = axis === undefined ? undefined : axis < 0 ? rank + axis : axis - 1;
    const c = a === undefined ? undefined : x.dims[a];
    return {
      output: { shape: x },
      params: c && k !== undefined ? c.mulConst(k) : undefined,
      paramsWhy: 'the normalised axis is not known',
    };
  };

const flag = (cfg: Config, key: string): number | undefined => {
  const v = cfg.get(key);
  if (v === undefined || v.kind === 'undefined' || v.kind === 'null') return 1;
  return v.kind === 'bool' ? Number(v.value) : undefined;
};

const buildDense: Builder = (cfg, [x]) => {
  const problems: string[] = [];
  const units = asPoly(cfg.get('units'));
  const bias = boolOf(cfg, 'useBias', true, problems);
  if (!units) return { output: { why: `the shape after dense is unknown: units ${show(cfg.get('units'))}` } };
  const dims = [...x.dims];
  const last = dims[dims.length - 1];
  dims[dims.length - 1] = units;
  const params = last && bias !== undefined ? last.mul(units).add(bias ? units : Poly.ZERO) : undefined;
  return { output: { shape: { dims, notes: x.notes } }, params, paramsWhy: 'its input size is not known' };
};

const buildFlatten: Builder = (_cfg, [x]) => ({ output: { shape: { dims: [product(x.dims)], notes: x.notes } }, params: Poly.ZERO });

const buildReshape: Builder = (cfg, [x]) => {
  const t = cfg.get('targetShape');
  if (t?.kind !== 'array' || t.open) return { output: { why: `reshape's targetShape is not known (${show(t)})` }, params: Poly.ZERO };
  const dims: Dim[] = t.items.map((v) => asPoly(v));
  const minus = dims.findIndex((d) => d?.constant === -1);
  if (minus >= 0) {
    const known = product(dims.filter((_, i) => i !== minus));
    const total = product(x.dims);
    dims[minus] = known && total ? total.divBy(known) : undefined;
  }
  return { output: { shape: { dims, notes: x.notes } }, params: Poly.ZERO };
};

/** zeroPadding2d / cropping2D: `int`, `[a, b]` or `[[top, bottom], [left, right]]`. */
function pairs(v: Value | undefined, dflt: number): [number, number][] | undefined {
  if (v === undefined || v.kind === 'undefined' || v.kind === 'null')
    return [
      [dflt, dflt],
      [dflt, dflt],
    ];
  const one = asNumber(v);
  if (one !== undefined)
    return [
      [one, one],
      [one, one],
    ];
  if (v.kind !== 'array' || v.items.length !== 2) return undefined;
  const out: [number, number][] = [];
  for (const item of v.items) {
    const n = asNumber(item);
    if (n !== undefined) out.push([n, n]);
    else if (item.kind === 'array' && item.items.length === 2 && item.items.every((x) => asNumber(x) !== undefined))
      out.push([asNumber(item.items[0])!, asNumber(item.items[1])!]);
    else return undefined;
  }
  return out;
}

const buildPadCrop =
  (key: 'padding' | 'cropping', sign: 1 | -1): Builder =>
  (cfg, [x]) => {
    const bad = rankProblem(key === 'padding' ? 'zeroPadding2d' : 'cropping2D', 3, x);
    if (bad) return bad;
    const p = pairs(cfg.get(key), key === 'padding' ? 1 : 0);
    const first = channelsFirst(cfg);
    if (!p || first === undefined)
      return { output: { why: `${key} of a ${key === 'padding' ? 'zeroPadding2d' : 'cropping2D'} layer is not known` }, params: Poly.ZERO };
    const ax = axes(3, first);
    const dims = [...x.dims];
    ax.spatial.forEach((i, j) => (dims[i] = dims[i]?.add(Poly.const(sign * (p[j][0] + p[j][1])))));
    return { output: { shape: { dims, notes: x.notes } }, params: Poly.ZERO };
  };

const buildUpSampling: Builder = (cfg, [x]) => {
  const bad = rankProblem('upSampling2d', 3, x);
  if (bad) return bad;
  const problems: string[] = [];
  const size = intList(cfg, 'size', 2, 2, problems);
  const first = channelsFirst(cfg);
  if (!size || first === undefined)
    return { output: { why: `upSampling2d's size is not known (${problems.join('; ')})` }, params: Poly.ZERO };
  const ax = axes(3, first);
  const dims = [...x.dims];
  ax.spatial.forEach((i, j) => (dims[i] = dims[i]?.mulConst(size[j])));
  return { output: { shape: { dims, notes: x.notes } }, params: Poly.ZERO };
};

const buildConcat: Builder = (cfg, xs) => {
  const problems: string[] = [];
  const axis = intList(cfg, 'axis', 1, -1, problems)?.[0];
  const rank = xs[0].dims.length;
  if (axis === undefined || xs.some((s) => s.dims.length !== rank))
    return { output: { why: 'concatenate: axis or ranks not known' }, params: Poly.ZERO };
  const a = axis < 0 ? rank + axis : axis - 1;
  const dims = [...xs[0].dims];
  dims[a] = xs.reduce<Dim>((sum, s) => (sum && s.dims[a] ? sum.add(s.dims[a]) : undefined), Poly.ZERO);
  return { output: { shape: { dims, notes: [...new Set(xs.flatMap((s) => s.notes))] } }, params: Poly.ZERO };
};

const buildMerge: Builder = (_cfg, xs) => ({
  output: { shape: { dims: xs[0].dims, notes: [...new Set(xs.flatMap((s) => s.notes))] } },
  params: Poly.ZERO,
});

const buildPrelu: Builder = (cfg, [x]) => {
  const shared = cfg.get('sharedAxes');
  const p = shared === undefined ? product(x.dims) : undefined;
  return { output: { shape: x }, params: p, paramsWhy: 'sharedAxes is not followed' };
};

const buildInputLayer: Builder = (_cfg, [x]) => ({ output: { shape: x }, params: Poly.ZERO });

export const OPS: Record<string, OpSpec> = {
  ...Object.fromEntries(Object.keys(CONV_OPS).map((op) => [op, { build: buildConv(op) }])),
  maxPooling1d: { build: buildPool(1) },
  maxPool1d: { build: buildPool(1) },
  averagePooling1d: { build: buildPool(1) },
  avgPool1d: { build: buildPool(1) },
  avgPooling1d: { build: buildPool(1) },
  maxPooling2d: { build: buildPool(2) },
  maxPool2d: { build: buildPool(2) },
  averagePooling2d: { build: buildPool(2) },
  avgPool2d: { build: buildPool(2) },
  avgPooling2d: { build: buildPool(2) },
  maxPooling3d: { build: buildPool(3) },
  averagePooling3d: { build: buildPool(3) },
  avgPool3d: { build: buildPool(3) },
  avgPooling3d: { build: buildPool(3) },
  globalAveragePooling1d: { build: buildGlobalPool(1) },
  globalMaxPooling1d: { build: buildGlobalPool(1) },
  globalMaxPool1d: { build: buildGlobalPool(1) },
  globalAveragePooling2d: { build: buildGlobalPool(2) },
  globalMaxPooling2d: { build: buildGlobalPool(2) },
  globalMaxPool2d: { build: buildGlobalPool(2) },
  batchNormalization: {
    build: buildNorm((cfg) => {
      const c = flag(cfg, 'center');
      const s = flag(cfg, 'scale');
      return c === undefined || s === undefined ? undefined : 2 + c + s;
    }),
  },
  layerNormalization: {
    build: buildNorm((cfg) => {
      const c = flag(cfg, 'center');
      const s = flag(cfg, 'scale');
      return c === undefined || s === undefined ? undefined : c + s;
    }),
  },
  activation: { build: same },
  dropout: { build: same },
  spatialDropout1d: { build: same },
  gaussianNoise: { build: same },
  gaussianDropout: { build: same },
  alphaDropout: { build: same },
  reLU: { build: same },
  leakyReLU: { build: same },
  elu: { build: same },
  softmax: { build: same },
  thresholdedReLU: { build: same },
  masking: { build: same },
  rescaling: { build: same },
  prelu: { build: buildPrelu },
  flatten: { build: buildFlatten },
  dense: { build: buildDense },
  reshape: { build: buildReshape },
  upSampling2d: { build: buildUpSampling },
  zeroPadding2d: { build: buildPadCrop('padding', 1) },
  cropping2D: { build: buildPadCrop('cropping', -1) },
  concatenate: { multi: true, build: buildConcat },
  add: { multi: true, build: buildMerge },
  multiply: { multi: true, build: buildMerge },
  average: { multi: true, build: buildMerge },
  maximum: { multi: true, build: buildMerge },
  minimum: { multi: true, build: buildMerge },
  inputLayer: { build: buildInputLayer },
};

/** The input shape a layer declares itself: `inputShape` or `batchInputShape` (batch dropped). */
export function declaredInput(cfg: Config): ShapeOrWhy | undefined {
  const is = cfg.get('inputShape');
  const bis = cfg.get('batchInputShape');
  const v = is !== undefined && is.kind !== 'undefined' ? is : bis;
  if (v === undefined || v.kind === 'undefined' || v.kind === 'null') return undefined;
  if (v.kind !== 'array' || v.open) return { why: `its ${v === is ? 'inputShape' : 'batchInputShape'} is not known (${show(v)})` };
  const items = v === is ? v.items : v.items.slice(1);
  return { shape: { dims: items.map((d) => (d.kind === 'null' ? undefined : asPoly(d))), notes: [] } };
}
