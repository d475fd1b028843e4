/**
 * Converting a checkpoint with the code: which tensors belong to the converted convs, the rank K
 * of each call site, and the new tensors.
 *
 * Each converted conv module is a `ConvTarget`: its state-dict path (`layer1.0.conv1`, from shape
 * inference's model instances, or a key found by attribute name) and its weight layout. A
 * candidate (one model of the code) fits a checkpoint when every target's `.weight` (and `.bias`
 * exactly when the conv has one) is there under one common prefix (`module.`, `model.`) with the
 * shape the code gives it. Keys map through the rewrite:
 *   `conv.weight` -> `conv.0.weight` (depthwise) + `conv.1.weight` (pointwise), `conv.bias` -> `conv.1.bias`;
 *   with `--norm bn`, `conv.1.*` is an identity BatchNorm and the pointwise conv is `conv.2`.
 * Every other key is copied untouched.
 */
import { convCost } from '../analysis/cost';
import type { ConvArgs } from '../analysis/model';
import type { Checkpoint, InTensor, OutTensor } from './checkpoint';
import { isFloat } from './dtype';
import { energyAt, factor, fullRank, rankForEnergy, spectrum, type ConvShape, type Spectrum } from './factor';

export interface ConvTarget {
  /** the module path without prefix (`layer1.0.conv1`); `absolute` when it is a full key stem already */
  path: string;
  absolute?: boolean;
  shape: ConvShape;
  bias: boolean;
  /** the call site it comes from: K is chosen per site, as the code has one expression per site */
  site: string;
  /** why its tensors cannot be looked up (a problem of every fit) */
  unresolved?: string;
  /** the code's resolved arguments (params and MACs at K come from the one cost function) */
  args?: ConvArgs;
  /** the spatial input size of each call in the model, when known (MACs) */
  inputs?: number[][] | null;
}

/** One way the code's converted convs could lie in the checkpoint (one model of the code). */
export interface Candidate {
  name: string;
  targets: ConvTarget[];
}

export type RankChoice = { multiplier: number } | { energy: number };

export interface ConvertOptions {
  rank: RankChoice;
  norm: 'none' | 'bn' | 'bn-relu';
  /** BatchNorm's eps (PyTorch's default 1e-5) */
  eps?: number;
  /**
   * The spectrum of a weight in a layout, when the caller keeps them (the language server computes
   * them once per checkpoint in a thread of their own); undefined: computed here from the values
   */
  spectrumOf?: (tensor: InTensor, shape: ConvShape) => Spectrum | undefined;
}

/** What one converted module became. */
export interface ModuleResult {
  key: string;
  site: string;
  k: number;
  fullRank: number;
  energy: number;
  error: number;
  params: { before: number; after: number } | null;
  /** per sample over its calls (bias adds not counted), when the model's shapes are known */
  macs: { before: number; after: number } | null;
}

export interface CheckpointPlan {
  candidate: string;
  prefix: string;
  /** K per call site */
  ranks: Map<string, number>;
  modules: ModuleResult[];
  replace: Map<string, OutTensor[]>;
}

export class WeightsError extends Error {}

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

interface Fit {
  prefix: string;
  problems: string[];
}

function expectedShape(t: ConvTarget): number[] {
  return [t.shape.cout, t.shape.cinPerGroup, ...t.shape.kernel];
}

/** The prefix under which every target is found with its shape, or what is wrong with the best one. */
function fit(c: Candidate, tensors: Map<string, InTensor>): Fit {
  const rel = c.targets.filter((t) => !t.absolute);
  const prefixes = new Set<string>(['']);
  for (const t of rel.slice(0, 1)) {
    const tail = `${t.path}.weight`;
    for (const k of tensors.keys()) if (k.endsWith(`.${tail}`)) prefixes.add(k.slice(0, k.length - tail.length));
  }
  let best: Fit | undefined;
  for (const prefix of prefixes) {
    const problems: string[] = [];
    for (const t of c.targets) {
      if (t.unresolved) {
        problems.push(t.unresolved);
        continue;
      }
      const stem = t.absolute ? t.path : prefix + t.path;
      const w = tensors.get(`${stem}.weight`);
      if (!w) problems.push(`${stem}.weight is missing`);
      else if (!sameShape(w.shape, expectedShape(t)))
        problems.push(`${stem}.weight has shape [${w.shape.join(', ')}], the code builds [${expectedShape(t).join(', ')}]`);
      else if (!isFloat(w.dtype)) problems.push(`${stem}.weight is ${w.dtype}, not floating point`);
      const b = tensors.get(`${stem}.bias`);
      if (t.bias && !b) problems.push(`${stem}.bias is missing`);
      else if (!t.bias && b) problems.push(`${stem}.bias is in the checkpoint but the code's conv has bias=False`);
      else if (b && !sameShape(b.shape, [t.shape.cout]))
        problems.push(`${stem}.bias has shape [${b.shape.join(', ')}], not [${t.shape.cout}]`);
    }
    if (!best || problems.length < best.problems.length) best = { prefix, problems };
    if (problems.length === 0) break;
  }
  return best!;
}

/**
 * Picks the candidate the checkpoint holds, factors its convs and returns the new tensors (computed
 * when written). Throws `WeightsError` with every problem when no candidate fits or several do
 * differently.
 */
export function planCheckpoint(ckpt: Checkpoint, candidates: Candidate[], opts: ConvertOptions): CheckpointPlan {
  if (opts.norm === 'bn-relu')
    throw new WeightsError(
      '--norm bn-relu cannot carry the weights: the ReLU between the depthwise and pointwise convs changes what the layer computes. Use --norm none or bn',
    );
  const usable = candidates.filter((c) => c.targets.length > 0);
  if (usable.length === 0)
    throw new WeightsError(
      'no converted convolution of the code is built by a model SepConv could run or found by name; nothing to convert in the checkpoint',
    );
  const fits = usable.map((c) => ({ c, f: fit(c, ckpt.tensors) }));
  const good = fits.filter((x) => x.f.problems.length === 0);
  if (good.length === 0) {
    const closest = fits.sort((a, b) => a.f.problems.length - b.f.problems.length)[0];
    const shown = closest.f.problems.slice(0, 8);
    throw new WeightsError(
      `the checkpoint does not match the converted code${usable.length > 1 ? ` (closest model: ${closest.c.name})` : ''}: ${shown.join('; ')}${closest.f.problems.length > shown.length ? `; and ${closest.f.problems.length - shown.length} more` : ''}. Nothing written`,
    );
  }
  // models that fit: the one with the most converted modules; others must be the same keys
  good.sort((a, b) => b.c.targets.length - a.c.targets.length);
  const chosen = good[0];
  const keysOf = (x: (typeof good)[number]) =>
    x.c.targets
      .map((t) => (t.absolute ? t.path : x.f.prefix + t.path))
      .sort()
      .join('\n');
  const rivals = good.filter((x) => x.c.targets.length === chosen.c.targets.length && keysOf(x) !== keysOf(chosen));
  if (rivals.length)
    throw new WeightsError(
      `the checkpoint fits several models of the code differently (${[chosen, ...rivals].map((x) => x.c.name).join(', ')}); convert one model's files at a time`,
    );
  const prefix = chosen.f.prefix;
  const stemOf = (t: ConvTarget) => (t.absolute ? t.path : prefix + t.path);
  const seen = new Map<string, ConvTarget>();
  for (const t of chosen.c.targets) {
    const stem = stemOf(t);
    if (seen.has(stem))
      throw new WeightsError(
        `${stem} is claimed by two converted convolutions (sites ${seen.get(stem)!.site} and ${t.site}); nothing written`,
      );
    seen.set(stem, t);
  }

  // pass 1: spectra, and K per site
  const spectra = new Map<ConvTarget, Spectrum>();
  for (const t of chosen.c.targets) {
    const w = ckpt.tensors.get(`${stemOf(t)}.weight`)!;
    spectra.set(t, opts.spectrumOf?.(w, t.shape) ?? spectrum(w.values(), t.shape));
  }
  const ranks = new Map<string, number>();
  for (const t of chosen.c.targets) {
    const k = 'multiplier' in opts.rank ? opts.rank.multiplier : rankForEnergy(spectra.get(t)!, opts.rank.energy);
    ranks.set(t.site, Math.max(ranks.get(t.site) ?? 1, k));
  }

  // pass 2 (when written): the factors, one module at a time
  const eps = opts.eps ?? 1e-5;
  const replace = new Map<string, OutTensor[]>();
  const modules: ModuleResult[] = [];
  for (const t of chosen.c.targets) {
    const stem = stemOf(t);
    const w = ckpt.tensors.get(`${stem}.weight`)!;
    const s = spectra.get(t)!;
    const k = ranks.get(t.site)!;
    const cin = t.shape.cinPerGroup * t.shape.groups;
    const mid = cin * k;
    const pw = opts.norm === 'bn' ? 2 : 1;
    let factors: ReturnType<typeof factor> | undefined;
    const get = () => (factors ??= factor(w.values(), s, k));
    const ones = (v: number) => () => new Float64Array(mid).fill(v);
    const out: OutTensor[] = [
      { key: `${stem}.0.weight`, dtype: w.dtype, shape: [mid, 1, ...t.shape.kernel], values: () => get().depthwise },
    ];
    if (opts.norm === 'bn') {
      out.push(
        { key: `${stem}.1.weight`, dtype: w.dtype, shape: [mid], values: ones(1) },
        { key: `${stem}.1.bias`, dtype: w.dtype, shape: [mid], values: ones(0) },
        { key: `${stem}.1.running_mean`, dtype: w.dtype, shape: [mid], values: ones(0) },
        { key: `${stem}.1.running_var`, dtype: w.dtype, shape: [mid], values: ones(1 - eps) },
        { key: `${stem}.1.num_batches_tracked`, dtype: 'I64', shape: [], values: () => new Float64Array(1) },
      );
    }
    out.push({
      key: `${stem}.${pw}.weight`,
      dtype: w.dtype,
      shape: [t.shape.cout, mid / t.shape.groups, ...t.shape.kernel.map(() => 1)],
      values: () => {
        const p = get().pointwise;
        factors = undefined;
        return p;
      },
    });
    replace.set(`${stem}.weight`, out);
    if (t.bias) replace.set(`${stem}.bias`, [{ key: `${stem}.${pw}.bias`, from: ckpt.tensors.get(`${stem}.bias`)! }]);
    const e = energyAt(s, k);
    const costAt = (input: number[] | undefined) =>
      t.args ? convCost(t.args, 'conv', input, { depthMultiplier: k, norm: opts.norm }) : undefined;
    const pair = (c: ReturnType<typeof costAt>, f: 'params' | 'macs') => {
      const before = c?.[f].before?.constant;
      const after = c?.[f].after?.constant;
      return before !== undefined && after !== undefined ? { before, after } : null;
    };
    let macs: ModuleResult['macs'] = t.inputs ? { before: 0, after: 0 } : null;
    for (const input of t.inputs ?? []) {
      const m = pair(costAt(input), 'macs');
      macs = m && macs ? { before: macs.before + m.before, after: macs.after + m.after } : null;
    }
    modules.push({
      key: stem,
      site: t.site,
      k,
      fullRank: fullRank(t.shape),
      energy: e.energy,
      error: e.error,
      params: pair(costAt(undefined), 'params'),
      macs,
    });
  }
  return { candidate: chosen.c.name, prefix, ranks, modules, replace };
}
