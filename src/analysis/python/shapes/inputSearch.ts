/**
 * The input a model accepts, when nobody said (no pragma, example, request or --input-size): the
 * default input (1, C, 224, 224) is a guess, and a model may pin its input down instead.
 *
 * - A `Linear` after `flatten` fixes the spatial size (MNIST's `Net`: `fc1` takes 9216 features,
 *   which a 28x28 input gives): the smallest size whose run gives the features the layer takes is
 *   searched (the feature count grows with the size), and every dimension gets it.
 * - A model that stops before any conv ran (`if x.ndim != 2: raise ...`, wav2vec2's (batch, time)
 *   waveforms) is tried without the channel dimension.
 * - A default input too small for the model's convs or pools is doubled until it runs (up to 64x).
 *
 * An input is taken only when the whole run succeeds with it, and it is stated as inferred
 * (`inputFrom`), so the numbers are exact for the input shown. Each try starts from the heap as it
 * was before the first run (HeapSnapshot), so recorded calls never mix.
 */
import { HeapSnapshot } from './branches';
import type { Interp } from './interpreter';
import type { RecordedMismatch } from './mismatch';
import { allModules } from './torch/moduleMethods';
import type { ConvData } from './torch/modules';
import type { Dim, ModuleObj, Scope, V } from './values';

export interface Attempt {
  shape: Dim[];
  out: V;
  /** why the run stopped */
  stops: string[];
  /** why a conv call's output or the model's output is not known (runComplete), if one is not */
  incomplete: string | undefined;
  /** the shape mismatches the run proved */
  mismatches: RecordedMismatch[];
}

const ok = (a: Attempt) => a.stops.length === 0 && a.incomplete === undefined;

function known(v: V): boolean {
  if (v.kind === 'unknown') return false;
  if (v.kind === 'tuple' || v.kind === 'list') return v.items.every(known);
  if (v.kind === 'dict') return v.entries.every(([, x]) => known(x));
  return true;
}

/** Undefined when the run went through (its output holds no unknown, every conv call has its output shape), else why not. */
export function runComplete(root: ModuleObj, out: V): string | undefined {
  for (const m of allModules(root)) {
    if (!m.native?.data.conv) continue;
    const bad = m.calls.find((c) => c.output === undefined);
    if (bad) return bad.why ?? 'a conv call without a shape';
  }
  return known(out) ? undefined : out.kind === 'unknown' ? out.why : 'the output is not known';
}
/** the first reason the run did not go through */
const failure = (a: Attempt) => a.stops[0] ?? a.incomplete ?? '';

/** Runs the model once on `shape` (a fresh budget, its own stops). */
export type RunOnce = (shape: Dim[]) => Attempt;

/** The runs a search may spend at most, after the first. */
const MAX_TRIES = 16;

/** A conv that recorded a call with a known output: the input got through the model's first conv. */
function convRan(root: ModuleObj): boolean {
  return allModules(root).some(
    (m) => (m.native?.data.conv as ConvData | undefined) !== undefined && m.calls.some((c) => c.output !== undefined),
  );
}

/** The heap before the first run, to start each try from (only taken when a search may follow). */
export function snapshotModel(root: ModuleObj): HeapSnapshot {
  const scope: Scope = {
    vars: new Map(),
    parent: undefined,
    env: { file: { path: '', text: '', root: undefined as never }, globals: new Map(), name: '' },
    fn: undefined,
    self: undefined,
  };
  return new HeapSnapshot(scope, [{ kind: 'module', m: root }]);
}

/**
 * A better input than the one `first` ran with, or undefined (the heap and the stops are then as
 * `first` left them). `snap` was taken before the first run; `make(spatial, channel)` builds a full
 * input shape from spatial sizes, with or without the channel dimension.
 */
export function searchInput(
  interp: Interp,
  root: ModuleObj,
  snap: HeapSnapshot,
  run: RunOnce,
  first: Attempt,
  spatial: number[],
  make: (spatial: number[], channel: boolean) => Dim[],
): { attempt: Attempt; why: string } | undefined {
  if (ok(first) || first.stops.some((s) => s.includes('budget:'))) return undefined;
  const firstRan = convRan(root);
  const after = snap.capture();
  const stopsAfter = interp.stops.slice();
  let tries = 0;
  const tryShape = (shape: Dim[]): Attempt | undefined => {
    if (tries++ >= MAX_TRIES) return undefined;
    snap.restore();
    return run(shape);
  };
  const found = search(first, firstRan, spatial, make, tryShape);
  if (found) return found;
  snap.apply(after);
  interp.stops.length = 0;
  interp.stops.push(...stopsAfter);
  return undefined;
}

function search(
  first: Attempt,
  firstRan: boolean,
  spatial: number[],
  make: (spatial: number[], channel: boolean) => Dim[],
  tryShape: (shape: Dim[]) => Attempt | undefined,
): { attempt: Attempt; why: string } | undefined {
  const sized = (a: Attempt, channel: boolean, why: string) => fit(a, spatial, channel, make, tryShape, why);
  const own = sized(first, true, '');
  if (own) return own;
  // a channel count nobody gave (a lazy first layer) is not a reason to drop the channel dimension
  if (!firstRan && !/channel count is not known/.test(failure(first))) {
    const flat = tryShape(make(spatial, false));
    if (flat) {
      const why = 'forward takes the input without a channel dimension';
      if (ok(flat)) return { attempt: flat, why };
      return sized(flat, false, why);
    }
  }
  return undefined;
}

const FEATURES = /in_features expects (\d+), got (\d+)/;
const TOO_SMALL = /too small/;

/** From a failed attempt: a spatial size that makes the run go through, by the failure's kind. */
function fit(
  a: Attempt,
  spatial: number[],
  channel: boolean,
  make: (spatial: number[], channel: boolean) => Dim[],
  tryShape: (shape: Dim[]) => Attempt | undefined,
  prefix: string,
): { attempt: Attempt; why: string } | undefined {
  const join = (why: string) => (prefix ? `${prefix}; ${why}` : why);
  const stop = failure(a);
  const features = FEATURES.exec(stop);
  if (features) {
    // the smallest square (cube) size whose flattened features are the ones the layer takes
    const want = Number(features[1]);
    let lo = 1;
    let hi = 4096;
    let best: Attempt | undefined;
    let bestSize = 0;
    while (lo <= hi) {
      const s = Math.floor((lo + hi) / 2);
      const t = tryShape(
        make(
          spatial.map(() => s),
          channel,
        ),
      );
      if (!t) break;
      if (ok(t)) {
        best = t;
        bestSize = s;
        hi = s - 1;
        continue;
      }
      const m = FEATURES.exec(failure(t));
      if (m && Number(m[1]) === want) {
        if (Number(m[2]) < want) lo = s + 1;
        else hi = s - 1;
      } else if (TOO_SMALL.test(failure(t))) lo = s + 1;
      else break;
    }
    if (best) {
      // the search ended on another size: run the best one again so its calls are the ones recorded
      const again = tryShape(
        make(
          spatial.map(() => bestSize),
          channel,
        ),
      );
      const call = /`([^`]+)`/.exec(stop)?.[1];
      if (again && ok(again))
        return {
          attempt: again,
          why: join(`the smallest size at which ${call ? `\`${call}\`` : 'a linear layer'} gets the ${want} input features it takes`),
        };
    }
    return undefined;
  }
  if (TOO_SMALL.test(stop)) {
    for (let k = 2; k <= 64; k *= 2) {
      const t = tryShape(
        make(
          spatial.map((s) => s * k),
          channel,
        ),
      );
      if (!t) return undefined;
      if (ok(t)) return { attempt: t, why: join(`the default size is too small for the model; ${k}x it`) };
      if (!TOO_SMALL.test(failure(t))) return undefined;
    }
  }
  return undefined;
}
