/**
 * Which classes of a file are models, what input each one gets, and what running it abstractly
 * gives: per conv instance its input and output shapes, calls and MACs, and per model its
 * parameter count and conv MACs. Plain data out; no tree-sitter node outlives `inferModels`.
 *
 * Models are, in this order of evidence: modules the file runs on an example tensor
 * (`model(torch.randn(1, 3, 224, 224))` in a `__main__` block or a test function); functions that
 * take no required arguments and return a module (factories like `resnet18()`); nn.Module
 * subclasses whose constructor needs no arguments (or gets them from `--assume` / pragmas).
 * A class or factory that another model builds as a part is not a model of its own, and
 * neither is a module without convolutions.
 */
import type { Node } from 'web-tree-sitter';
import { convCost, type SeparableOptions } from '../../cost';
import type { ConvArgs, LayerKind, ModelIdentity, ShapeMismatch } from '../../model';
import { DEFAULT_INPUT_SIZES, type AnalysisOptions } from '../../options';
import { parse } from '../../parsing';
import { countModelRun, isBudgetStop } from '../../kernel/budget';
import { readPragmas, type Pragmas } from '../../kernel/pragmas';
import { newInterp, type Interp } from './interpreter';
import { takePrepared, type Prepared } from './prepared';
import { build, classCandidate, factoryCandidate, looksLikeFactory, requiredParams, type Built, type Candidate } from './candidates';
import { isMainGuard, named } from './nodes';
import { Program, type ShapeSources } from './program';
import { Reach, type Definition } from './reach';
import { type Attempt, runComplete, searchInput, snapshotModel } from './inputSearch';
import type { HeapSnapshot } from './branches';
import { plainMismatches, type RecordedMismatch } from './mismatch';
import { allModules, namedModules } from './torch/moduleMethods';
import { type ConvData } from './torch/modules';
import { concrete, type ClassObj, type Dim, type DimVar, type FunctionObj, type ModuleObj, type SourceFile, type V } from './values';

export interface ConvCall {
  input: number[] | null;
  output: number[] | null;
  macs: number | null;
}

/** One conv module in a built model. */
export interface ConvInstance {
  /** its name in the model, as `named_modules()` gives it (`layer1.0.conv1`) */
  path: string;
  op: string;
  /** where it was constructed: file, offsets of the call, 0-based line */
  file: string;
  start: number;
  line: number;
  args: ConvArgs;
  kind: LayerKind;
  params: number;
  calls: ConvCall[];
  /** summed over calls; null unless exact */
  macs: number | null;
  /** the separable form's params and MACs (summed over calls), where a rewrite exists */
  after: { params: number; macs: number | null } | null;
  exact: boolean;
  /** why the MACs are not exact */
  reason: string | null;
  /** kernel_size was one int, and the keywords the call received (written or through `**`) */
  kernelIsInt: boolean;
  keywords: string[];
}

export interface ModelShapes extends ModelIdentity {
  /** all parameters of the model (every module, convs or not); null when one cannot be counted */
  params: number | null;
  convs: ConvInstance[];
  /** conv MACs summed over instances and calls; null unless every instance is exact */
  macs: number | null;
  /** why numbers are missing: stops while building or running, unknown parameters */
  reasons: string[];
  /** shape mismatches the run proved under its input (mismatch.ts) */
  mismatches: ShapeMismatch[];
}

export interface InferRequest {
  /** build this Python expression (in the file's namespace) instead of discovering models */
  build?: string;
  /** the input's full shape, overriding pragmas, examples and the input-size option */
  input?: number[];
  /**
   * Offsets of conv calls in the file (a hover's): run only the models that build them, the first
   * that does in the order of `reachOrder` (reach.ts) for each, instead of every model of the file
   */
  reach?: number[];
  /** `reach`'s call sites are in `file`, a file of blocks this one imports, whose `names` (reach.ts reachingNames) build them */
  reachIn?: { file: string; names: string[] };
  /** set by a `reach` run when a candidate's build or run was cut short by its budget (it may have been about to build a call site) */
  spent?: boolean;
}

/** `# sepconv: input=1x3x224x224` on a class or def line (by row), or file-wide (kernel/pragmas.ts). */
function inputPragmas(entry: SourceFile): { byRow: Map<number, string>; file: string | undefined } {
  const p = readPragmas(entry.root, entry.text, 'python');
  const byRow = new Map<number, string>();
  for (const [row, v] of p.definitions) if (v.text.input !== undefined) byRow.set(row, v.text.input);
  return { byRow, file: p.file.text.input };
}

const parseShape = (s: string) => s.split(/[xX×]/).map(Number);

function plainShape(v: V): unknown {
  if (v.kind === 'tensor') return concrete(v.shape) ?? null;
  if (v.kind === 'tuple' || v.kind === 'list') return v.items.map(plainShape);
  if (v.kind === 'dict') return Object.fromEntries(v.entries.map(([k, x]) => [k.kind === 'str' ? k.value : '?', plainShape(x)]));
  return null;
}

/**
 * What a run depended on, for running again only the models an edit of one class can change
 * (`runClassModel`): the names each class's build and run looked up, and those the module's top
 * level and the discovery of examples looked up.
 */
export interface RunTrace {
  moduleTouched: Set<string>;
  /** every class of the file considered as a model, in file order, and what became of it */
  classes: ClassOutcome[];
  /** examples, factories or a request took part, or a build wrote to shared state: models cannot be run again alone */
  untraced: boolean;
}

export interface ClassOutcome {
  name: string;
  outcome: 'model' | 'part' | 'no convs' | 'not built' | 'not runnable';
  /** names looked up while building and running it */
  touched: Set<string>;
  /** the file's classes among its submodules */
  parts: Set<string>;
  /** its run, for an outcome of 'model' */
  model?: ModelShapes;
}

export function inferModels(
  entry: SourceFile,
  sources: ShapeSources,
  options: AnalysisOptions,
  request: InferRequest = {},
  trace?: RunTrace,
): ModelShapes[] {
  const ready = takePrepared(entry, sources, options);
  const program = ready?.program ?? new Program(entry, sources, options.python);
  try {
    return run(program, entry, options, request, trace, ready);
  } finally {
    program.dispose();
  }
}

/**
 * The run of one class of the file as the full run would make it, on a module whose other
 * definitions run only when looked up; undefined when such a run could differ from the full one
 * (a name bound twice at the top level, the class not found).
 */
export function runClassModel(
  entry: SourceFile,
  sources: ShapeSources,
  options: AnalysisOptions,
  className: string,
): ClassOutcome | undefined {
  const program = new Program(entry, sources, options.python);
  try {
    const interp = newInterp(program, options);
    interp.runDefinitionsOnLookup();
    const env = interp.moduleEnv(entry);
    const v = env.globals.get(className);
    const cls = v?.kind === 'lazy' ? v.get() : v;
    if (interp.lazyUnsafe || cls?.kind !== 'class' || cls.c.env !== env || !interp.nnBase(cls.c)) return undefined;
    const out = classRun(interp, cls.c, entry, options, inputPragmas(entry), readPragmas(entry.root, entry.text, 'python'));
    return interp.sharedWrites ? undefined : out;
  } finally {
    program.dispose();
  }
}

/** The file's classes among a module's submodules. */
function partsOf(module: ModuleObj | string, entry: SourceFile): Set<string> {
  const out = new Set<string>();
  if (typeof module === 'string') return out;
  // the submodules: the module itself comes first
  for (const m of allModules(module).slice(1)) if (m.cls && m.cls.env.file === entry) out.add(m.cls.name);
  return out;
}

const hasConvs = (module: ModuleObj | string) =>
  typeof module !== 'string' && allModules(module).some((m) => m.native?.data.conv !== undefined);

/** One class built and run on its own, with what it looked up (the focused run). */
function classRun(
  interp: Interp,
  c: ClassObj,
  entry: SourceFile,
  options: AnalysisOptions,
  pragmas: ReturnType<typeof inputPragmas>,
  ints: Pragmas,
): ClassOutcome {
  const touched = new Set([c.name]);
  interp.recordLookups(touched);
  const cand = classCandidate(interp, c, options, ints);
  const out: ClassOutcome = { name: c.name, outcome: 'not runnable', touched, parts: new Set() };
  if (cand) {
    out.parts = partsOf(cand.module, entry);
    out.outcome = typeof cand.module === 'string' ? 'not built' : hasConvs(cand.module) ? 'model' : 'no convs';
    if (out.outcome === 'model') out.model = runModel(interp, cand, pragmas, options, {});
  }
  interp.recordLookups(undefined);
  return out;
}

/** The models of `entry`, run on `program` (`inferModels` makes one; fileRuns.ts keeps what it read). */
export function run(
  program: Program,
  entry: SourceFile,
  options: AnalysisOptions,
  request: InferRequest,
  trace?: RunTrace,
  ready?: Prepared,
): ModelShapes[] {
  // a hover's run: what may build its call sites (another file's: nothing here may, and the file is not run)
  const reach = request.reach && new Reach(entry.root, request.reachIn ? { names: request.reachIn.names } : request.reach);
  if (reach?.none) return [];
  // an interpreter that ran this top level already (`runTopLevel`) is where a fresh one would be after it
  const interp = ready?.interp ?? newInterp(program, options);
  if (trace) {
    for (const name of ready?.touched ?? []) trace.moduleTouched.add(name);
    interp.recordLookups(trace.moduleTouched);
  }
  const env = interp.moduleEnv(entry);
  const scope = interp.moduleScope(env);
  const pragmas = inputPragmas(entry);
  const candidates: Candidate[] = [];

  if (request.build !== undefined) {
    const tree = parse('python', request.build);
    try {
      const expr = named(tree.rootNode)[0] ? named(named(tree.rootNode)[0])[0] : undefined;
      if (!expr) throw new Error(`cannot parse the build expression ${request.build}`);
      const b = build(interp, () => interp.eval(expr, scope));
      candidates.push({
        name: request.build,
        className: b.module instanceof Object ? (b.module.cls?.name ?? b.module.native?.type ?? 'Module') : '?',
        line: 0,
        start: 0,
        build: request.build,
        module: b.module,
        buildStops: b.stops,
        invoked: b.invoked,
        kind: 'request',
        origin: undefined,
        pragmaRow: undefined,
        node: expr,
      });
      return candidates.map((c) => runModel(interp, c, pragmas, options, request));
    } finally {
      tree.delete();
    }
  }

  // top-level classes and functions of this file
  const classes: { c: ClassObj; node: Node }[] = [];
  const functions: { f: FunctionObj; node: Node }[] = [];
  for (const v of env.globals.values()) {
    if (v.kind === 'class' && v.c.env === env && interp.nnBase(v.c)) classes.push({ c: v.c, node: v.c.node });
    const holder =
      v.kind === 'function' && v.f.node.parent?.type === 'decorated_definition'
        ? v.f.node.parent.parent
        : v.kind === 'function'
          ? v.f.node.parent
          : null;
    if (v.kind === 'function' && v.f.env === env && v.f.node.type === 'function_definition' && holder?.type === 'module')
      functions.push({ f: v.f, node: v.f.node });
  }

  // 1. examples: the __main__ block and argument-free functions that make a tensor
  interp.beginPhase('discover');
  for (const stmt of named(entry.root)) {
    if (isMainGuard(stmt)) interp.execBlock(stmt.childForFieldName('consequence'), scope);
  }
  // a factory called here (a docstring's `>>> x = torch.rand(...)` matches too) whose call went as
  // its build would go is not built again (step 2, or a hover's run), unless a build or run since
  // wrote what another build may read (a global, a class)
  const discovered = new Map<FunctionObj, Built>();
  const built = (f: FunctionObj) => (interp.sharedWrites ? undefined : discovered.get(f));
  for (const { f } of functions) {
    // a hover's run calls only those that may build its call sites (the others' examples cannot)
    if (reach && !reach.has(f.node)) continue;
    if (requiredParams(f, false).length === 0 && /torch\s*\.\s*(randn|rand|zeros|ones|empty|randint|full)\s*\(/.test(f.node.text)) {
      interp.startBudget();
      const [mark, detours] = [interp.stops.length, interp.discoveryDetours];
      interp.invoked = new Set();
      const v = interp.callFunction(f, { args: [], kwargs: new Map() }, f.node);
      if (v.kind === 'module' && interp.discoveryDetours === detours)
        discovered.set(f, { module: v.m, stops: interp.stopsSince(mark), invoked: interp.invoked });
    }
  }
  const seenExample = new Set<ModuleObj>();
  for (const ex of interp.examples) {
    if (seenExample.has(ex.m)) continue;
    seenExample.add(ex.m);
    const origin = interp.origins.get(ex.m);
    if (!origin) continue;
    const callee = origin.callee;
    const def = callee.kind === 'class' ? callee.c : callee.kind === 'function' ? callee.f : undefined;
    if (!def) continue;
    const inFile = def.env === env;
    candidates.push({
      name: def.name,
      className: ex.m.cls?.name ?? ex.m.native?.type ?? 'Module',
      line: inFile ? def.node.startPosition.row : origin.at.startPosition.row,
      start: inFile ? def.node.startIndex : origin.at.startIndex,
      build: origin.at.text.replace(/\s+/g, ' '),
      module: ex.m,
      buildStops: origin.stops,
      invoked: new Set(),
      example: { input: ex.input, line: ex.line },
      kind: 'example',
      origin: def,
      pragmaRow: inFile ? def.node.startPosition.row : undefined,
      node: origin.at,
    });
  }
  const exampled = new Set(candidates.map((c) => c.origin));

  // 2. factories: functions without required arguments that return a module (`return ResNet(...)`);
  // scripts' entry points are left alone
  const isFactory = (f: FunctionObj) => !exampled.has(f) && requiredParams(f, false).length === 0 && looksLikeFactory(f);
  const ints = readPragmas(entry.root, entry.text, 'python');
  if (reach && request.reach) {
    const defs = [
      ...classes.filter(({ c }) => !exampled.has(c)).map(({ c, node }): Reachable => ({ name: c.name, node, value: { c } })),
      // only the functions that may reach a call site are read for a factory's returns
      ...functions
        .filter(({ f, node }) => reach.has(node) && isFactory(f))
        .map(({ f, node }): Reachable => ({ name: f.name, node, value: { f } })),
    ];
    return runReaching(interp, request, request.reach, options, pragmas, candidates, reach.order(defs), ints, built);
  }
  for (const { f, node } of functions) {
    if (!isFactory(f)) continue;
    const cand = factoryCandidate(interp, f, node, built(f));
    if (cand) candidates.push(cand);
  }

  // 3. classes whose constructor needs nothing the user has not given
  const traced = new Map<Candidate, Set<string>>();
  const considered: { c: ClassObj; cand: Candidate | undefined; touched: Set<string> }[] = [];
  for (const { c } of classes) {
    if (exampled.has(c)) continue;
    const touched = new Set([c.name]);
    if (trace) interp.recordLookups(touched);
    const cand = classCandidate(interp, c, options, ints);
    considered.push({ c, cand, touched });
    if (!cand) continue;
    candidates.push(cand);
    traced.set(cand, touched);
  }
  if (trace) interp.recordLookups(undefined);

  // parts of other models are not models; nor are modules without convs
  const partClasses = new Set<ClassObj>();
  for (const c of candidates) {
    if (typeof c.module === 'string') continue;
    for (const m of allModules(c.module).slice(1)) if (m.cls) partClasses.add(m.cls);
  }
  const kept = candidates.filter((c) => {
    if (typeof c.module === 'string') return false;
    if (c.kind === 'example') return true;
    if (c.kind === 'class' && partClasses.has(c.origin as ClassObj)) return false;
    if (c.kind === 'factory' && candidates.some((o) => o !== c && o.invoked.has(c.origin as FunctionObj))) return false;
    if (
      c.kind === 'class' &&
      candidates.some(
        (o) =>
          o !== c &&
          o.kind === 'factory' &&
          o.invoked.has(c.origin as ClassObj) &&
          typeof o.module !== 'string' &&
          o.module.cls === c.origin &&
          o.build === `${c.name}()`,
      )
    )
      return false;
    // a build cut short by its budget may have been about to build convs
    if (c.buildStops.some(isBudgetStop)) return true;
    // a factory's model whose parts are unknown may hold convs: reported with the reason, not dropped
    return (
      hasConvs(c.module) ||
      (c.kind === 'factory' &&
        (c.buildStops.length > 0 || allModules(c.module).some((m) => [...m.params.values()].some((p) => typeof p === 'string'))))
    );
  });
  kept.sort((a, b) => a.line - b.line);
  const models = new Map<Candidate, ModelShapes>();
  for (const c of kept) {
    program.checkInterrupt();
    if (trace) interp.recordLookups(traced.get(c));
    models.set(c, runModel(interp, c, pragmas, options, request));
  }
  if (trace) {
    interp.recordLookups(undefined);
    trace.untraced = candidates.some((c) => c.kind !== 'class') || interp.sharedWrites;
    trace.classes = considered.map(({ c, cand, touched }) => {
      const model = cand && models.get(cand);
      const outcome: ClassOutcome['outcome'] = !cand
        ? 'not runnable'
        : model
          ? 'model'
          : typeof cand.module === 'string'
            ? 'not built'
            : partClasses.has(c)
              ? 'part'
              : 'no convs';
      return { name: c.name, outcome, touched, parts: cand ? partsOf(cand.module, entry) : new Set(), model };
    });
  }
  return kept.map((c) => models.get(c)!);
}

/** A candidate a hover's run may build: a class or a factory, by its definition. */
type Reachable = Definition<{ c: ClassObj } | { f: FunctionObj }>;

/**
 * A hover's run (`InferRequest.reach`): the examples, then the candidates of `order`, built one by
 * one; a candidate whose build holds a conv made at one of the `reach` call sites not yet covered
 * is run, the others are not; it ends once every call site is covered (or nothing is left to try).
 */
function runReaching(
  interp: Interp,
  request: InferRequest,
  reach: number[],
  options: AnalysisOptions,
  pragmas: ReturnType<typeof inputPragmas>,
  examples: Candidate[],
  order: Reachable[],
  ints: Pragmas,
  built: (f: FunctionObj) => Built | undefined,
): ModelShapes[] {
  const file = request.reachIn?.file ?? interp.program.entry.path;
  const wanted = new Set(reach);
  const out: ModelShapes[] = [];
  const take = (c: Candidate | undefined) => {
    if (c?.buildStops.some(isBudgetStop)) request.spent = true;
    if (!c || typeof c.module === 'string') return;
    let hit = false;
    for (const m of allModules(c.module)) {
      if (m.native?.data.conv === undefined || m.site?.file !== file || !wanted.has(m.site.start)) continue;
      wanted.delete(m.site.start);
      hit = true;
    }
    interp.program.checkInterrupt();
    if (!hit) return;
    const model = runModel(interp, c, pragmas, options, {});
    if (model.reasons.some(isBudgetStop)) request.spent = true;
    out.push(model);
  };
  for (const c of examples) if (wanted.size) take(c);
  for (const { node, value } of order)
    if (wanted.size)
      take('c' in value ? classCandidate(interp, value.c, options, ints) : factoryCandidate(interp, value.f, node, built(value.f)));
  return out.sort((a, b) => a.line - b.line);
}

function convDims(root: ModuleObj): 1 | 2 | 3 | undefined {
  for (const m of allModules(root)) {
    const c = m.native?.data.conv as ConvData | undefined;
    if (c) return c.dims;
  }
  return undefined;
}

function runModel(
  interp: Interp,
  c: Candidate,
  pragmas: ReturnType<typeof inputPragmas>,
  options: AnalysisOptions,
  request: InferRequest,
): ModelShapes {
  countModelRun();
  const root = c.module as ModuleObj;
  const reasons = [...c.buildStops];
  const dims = convDims(root) ?? 2;

  // the input: request, pragma on the class/def, file pragma, example, option, default
  let shape: Dim[];
  let from: string;
  const pragma = c.pragmaRow !== undefined ? pragmas.byRow.get(c.pragmaRow) : undefined;
  const channel: DimVar = { name: 'C', value: undefined };
  const spatialOnly = (s: number[]) => [1, channel, ...s] as Dim[];
  const shapeFrom = (s: number[]) => (s.length === dims ? spatialOnly(s) : s);
  if (request.input) {
    shape = request.input;
    from = 'given';
  } else if (pragma) {
    shape = shapeFrom(parseShape(pragma));
    from = `pragma on ${c.kind === 'factory' ? 'def' : 'class'} ${c.name}`;
  } else if (pragmas.file) {
    shape = shapeFrom(parseShape(pragmas.file));
    from = 'file pragma';
  } else if (c.example) {
    shape = c.example.input;
    from = `example at line ${c.example.line + 1}`;
  } else if (options.inputSizes[dims]) {
    shape = spatialOnly(options.inputSizes[dims]);
    from = '--input-size';
  } else {
    shape = spatialOnly(DEFAULT_INPUT_SIZES[dims]);
    from = 'default';
  }

  // the model's calls are its forward's: not those its build made (a backbone run on `torch.zeros`
  // to read its width, as torchvision's SSD does), nor another model's that shares a module
  for (const m of allModules(root)) m.calls.length = 0;
  const base = interp.stops.length;
  const runOnce = (input: Dim[]): Attempt => {
    // each try's stops replace the previous try's
    interp.stops.length = base;
    interp.mismatches = [];
    const mark = interp.beginPhase('forward');
    const out = interp.callModule(root, { args: [{ kind: 'tensor', shape: input }], kwargs: new Map() }, c.node);
    const stops = interp.stopsSince(mark, 'forward');
    return { shape: input, out, stops, incomplete: runComplete(root, out), mismatches: interp.mismatches };
  };
  // a default input is a guess: where the model pins its input down, the input is inferred
  const guessed = from === 'default' || from === '--input-size';
  const snap = guessed ? snapshotModel(root) : undefined;
  let attempt = runOnce(shape);
  if (snap) {
    const spatial = concrete(shape.slice(2)) ?? [];
    const make = (s: number[], withChannel: boolean): Dim[] => (withChannel ? [1, { name: 'C', value: undefined }, ...s] : [1, ...s]);
    const better = searchInput(interp, root, snap, runOnce, attempt, spatial, make);
    if (better) {
      attempt = better.attempt;
      shape = attempt.shape;
      from = `inferred: ${better.why}`;
    }
  }
  let proven = attempt.mismatches;
  if (proven.length && (from.startsWith('inferred') || from === '--input-size' || from === 'default')) {
    // an input nobody gave proves only what does not depend on its size
    proven = snap && !from.startsWith('inferred') ? sizeFree(interp, snap, runOnce, attempt) : [];
  }
  const out = attempt.out;
  const runStops = attempt.stops;
  reasons.push(...runStops);
  if (out.kind === 'unknown' && runStops.length === 0) reasons.push(out.why);

  const convs: ConvInstance[] = [];
  let params: number | null = 0;
  const paths = namedModules(root);
  for (const [path, m] of paths) {
    const own = [m.native?.params ?? 0, ...m.params.values()];
    for (const p of own) {
      if (typeof p === 'string') {
        if (params !== null) reasons.push(`parameters of ${path || c.name}: ${p}`);
        params = null;
      } else if (params !== null) params += p;
    }
    const conv = m.native?.data.conv as ConvData | undefined;
    if (!conv) continue;
    convs.push(instance(path, m, conv, runStops, interp.costOptions));
  }
  if (c.buildStops.length) params = null;
  const exact = convs.every((x) => x.exact) && c.buildStops.length === 0;
  return {
    name: c.name,
    className: c.className,
    line: c.line,
    start: c.start,
    build: c.build,
    input: concrete(shape) ?? null,
    inputFrom: from,
    output: out.kind === 'unknown' ? null : plainShape(out),
    params,
    convs,
    macs: exact ? convs.reduce((s, x) => s + x.macs!, 0) : null,
    reasons: [...new Set(reasons)],
    mismatches: plainMismatches(proven, root, new Map(paths.map(([p, m]) => [m, p])), interp.program.entry.path, (n) => interp.fileOf(n)),
  };
}

/**
 * The mismatches of `attempt` (a run on an input nobody gave) that a run at twice its spatial size
 * proves again, at the same call with the same numbers: they do not depend on the input's size.
 * The heap and the stops are left as `attempt` left them.
 */
function sizeFree(interp: Interp, snap: HeapSnapshot, run: (s: Dim[]) => Attempt, attempt: Attempt): RecordedMismatch[] {
  const spatial = concrete(attempt.shape.slice(2));
  if (!spatial) return [];
  const after = snap.capture();
  const stops = interp.stops.slice();
  snap.restore();
  const again = run([attempt.shape[0], { name: 'C', value: undefined }, ...spatial.map((v) => v * 2)]);
  snap.apply(after);
  interp.stops.length = 0;
  interp.stops.push(...stops);
  interp.mismatches = attempt.mismatches;
  const key = (m: RecordedMismatch) => JSON.stringify([m.at.id, m.check, m.expected, m.got]);
  const seen = new Set(again.mismatches.map(key));
  return attempt.mismatches.filter((m) => seen.has(key(m)));
}

function instance(path: string, m: ModuleObj, conv: ConvData, runStops: string[], opts: SeparableOptions): ConvInstance {
  const calls: ConvCall[] = m.calls.map((r) => ({
    input: r.input ? (concrete(r.input) ?? null) : null,
    output: r.output ? (concrete(r.output) ?? null) : null,
    macs: r.macs ?? null,
  }));
  const unknownCall = m.calls.find((r) => r.macs === undefined);
  const exact = runStops.length === 0 && !unknownCall;
  const params = typeof m.native!.params === 'number' ? m.native!.params : 0;
  // what the rewrite of its call site makes of this module: depthwise + pointwise, whatever the
  // instance's own groups and kernel (a helper's call site builds 1x1 and depthwise instances too)
  let after: ConvInstance['after'] = null;
  if (conv.kind === 'conv' || conv.kind === 'depthwise' || conv.kind === 'pointwise' || conv.kind === 'transposed') {
    const kind = conv.kind === 'transposed' ? 'transposed' : 'conv';
    const p = convCost(conv.args, kind, undefined, opts).params.after?.constant;
    let macsAfter: number | null = 0;
    for (const r of calls) {
      // a transposed conv's output size (output_padding, output_size=) as the call produced it
      const out = kind === 'transposed' && r.output ? r.output.slice(r.output.length - conv.dims) : undefined;
      const a = r.input ? convCost(conv.args, kind, r.input.slice(r.input.length - conv.dims), opts, out).macs.after?.constant : undefined;
      macsAfter = a === undefined || macsAfter === null ? null : macsAfter + a;
    }
    if (p !== undefined) after = { params: p, macs: exact ? macsAfter : null };
  }
  return {
    path,
    op: m.native!.type,
    file: m.site?.file ?? '',
    start: m.site?.start ?? -1,
    line: m.site?.line ?? -1,
    args: conv.args,
    kind: conv.kind,
    params,
    calls,
    macs: exact ? calls.reduce((s, r) => s + r.macs!, 0) : null,
    after,
    exact,
    reason: exact ? null : (runStops[0] ?? unknownCall?.why ?? null),
    kernelIsInt: conv.kernelIsInt,
    keywords: conv.keywords,
  };
}
