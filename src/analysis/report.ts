/**
 * The report every front end shows: the `report --json` contract, totals and formatting of numbers.
 * A number in a hover, an inlay hint, a CLI table and a JSON report comes from here.
 */
import { savings } from './cost';
import type { Guard, Layer, LayerShapes, ModelSummary, Padding, ShapeMismatch, SourceRef } from './model';
import { formatRatio, Poly } from './poly';
import { grouped } from './digits';

export interface Position1 {
  line: number;
  column: number;
}

export interface PairJson {
  before: number | null;
  after: number | null;
}

export interface LayerJson {
  /** notebooks only: the 1-based cell index; line and column are within that cell */
  cell?: number;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  framework: string;
  op: string;
  inChannels: number | null;
  outChannels: number | null;
  kernelSize: number[] | null;
  stride: number[] | null;
  padding: Padding | null;
  dilation: number[] | null;
  groups: number | null;
  bias: boolean | null;
  convertible: boolean;
  reason: string | null;
  params: PairJson;
  macs: PairJson;
  savings: { params: number | null; macs: number | null };
  symbolic: null | {
    inChannels: string | null;
    outChannels: string | null;
    groups: string | null;
    params: { before: string | null; after: string | null; ratio: string | null };
    macs: { before: string | null; after: string | null; ratio: string | null };
  };
  assumptions: string[];
  warnings: string[];
  /** present when shape inference ran the layer in a model of the file: its shapes, instances and calls */
  shapes?: LayerShapes;
  /** a guarded rewrite: the separable form only where `condition` holds, for `converted` of `instances` modules */
  guard?: Guard;
}

/** A model of the file (PyTorch shape inference): what it was built and run with, and its totals. */
export interface ModelJson {
  name: string;
  class: string;
  /** 1-based line of the class or factory definition (of the example, for a model built from another file) */
  line: number;
  /** notebooks only: the 1-based cell index; `line` is within that cell */
  cell?: number;
  build: string;
  inputShape: number[] | null;
  inputFrom: string;
  outputShape: unknown;
  /** every parameter of the model; `after` with every convertible conv converted */
  params: PairJson;
  /** conv MACs per sample summed over every conv instance and call; `after` likewise */
  macs: PairJson;
  savings: { params: number | null; macs: number | null };
  /** conv instances in the model, and how many have exact MACs */
  convs: number;
  exactConvs: number;
  reasons: string[];
  /** shape mismatches the run proved (PyTorch raises there under `inputShape`); absent when none */
  mismatches?: MismatchJson[];
}

/** A place in source, 1-based; `file` only when it is not the reported file (an imported module). */
export interface PlaceJson {
  file?: string;
  cell?: number;
  line: number;
  column: number;
}

/** A proven shape mismatch (model.ts ShapeMismatch): where the failing call is, and the calls that led to it. */
export interface MismatchJson extends PlaceJson {
  /** `conv2 expects 256 input channels, got 64` */
  message: string;
  check: string;
  what: string;
  expected: number | number[];
  got: number | number[];
  /** the failing call as written */
  code: string;
  /** from the model's forward down to the failing call, outermost first */
  chain: (PlaceJson & { call: string; enters: string })[];
  /** where the failing module was constructed */
  built: PlaceJson | null;
}

type ToPosition = (offset: number) => { line: number; column: number; cell?: number };

function placeJson(r: SourceRef, offsetToPosition: ToPosition): PlaceJson {
  if (r.file) return { file: r.file, line: r.line + 1, column: r.column + 1 };
  const p = offsetToPosition(r.start);
  return { ...(p.cell !== undefined ? { cell: p.cell } : {}), line: p.line + 1, column: p.column + 1 };
}

export function mismatchJson(m: ShapeMismatch, offsetToPosition: ToPosition): MismatchJson {
  return {
    ...placeJson(m.at, offsetToPosition),
    message: m.message,
    check: m.check,
    what: m.what,
    expected: m.expected,
    got: m.got,
    code: m.code,
    chain: m.chain.map((c) => ({ ...placeJson(c.at, offsetToPosition), call: c.call, enters: c.enters })),
    built: m.built ? placeJson(m.built, offsetToPosition) : null,
  };
}

/** `Net.forward (line 15) → \`self.layer3(x)\` (line 64) → ...`: a mismatch's chain in one line. */
export function chainText(m: MismatchJson): string {
  const where = (p: PlaceJson) => `${p.file ? `${p.file}:` : ''}${p.cell ? `cell ${p.cell}:` : ''}line ${p.line}`;
  return m.chain.map((c, i) => (i === 0 ? `${c.enters} (${where(c)})` : `\`${c.call}\` (${where(c)}) → ${c.enters}`)).join(' → ');
}

export function modelJson(
  m: ModelSummary,
  offsetToPosition: (offset: number) => { line: number; column: number; cell?: number },
): ModelJson {
  const ratio = (a: number | null, b: number | null) =>
    a !== null && b !== null && b !== 0 ? Math.round((1 - a / b) * 10000) / 10000 : null;
  const at = offsetToPosition(m.start);
  return {
    name: m.name,
    class: m.className,
    line: at.line + 1,
    ...(at.cell !== undefined ? { cell: at.cell } : {}),
    build: m.build,
    inputShape: m.input,
    inputFrom: m.inputFrom,
    outputShape: m.output,
    params: m.params,
    macs: m.macs,
    savings: { params: ratio(m.params.after, m.params.before), macs: ratio(m.macs.after, m.macs.before) },
    convs: m.convs,
    exactConvs: m.exactConvs,
    reasons: m.reasons,
    ...(m.mismatches?.length ? { mismatches: m.mismatches.map((x) => mismatchJson(x, offsetToPosition)) } : {}),
  };
}

export interface TotalsJson {
  layers: number;
  convertible: number;
  params: PairJson;
  macs: PairJson;
  /** layers left out of the sums because a number stayed symbolic */
  unresolved: number;
}

const n = (p: Poly | undefined): number | null => p?.constant ?? null;
const s = (p: Poly | undefined): string | null => (p ? p.toString() : null);

/** `offsetToPosition` gives 0-based line/column; the JSON is 1-based. */
export function layerJson(layer: Layer, offsetToPosition: (offset: number) => { line: number; column: number; cell?: number }): LayerJson {
  const start = offsetToPosition(layer.span.start);
  const end = offsetToPosition(layer.span.end);
  const { args, cost } = layer;
  const symbolicNow = [
    args.inChannels,
    args.outChannels,
    args.groups,
    cost.params.before,
    cost.params.after,
    cost.macs.before,
    cost.macs.after,
  ].some((p) => p && !p.isConstant);
  const ratio = (a: Poly | undefined, b: Poly | undefined) => (a && b ? formatRatio(a, b) : null);
  return {
    ...(start.cell !== undefined ? { cell: start.cell } : {}),
    line: start.line + 1,
    column: start.column + 1,
    endLine: end.line + 1,
    endColumn: end.column + 1,
    framework: layer.framework,
    op: layer.op,
    inChannels: n(args.inChannels),
    outChannels: n(args.outChannels),
    kernelSize: args.kernelSize ?? null,
    stride: args.stride ?? null,
    padding: args.padding ?? null,
    dilation: args.dilation ?? null,
    groups: n(args.groups),
    bias: args.bias ?? null,
    convertible: layer.convertible,
    reason: layer.reason ?? null,
    params: { before: n(cost.params.before), after: n(cost.params.after) },
    macs: { before: n(cost.macs.before), after: n(cost.macs.after) },
    savings: {
      params: savings(cost.params.before, cost.params.after) ?? null,
      macs: savings(cost.macs.before, cost.macs.after) ?? null,
    },
    symbolic: symbolicNow
      ? {
          inChannels: s(args.inChannels),
          outChannels: s(args.outChannels),
          groups: args.groups?.isConstant ? null : s(args.groups),
          params: { before: s(cost.params.before), after: s(cost.params.after), ratio: ratio(cost.params.after, cost.params.before) },
          macs: { before: s(cost.macs.before), after: s(cost.macs.after), ratio: ratio(cost.macs.after, cost.macs.before) },
        }
      : null,
    assumptions: layer.assumptions,
    warnings: layer.warnings,
    ...(layer.shapes ? { shapes: layer.shapes } : {}),
    ...(layer.guard ? { guard: layer.guard } : {}),
  };
}

/** Sums over layers; "after" is the model with every convertible layer converted (no layers: the zeros a sum starts from). */
export function totals(layers: readonly LayerJson[]): TotalsJson {
  const t: TotalsJson = {
    layers: layers.length,
    convertible: 0,
    params: { before: 0, after: 0 },
    macs: { before: 0, after: 0 },
    unresolved: 0,
  };
  for (const l of layers) {
    if (l.convertible) t.convertible++;
    const pb = l.params.before;
    const mb = l.macs.before;
    const pa = l.convertible ? l.params.after : pb;
    const ma = l.convertible ? l.macs.after : mb;
    if (pb === null || pa === null || mb === null || ma === null) {
      t.unresolved++;
      continue;
    }
    t.params.before! += pb;
    t.params.after! += pa;
    t.macs.before! += mb;
    t.macs.after! += ma;
  }
  return t;
}

export function addTotals(into: TotalsJson, t: TotalsJson): void {
  into.layers += t.layers;
  into.convertible += t.convertible;
  into.unresolved += t.unresolved;
  for (const k of ['params', 'macs'] as const) {
    into[k].before = (into[k].before ?? 0) + (t[k].before ?? 0);
    into[k].after = (into[k].after ?? 0) + (t[k].after ?? 0);
  }
}

/** FLOPs = 2 x MACs (the `torch.utils.flop_counter` convention). */
export const FLOPS_PER_MAC = 2;

/** 1234567 -> "1.23M" (`digits` after the point: 2 for G/M, 1 for K by default); small numbers stay exact. */
export function compact(v: number, digits?: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(digits ?? 2)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(digits ?? 2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(digits ?? 1)}K`;
  return String(v);
}

/** 0.8869 -> "−88.7%" (a saving shown as a reduction); `digits` after the point, 1 by default. */
export function percentDrop(fraction: number, digits = 1): string {
  return `${fraction >= 0 ? '−' : '+'}${Math.abs(fraction * 100).toFixed(digits)}%`;
}

/** The short label of an inlay hint: `separable: −88.7% params · −88.7% MACs`. */
export function savingsLabel(l: LayerJson, unit: 'MACs' | 'FLOPs' = 'MACs'): string {
  const p = l.savings.params;
  const m = l.savings.macs;
  if (p !== null && m !== null) return `separable: ${percentDrop(p)} params · ${percentDrop(m)} ${unit}`;
  if (l.symbolic?.params.ratio) return `separable: params × ${l.symbolic.params.ratio}`;
  return 'separable';
}

export function formatCount(v: number | null, symbolic: string | null | undefined): string {
  if (v !== null) return grouped(v);
  return symbolic ?? '?';
}
