/**
 * Shape inference as the core uses it: find and run the models of a file (`models.ts`), then give
 * each conv layer the shapes its model ran it with, its instances and calls, and exact params and
 * MACs (replacing the input-size assumption), and each model its totals before and after the
 * rewrite. Everything here is plain data once it returns.
 */
import type { Tree } from 'web-tree-sitter';
import type { Guard, LayerShapes, ModelSummary, Span } from '../../model';
import type { AnalysisOptions } from '../../options';
import { parse } from '../../parsing';
import { Poly } from '../../poly';
import { analyzePython, markConvertible, type PythonAnalysis, type PythonLayer } from '../analyze';
import { findGuard, safetyGuard, termHolds } from '../guard';
import type { LayerMemo } from '../incremental';
import { Interrupted, isBudgetStop } from '../../kernel/budget';
import {
  inferModels,
  runClassModel,
  type ClassOutcome,
  type ConvInstance,
  type InferRequest,
  type ModelShapes,
  type RunTrace,
} from './models';
import { declineForeignReads, importersOf } from './importers';
import { reachingNames } from './reach';
import { fileModels } from './fileRuns';
import { heldParse, namedByUser, plainFile, type ShapeSources } from './program';
import { runTopLevel } from './prepared';

export type { ShapeSources } from './program';
export type { InferRequest } from './models';
export { dropPrepared } from './prepared';

/** Text that may define a model: a class deriving from a Module, or an input pragma. */
export const MAY_DEFINE_MODEL = /\bModule\b|Sequential\)|sepconv:.*\binput=/;

const key = (file: string, start: number) => `${file}\u0000${start}`;

/**
 * Runs shape inference on an analysed file and fills in `analysis.models` and each layer's
 * `shapes` and costs. A failure inside inference is a note, never an exception.
 */
export function inferShapes(
  analysis: PythonAnalysis,
  text: string,
  tree: Tree,
  options: AnalysisOptions,
  sources: ShapeSources = {},
  request: InferRequest = {},
  memo?: LayerMemo,
): void {
  if (analysis.syntaxError) return;
  const file = sources.path ?? '';
  let models: ModelShapes[];
  const trace: RunTrace | undefined =
    memo && !request.build && !request.input ? { moduleTouched: new Set(), classes: [], untraced: false } : undefined;
  try {
    models =
      request.build || request.input || request.reach
        ? inferModels(plainFile(file, text, tree, false), sources, options, request, trace)
        : fileModels(file, text, tree, sources, options, trace);
  } catch (e) {
    if (e instanceof Interrupted) throw e;
    analysis.notes.push({ message: `shape inference failed: ${(e as Error).message}`, span: { start: 0, end: 0 } });
    return;
  }
  if (memo && trace) memo.recordShapes({ key: JSON.stringify(options), file, trace });
  declineForeignReads(analysis.layers, tree, file, sources);
  attachAll(analysis.layers, models, file);
  for (const l of analysis.layers) fromInstances(l, models, file, options);
  // a model that ran out of its budget may have been about to build the layers no model built
  const spent = models.flatMap((m) => m.reasons.filter(isBudgetStop).map((why) => `shapes not inferred: model ${m.name}: ${why}`))[0];
  if (spent) for (const l of analysis.layers) if (!l.shapes) l.assumptions.push(spent);
  const convertible = convertibility(analysis, file, models, options, sources);
  analysis.models = models.map((m) => summary(m, convertible));
  // a file of building blocks: its layers run in the models of the files that import it
  fromImporters(analysis.layers, file, sources, options, (importer, other) =>
    fileModels(importer, other, undefined, { ...sources, path: importer }, options),
  );
  // the verdicts the models of the files importing this one count its lines with (`layersOf`)
  if (file && !request.build && !request.input && !request.reach) remember(file, text, options, analysis.layers, false);
}

/**
 * Shapes for `layers` (a few, of a range analysis: a hover) as the full analysis of this version
 * would attach them, from the document's last full run: the models an edit since cannot have
 * changed are kept, those whose build or run looked up an edited class or function are run again,
 * alone. False when that cannot be known this way (the caller runs the full analysis): no full
 * run recorded, edits that were not local or that reach the module's top level, examples or
 * factories among the models, a class whose standing as a model may have changed, or a layer
 * no model of the file builds (the full analysis would look in the files importing it).
 */
export function focusShapes(
  layers: PythonLayer[],
  text: string,
  tree: Tree,
  options: AnalysisOptions,
  sources: ShapeSources,
  memo: LayerMemo,
): boolean {
  const rec = memo.shapes;
  const file = sources.path ?? '';
  if (!rec || rec.key !== JSON.stringify(options) || rec.file !== file || rec.trace.untraced || tree.rootNode.hasError) return false;
  const changed = [...rec.changed];
  if (changed.some((n) => rec.trace.moduleTouched.has(n))) return false;
  const entry = { path: file, text, root: tree.rootNode };
  const affected = rec.trace.classes.filter((c) => changed.some((n) => c.touched.has(n)));
  // an edit of a helper every model uses: the full analysis runs them all at once, for less
  if (affected.length > MAX_FOCUSED_RUNS) return false;
  const now = new Map<string, ClassOutcome>();
  for (const c of affected) {
    const again = runClassModel(entry, sources, options, c.name);
    if (!again) return false;
    now.set(c.name, again);
  }
  // which classes are parts of others now: a part is not a model of its own
  const built = (o: ClassOutcome['outcome']) => o === 'model' || o === 'part' || o === 'no convs';
  const parts = new Set<string>();
  for (const c of rec.trace.classes) {
    const o = now.get(c.name) ?? c;
    if (built(o.outcome)) for (const p of o.parts) parts.add(p);
  }
  // the models in file order: those run again, and the others as recorded, in the offsets of their
  // version (the layers' starts are mapped back over the edits since, which did not touch them)
  const back = memo.offsetsBack(rec.at);
  const models: ModelShapes[] = [];
  const reran = new Set<ModelShapes>();
  for (const c of rec.trace.classes) {
    const again = now.get(c.name);
    if (again) {
      if (again.outcome === 'model' && !parts.has(c.name)) {
        reran.add(again.model!);
        models.push(again.model!);
      }
      continue;
    }
    // unchanged itself, but a part no longer: it would be a model of its own, not run here
    if (c.outcome === 'part' && !parts.has(c.name)) return false;
    if (c.outcome === 'model' && !parts.has(c.name)) models.push(c.model!);
  }
  const frame = (m: ModelShapes) => (reran.has(m) ? undefined : back);
  declineForeignReads(layers, tree, file, sources);
  attachAll(layers, models, file, frame);
  for (const l of layers) fromInstances(l, models, file, options, frame);
  // a layer no model of the file builds: the full analysis looks for the files that import this one
  if (layers.every((l) => l.shapes) || !(file && sources.read)) return true;
  rec.importers ??= importersOf(file, sources);
  return rec.importers.length === 0;
}

/**
 * Shapes for `layers` (a range analysis: a hover's) from only the models that build the calls on
 * the hovered line `at`: for each such call, the first candidate model that builds it, in the order
 * the full run would pick it (`InferRequest.reach`); the file's other models are not run. A call no
 * model of the file builds is looked for in the models of the files importing it that may reach
 * it, as the full analysis looks there. The numbers are those of that model's run; a line decided
 * on its instances (`fromInstances`) is decided and priced on those of the models run, and says so
 * (the full analysis counts every model's).
 *
 * False (the caller runs the full analysis) when a call is left unbuilt, unless `final`: then a
 * call no candidate builds is answered as built by none, as the full analysis would answer it
 * (reach.ts reads every mention, so no other model can build it), except when a candidate's build
 * or run was cut short by its budget. The caller passes `final` for a document just opened, not
 * typed in and without a full run (the full analysis follows in the background): while typing, the
 * full run a failed reach starts is what later hovers are focused from (one started in the
 * background would be interrupted by the next edit).
 */
export function reachShapes(
  layers: PythonLayer[],
  text: string,
  tree: Tree,
  options: AnalysisOptions,
  sources: ShapeSources,
  at: Span,
  final = false,
): boolean {
  const targets = layers.filter((l) => l.span.start < at.end && l.span.end > at.start);
  if (targets.length === 0) return true;
  const file = sources.path ?? '';
  const reach = targets.map((l) => l.span.start);
  const own: InferRequest = { reach };
  const models = inferModels(plainFile(file, text, tree, false), sources, options, own);
  let spent = !!own.spent;
  declineForeignReads(layers, tree, file, sources);
  attachAll(layers, models, file);
  const undecided = new Set(targets.filter((l) => !l.convertible));
  for (const l of layers) fromInstances(l, models, file, options);
  // a file of blocks: the models of the files importing it that reach the call sites (as the full analysis looks there)
  const names = targets.every((l) => l.shapes) ? [] : reachingNames(tree.rootNode, reach);
  fromImporters(targets, file, sources, options, (importer, other, open) => {
    const request: InferRequest = { reach: open.map((l) => l.span.start), reachIn: { file, names } };
    try {
      return inferModels(
        plainFile(importer, other, undefined, true, !namedByUser(sources, importer)),
        { ...sources, path: importer },
        options,
        request,
      );
    } finally {
      spent ||= !!request.spent;
    }
  });
  // a line decided on the modules built there is priced on all of them in the full analysis
  for (const l of targets)
    if (l.shapes && undecided.has(l) && l.convertible)
      l.assumptions.push(`${PARTIAL_NOTE} ${l.shapes.model}: the file's other models are still running`);
  return targets.every((l) => l.shapes) || (final && !spent);
}

/** How the note on a hover's layer priced on one model's modules starts (`reachShapes`). */
export const PARTIAL_NOTE = 'numbers of the modules built here by model';

/** The file's top level run ahead of its models (`runTopLevel`); a failure is left to the analysis that follows. */
export function prepareShapes(text: string, tree: Tree, options: AnalysisOptions, sources: ShapeSources): void {
  if (tree.rootNode.hasError) return;
  try {
    runTopLevel(plainFile(sources.path ?? '', text, tree, false), sources, options);
  } catch (e) {
    if (e instanceof Interrupted) throw e;
  }
}

/**
 * A file of building blocks: those of `layers` no model of the file built get the shapes (and
 * verdicts, `fromInstances`) of the models of the files importing it, the first importers first,
 * until every one has them; `modelsOf` runs an importer's models for the layers still open.
 */
function fromImporters(
  layers: PythonLayer[],
  file: string,
  sources: ShapeSources,
  options: AnalysisOptions,
  modelsOf: (importer: string, text: string, open: PythonLayer[]) => ModelShapes[],
): void {
  if (!file || !sources.read || layers.every((l) => l.shapes)) return;
  for (const importer of importersOf(file, sources).slice(0, MAX_IMPORTERS)) {
    const text = sources.read(importer);
    if (text === undefined) continue;
    const open = layers.filter((l) => !l.shapes);
    try {
      const theirs = modelsOf(importer, text, open);
      attachAll(open, theirs, file);
      for (const l of open) fromInstances(l, theirs, file, options);
    } catch (e) {
      if (e instanceof Interrupted) throw e;
      // the importer's failure is its own report's business
    }
    if (layers.every((l) => l.shapes)) break;
  }
}

/** Models run again one by one for a hover; past this many the full analysis is cheaper. */
const MAX_FOCUSED_RUNS = 8;

/** Files whose models are run for a file of building blocks; more would cost more than they tell. */
const MAX_IMPORTERS = 3;

/**
 * Each layer gets the instances of the first model (in file order) that builds its call site.
 * `frame(m)` maps this version's offsets to those a model was recorded with, where they lag behind
 * (a focused run's recorded models); the layers' starts are mapped once per frame, not every conv.
 */
function attachAll(
  layers: PythonLayer[],
  models: ModelShapes[],
  file: string,
  frame: (m: ModelShapes) => ((o: number) => number) | undefined = () => undefined,
): void {
  const byFrame = new Map<((o: number) => number) | undefined, Map<number, number[]>>();
  const startsIn = (f: ((o: number) => number) | undefined): Map<number, number[]> => {
    let starts = byFrame.get(f);
    if (!starts) {
      starts = new Map();
      for (const [i, l] of layers.entries()) {
        const at = f ? f(l.span.start) : l.span.start;
        const same = starts.get(at);
        if (same) same.push(i);
        else starts.set(at, [i]);
      }
      byFrame.set(f, starts);
    }
    return starts;
  };
  const first = new Map<number, { m: ModelShapes; instances: ConvInstance[] }>();
  for (const m of models) {
    const starts = startsIn(frame(m));
    const own = new Map<number, ConvInstance[]>();
    for (const c of m.convs) {
      if (c.file !== file || !starts.has(c.start)) continue;
      // pushed, not copied: a loop can build thousands of modules at one line
      const at = own.get(c.start);
      if (at) at.push(c);
      else own.set(c.start, [c]);
    }
    for (const [start, instances] of own) for (const i of starts.get(start)!) if (!first.has(i)) first.set(i, { m, instances });
    if (first.size === layers.length) break;
  }
  for (const [i, hit] of first) attach(layers[i], hit.m, hit.instances);
}

/**
 * A conv line whose decision rests on what its callers pass (arguments the static evaluator could
 * not pin down: `cnf.input_channels`, `depths[0]`, `**kwargs`; or a helper parameter's default) is
 * decided by what the models built there. When every instance is a standard conv (in_channels > 1)
 * whose separable form is smaller, the line is converted; when only some are, it gets a guarded
 * rewrite (guard.ts) whose condition holds on exactly those. The written expressions are copied by
 * the rewrite as always, so it holds for each of those instances.
 */
function fromInstances(
  layer: PythonLayer,
  models: ModelShapes[],
  file: string,
  options: AnalysisOptions,
  frame: (m: ModelShapes) => ((o: number) => number) | undefined = () => undefined,
): void {
  if (!layer.callerDependent || layer.kind === 'transposed' || layer.kind === 'lazy') return;
  const written = (p: string) => layer.written.find((w) => w.param === p);
  const kernelBound = !!layer.bound?.includes('kernel_size');
  if (!written('in_channels') || !written('out_channels') || (!written('kernel_size') && !kernelBound && layer.splat === undefined)) return;
  if (layer.references.some((r) => r.replacement === null)) return;
  const instances = models.flatMap((m) => {
    const at = frame(m)?.(layer.span.start) ?? layer.span.start;
    return m.convs.filter((c) => c.file === file && c.start === at);
  });
  if (instances.length === 0) return;
  const decline = (why: string) => {
    layer.convertible = false;
    layer.reason = why;
    layer.warnings = [];
  };
  // `**name`: the keys the modules received beyond those written go to the depthwise conv (geometry)
  // or to both (device, dtype); anything else would change what one of them computes
  if (layer.splat !== undefined) {
    const own = new Set(layer.written.map((w) => w.keyword).filter((k) => k !== undefined));
    const keys = new Set(instances.flatMap((i) => i.keywords.filter((k) => !own.has(k))));
    if ([...keys].every((k) => GEOMETRY.has(k))) layer.splatTo = 'depthwise';
    else if ([...keys].every((k) => DEVICE.has(k))) layer.splatTo = 'both';
    else
      return decline(
        `\`**${layer.splat}\` gives ${[...keys].sort().join(', ')}: only kernel_size, stride, padding, dilation, padding_mode (for the depthwise conv) or only device, dtype (for both) can pass through`,
      );
    if (!written('kernel_size') && !kernelBound && !instances.every((i) => i.keywords.includes('kernel_size'))) return;
  }
  const eligible = instances.map((i) => {
    const cin = i.args.inChannels?.constant;
    const g = i.args.groups?.constant;
    return i.kind === 'conv' && cin !== undefined && cin > 1 && g !== undefined && g < cin && i.after !== null && i.after.params < i.params;
  });
  const n = eligible.filter(Boolean).length;
  const modules = (k: number) => `${k} module${k === 1 ? '' : 's'}`;
  // the line's cost: the converted modules' separable form, the others as they are
  const price = (converted: boolean[]) => {
    const sum = (f: (i: ConvInstance, k: number) => number | null | undefined): Poly | undefined => {
      let total = 0;
      for (const [k, i] of instances.entries()) {
        const v = f(i, k);
        if (v === null || v === undefined) return undefined;
        total += v;
      }
      return Poly.const(total);
    };
    layer.cost = {
      ...layer.cost,
      params: { before: sum((i) => i.params), after: sum((i, k) => (converted[k] ? i.after?.params : i.params)) },
      macs: { before: sum((i) => i.macs), after: sum((i, k) => (converted[k] ? i.after?.macs : i.macs)) },
    };
  };
  if (n === 0) return;
  const guardInstances = () =>
    instances.map((i) => ({
      inChannels: i.args.inChannels?.constant,
      outChannels: i.args.outChannels?.constant,
      groups: i.args.groups?.constant,
      kernel: i.args.kernelSize,
      kernelIsInt: i.kernelIsInt,
    }));
  const kernelExpr = written('kernel_size')?.text ?? `${layer.splat}["kernel_size"]`;
  if (n === instances.length) {
    // the modules seen are those of the models run (or the line was converted on its parameters'
    // defaults); a caller elsewhere may pass a 1x1 kernel or groups (a depthwise conv through the
    // same helper): where the line's kernel size or groups come from its callers, a guard keeps
    // those as they are (unless a read of the conv needs it to be a Sequential for every caller)
    const byDefaults = layer.convertible;
    if (byDefaults && layer.guard) return;
    const safe =
      layer.subclass || layer.bound?.length || layer.references.some((r) => r.replacement)
        ? undefined
        : safetyGuard(guardInstances(), written, kernelExpr);
    if (!byDefaults) markConvertible(layer, options);
    if (safe) {
      layer.guard = safe;
      layer.warnings.push(
        `guarded: separable where \`${safe.condition}\` (so on the ${modules(n)} the models build here); a caller that passes other values gets the conv as written`,
      );
    } else if (!byDefaults)
      layer.warnings.push(
        `decided on the ${modules(n)} the models of this file build here: its arguments are not known from the line alone`,
      );
    if (!byDefaults) price(eligible);
    return;
  }
  // one class cannot be a Sequential for some of its instances and a conv for others; a partial's
  // bound expressions are written where the partial is, not at the call the guard would stand on
  if (layer.subclass)
    return decline(
      `only ${n} of the ${modules(instances.length)} \`${layer.subclass.name}\` builds are smaller separable: the class cannot be a Sequential for some of its instances only`,
    );
  const boundRead = layer.bound?.find((k) => k === 'kernel_size' || k === 'groups');
  if (boundRead)
    return decline(
      `only ${n} of the ${modules(instances.length)} built here are smaller separable, and a guard cannot read the ${boundRead} the partial binds`,
    );
  const guard = findGuard(guardInstances(), eligible, written, kernelExpr);
  if (typeof guard === 'string') return decline(guard);
  const reads = layer.references.filter((r) => r.replacement);
  if (reads.length)
    return decline(
      `line ${reads[0].line + 1} reads \`${reads[0].text}\`: after a guarded rewrite the module is a Sequential for some callers and a conv for others`,
    );
  markConvertible(layer, options);
  layer.guard = guard;
  layer.warnings.push(
    `guarded: ${guard.converted} of the ${modules(guard.instances)} the models build here become separable (where \`${guard.condition}\`); the others are built as before`,
  );
  price(eligible);
}

/** Keys of a `**` dict that go to the depthwise conv alone, and those that go to both convs. */
const GEOMETRY = new Set(['kernel_size', 'stride', 'padding', 'dilation', 'padding_mode']);
const DEVICE = new Set(['device', 'dtype']);

/**
 * Whether the conv at each construction site gets rewritten: this file's layers, and those of the
 * files it imports, as those files' own analyses decide them (what `apply` on them does).
 */
function convertibility(
  analysis: PythonAnalysis,
  file: string,
  models: ModelShapes[],
  options: AnalysisOptions,
  sources: ShapeSources,
): Map<string, boolean | Guard> {
  const out = new Map<string, boolean | Guard>();
  for (const l of analysis.layers) out.set(key(file, l.span.start), verdict(l));
  const foreign = new Set(models.flatMap((m) => m.convs.map((c) => c.file)).filter((f) => f !== file && f !== ''));
  for (const f of foreign) {
    const text = sources.read?.(f);
    if (text === undefined) continue;
    for (const [start, convertible] of layersOf(f, text, options, sources)) out.set(key(f, start), convertible);
  }
  return out;
}

const verdict = (l: PythonLayer): boolean | Guard => l.convertible && (l.guard ?? true);

/** The verdicts per conv of an imported file, kept per thread while its text and the options are the same (every model file of a folder imports the same blocks). */
const foreignLayers = new Map<string, { text: string; options: string; layers: [number, boolean | Guard][]; static: boolean }>();
/** Set while a foreign file's own analysis runs: the files it imports in turn are taken at their static verdict. */
let deciding = false;

/**
 * A line whose arguments come from its callers (`Conv2dNormActivation`'s) is decided by its file's
 * analysis on the modules that file's importers build (`fromInstances`, maybe with a guard); that
 * analysis is run here too, once per thread, so that a model's `after` counts what `apply` on that
 * file does. One level deep: the files it imports are taken at their static verdict.
 */
function layersOf(file: string, text: string, options: AnalysisOptions, sources: ShapeSources): [number, boolean | Guard][] {
  const opts = JSON.stringify(options);
  const known = foreignLayers.get(file);
  if (known && known.text === text && known.options === opts && (deciding || !known.static)) return known.layers;
  // a file the models of this one imported is parsed already
  const held = heldParse(file, text);
  const tree = held?.tree ?? parse('python', text);
  const outer = deciding;
  try {
    const analysis = analyzePython(text, tree, options);
    const open = analysis.layers.some((l) => l.callerDependent);
    if (open && !deciding) {
      deciding = true;
      inferShapes(analysis, text, tree, options, { ...sources, path: file });
    }
    return remember(file, text, options, analysis.layers, open && outer);
  } finally {
    deciding = outer;
    if (!held) tree.delete();
  }
}

function remember(file: string, text: string, options: AnalysisOptions, of: PythonLayer[], partial: boolean): [number, boolean | Guard][] {
  const layers = of.map((l): [number, boolean | Guard] => [l.span.start, verdict(l)]);
  if (foreignLayers.size >= 256) foreignLayers.delete(foreignLayers.keys().next().value as string);
  foreignLayers.delete(file);
  foreignLayers.set(file, { text, options: JSON.stringify(options), layers, static: partial });
  return layers;
}

/** Does the rewrite of its line convert this module: the line is converted, and a guard holds on it. */
function converts(c: ConvInstance, how: boolean | Guard | undefined): boolean {
  if (typeof how !== 'object') return how === true;
  const inst = {
    inChannels: c.args.inChannels?.constant,
    outChannels: c.args.outChannels?.constant,
    groups: c.args.groups?.constant,
    kernel: c.args.kernelSize,
    kernelIsInt: c.kernelIsInt,
  };
  return how.terms.every((t) => termHolds(t, inst) === true);
}

function summary(m: ModelShapes, convertible: Map<string, boolean | Guard>): ModelSummary {
  let paramsAfter = m.params;
  let macsAfter = m.macs;
  for (const c of m.convs) {
    if (!converts(c, convertible.get(key(c.file, c.start))) || !c.after) continue;
    if (paramsAfter !== null) paramsAfter += c.after.params - c.params;
    if (macsAfter !== null) macsAfter = c.after.macs === null || c.macs === null ? null : macsAfter + c.after.macs - c.macs;
  }
  return {
    name: m.name,
    className: m.className,
    line: m.line,
    start: m.start,
    build: m.build,
    input: m.input,
    inputFrom: m.inputFrom,
    output: m.output,
    params: { before: m.params, after: paramsAfter },
    macs: { before: m.macs, after: macsAfter },
    convs: m.convs.length,
    exactConvs: m.convs.filter((c) => c.exact).length,
    reasons: m.reasons,
    ...(m.mismatches.length ? { mismatches: m.mismatches } : {}),
    convModules: m.convs.map((c) => ({ path: c.path, file: c.file, start: c.start, args: c.args, inputs: callInputs(c) })),
  };
}

/** The spatial input size of each of a conv module's calls; null unless every one is known. */
function callInputs(c: ConvInstance): number[][] | null {
  const out: number[][] = [];
  for (const call of c.calls) {
    if (!c.exact || !call.input) return null;
    out.push(call.input.slice(2));
  }
  return out;
}

const distinct = (shapes: (number[] | null)[]): number[][] => {
  const seen = new Set<string>();
  const out: number[][] = [];
  for (const s of shapes) {
    if (!s || seen.has(s.join('x'))) continue;
    seen.add(s.join('x'));
    out.push(s);
  }
  return out;
};

function attach(layer: PythonLayer, m: ModelShapes, instances: ConvInstance[]): void {
  const calls = instances.flatMap((i) => i.calls);
  const exact = instances.every((i) => i.exact);
  const shapes: LayerShapes = {
    model: m.name,
    instances: instances.length,
    calls: calls.length,
    inputShapes: distinct(calls.map((c) => c.input)),
    outputShapes: distinct(calls.map((c) => c.output)),
    exact,
    reason: exact ? null : (instances.find((i) => !i.exact)?.reason ?? null),
  };
  layer.shapes = shapes;
  const inputNote = layer.assumptions.findIndex((a) => a.startsWith('input '));
  if (!exact) {
    layer.assumptions.push(`shapes not inferred: ${shapes.reason ?? 'unknown'}`);
    return;
  }
  const sum = (f: (i: ConvInstance) => number | null | undefined): Poly | undefined => {
    let total = 0;
    for (const i of instances) {
      const v = f(i);
      if (v === null || v === undefined) return undefined;
      total += v;
    }
    return Poly.const(total);
  };
  const first = calls[0];
  const dims = layer.args.dims;
  layer.cost = {
    // a separable form exists where the call site itself is a standard conv (as convCost says)
    params: {
      before: sum((i) => i.params),
      after: layer.kind === 'conv' || layer.kind === 'transposed' ? sum((i) => i.after?.params) : undefined,
    },
    macs: {
      before: sum((i) => i.macs),
      after: layer.kind === 'conv' || layer.kind === 'transposed' ? sum((i) => i.after?.macs) : undefined,
    },
    inputSize: first?.input ? first.input.slice(first.input.length - dims) : layer.cost.inputSize,
    outputSize: first?.output ? first.output.slice(first.output.length - dims) : layer.cost.outputSize,
  };
  // with every module of the call site known, "smaller" is judged on them, not on small widths
  const before = layer.cost.params.before?.constant;
  const after = layer.cost.params.after?.constant;
  if (layer.convertible && before !== undefined && after !== undefined && after >= before) {
    layer.convertible = false;
    layer.reason = `the separable form is not smaller for the ${instances.length} module${instances.length === 1 ? '' : 's'} it builds in ${m.name} (${after} vs ${before} params)`;
    layer.warnings = [];
  }
  const note = `input ${m.input ? m.input.join('x') : '?'} (${m.inputFrom}) of model ${m.name}`;
  if (inputNote >= 0) layer.assumptions[inputNote] = note;
  else layer.assumptions.unshift(note);
}
