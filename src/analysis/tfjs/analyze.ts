/**
 * TensorFlow.js detection: every `tf.layers` call however tfjs is brought in (queries/javascript),
 * followed through the models the file builds (evaluate.ts) to learn each conv's input channels and
 * spatial size, priced with the one cost function and judged convertible or not.
 *
 * A layer created once per call of a helper is reported once per instance (like `model.summary()`),
 * each with its own numbers; the call site is rewritten only when every instance is convertible.
 */
import type { Node, Tree } from 'web-tree-sitter';
import { convCost } from '../cost';
import type { Diagnostic, FileAnalysis, Layer, LayerKind, ModelSummary, Span, WrittenArg } from '../model';
import { inputSizeFor, type AnalysisOptions, type TfjsStyle } from '../options';
import { readPragmas } from '../kernel/pragmas';
import { matchesOnRows, rowsMatching, type LanguageId } from '../parsing';
import { Poly } from '../poly';
import { firstSyntaxError, nodeSpan as span } from '../syntax';
import { configSite, majorityQuote, placementOf, type ConfigSite, type Placement } from '../../refactor/tfjsSyntax';
import { TfjsInterpreter } from './evaluate';
import { FUNCTION_TYPES } from './syntax';
import { collectTfjsImports, layerCallPattern, resolveTfjsPath, type TfjsImports } from './imports';
import { configOf, convConfig, convOp, declaredInput } from './layers';
import { dimsText, whyNot as whyNotValue, type Dim, type Instance, type ModelState, type ShapeOrWhy, type Value } from './values';

/** Options of `tf.layers.conv2d`; any other key blocks the rewrite (its meaning in the pair is unclear). */
export const CONV2D_KEYS = new Set([
  'filters',
  'kernelSize',
  'strides',
  'padding',
  'dataFormat',
  'dilationRate',
  'activation',
  'useBias',
  'kernelInitializer',
  'biasInitializer',
  'kernelConstraint',
  'biasConstraint',
  'kernelRegularizer',
  'biasRegularizer',
  'activityRegularizer',
  'inputShape',
  'batchInputShape',
  'batchSize',
  'dtype',
  'name',
  'trainable',
  'weights',
  'inputDType',
]);

/** Keys `separableConv2d` rejects; the rewrite maps each onto its depthwise and pointwise pair. */
export const KERNEL_KEYS: Record<string, [string, string]> = {
  kernelInitializer: ['depthwiseInitializer', 'pointwiseInitializer'],
  kernelRegularizer: ['depthwiseRegularizer', 'pointwiseRegularizer'],
  kernelConstraint: ['depthwiseConstraint', 'pointwiseConstraint'],
};

/** One `tf.layers.xxx(...)` call in the text. */
export interface TfjsSite {
  index: number;
  op: string;
  span: Span;
  line: number;
  callee: string;
  calleeSpan: Span;
  /** the op name inside the callee (`conv2d` of `tf.layers.conv2d`) */
  nameSpan: Span;
  /** the callee is a bare name from a destructuring (`const {conv2d} = tf.layers`) */
  bare: boolean;
  config: ConfigSite;
  placement: Placement;
  /** the string quote the file uses most */
  quote: string;
}

/** What the report and the oracle need to know about every layer instance, convs or not. */
export interface InstanceInfo {
  site: number;
  op: string;
  params: Poly | undefined;
  /** parameters once converted (convertible convs), else the same as params */
  paramsAfter: Poly | undefined;
  input: Dim[] | undefined;
  output: Dim[] | undefined;
  why: string | undefined;
}

export interface ModelInfo {
  kind: 'sequential' | 'functional';
  span: Span;
  /** instance indices into `TfjsAnalysis.instances`, each layer once */
  layers: number[];
  params: Poly | undefined;
  paramsAfter: Poly | undefined;
  output: Dim[] | undefined;
  why: string | undefined;
}

export interface TfjsLayer extends Layer {
  framework: 'tfjs';
  site: number;
  /** index of the instance in `TfjsAnalysis.instances` */
  instance: number;
  /** the rewrite this layer gets */
  style: TfjsStyle;
  inputShape: Dim[] | undefined;
  outputShape: Dim[] | undefined;
}

export interface TfjsAnalysis extends FileAnalysis {
  framework: 'tfjs';
  layers: TfjsLayer[];
  sites: TfjsSite[];
  instances: InstanceInfo[];
  /** every model the interpreter built, with its layer instances (the oracle pairs them with tfjs's) */
  graphs: ModelInfo[];
  /** the models with convolutions, summed up as the report shows them (the same shape as PyTorch's) */
  models: ModelSummary[];
  imports: TfjsImports;
  /** layer names written as string literals */
  names: Set<string>;
}

/** A file that cannot use tfjs (no `tensorflow`, `tf` or `layers` in it) is not parsed at all. */
export const MAY_USE_TFJS = /tensorflow|\btf\b|\blayers\b/;

export function emptyTfjsAnalysis(): TfjsAnalysis {
  return {
    framework: 'tfjs',
    layers: [],
    syntaxError: undefined,
    notes: [],
    sites: [],
    instances: [],
    graphs: [],
    models: [],
    imports: { bindings: new Map(), importsTfjs: false, implicitTf: true },
    names: new Set(),
  };
}

function named(n: Node | null | undefined): Node[] {
  return n ? n.namedChildren.filter((c): c is Node => c !== null) : [];
}

/** `// sepconv: name=N` pragmas: all file-wide in JavaScript and TypeScript (kernel/pragmas.ts). */
function parsePragmas(tree: Tree, id: LanguageId, text: string): Record<string, number> {
  return readPragmas(tree.rootNode, text, id).file.ints;
}

/** Function-like nodes in source order, outer before inner: each runs on its own if never called. */
function functionNodes(root: Node): Node[] {
  const out: Node[] = [];
  // tree-sitter's own walk, in source order (a walk through Node objects costs a marshalled node each)
  for (const n of root.descendantsOfType([...FUNCTION_TYPES])) if (n) out.push(n);
  // constructors first within a class, so methods see what the constructor assigned
  return out.sort((a, b) => {
    const ca = a.type === 'method_definition' && a.childForFieldName('name')?.text === 'constructor';
    const cb = b.type === 'method_definition' && b.childForFieldName('name')?.text === 'constructor';
    if (ca !== cb && a.parent?.id === b.parent?.id) return ca ? -1 : 1;
    return a.startIndex - b.startIndex;
  });
}

/** The name a function is known by: its own, the variable, key or method it is bound to. */
function functionName(fn: Node): string | undefined {
  const own = fn.childForFieldName('name');
  // a constructor runs where its class is instantiated
  if (own?.text === 'constructor' && fn.type === 'method_definition') {
    for (let c = fn.parent; c; c = c.parent)
      if (c.type === 'class_declaration' || c.type === 'class') return c.childForFieldName('name')?.text ?? functionName(c);
  }
  if (own) return own.text;
  const p = fn.parent;
  if (p?.type === 'variable_declarator') return p.childForFieldName('name')?.text;
  if (p?.type === 'pair') return p.childForFieldName('key')?.text;
  if (p?.type === 'assignment_expression') {
    const left = p.childForFieldName('left');
    return left?.type === 'member_expression' ? left.childForFieldName('property')?.text : left?.text;
  }
  return undefined;
}

/** Names that are called (`f(...)`, `obj.f(...)`), instantiated (`new C`) or passed as a callback. */
function calledNames(root: Node): Set<string> {
  const out = new Set<string>();
  for (const n of root.descendantsOfType(['call_expression', 'new_expression'])) {
    if (!n) continue;
    const f = n.childForFieldName(n.type === 'call_expression' ? 'function' : 'constructor');
    if (f?.type === 'identifier') out.add(f.text);
    if (f?.type === 'member_expression') out.add(f.childForFieldName('property')!.text);
    for (const a of named(n.childForFieldName('arguments'))) if (a.type === 'identifier') out.add(a.text);
  }
  return out;
}

function enclosingClassName(n: Node): string | undefined {
  for (let c = n.parent; c; c = c.parent)
    if (c.type === 'class_declaration' || c.type === 'class') return c.childForFieldName('name')?.text;
  return undefined;
}

function boundName(call: Node): string | undefined {
  let n: Node = call;
  while (n.parent && ['parenthesized_expression', 'as_expression', 'await_expression', 'non_null_expression'].includes(n.parent.type))
    n = n.parent;
  const p = n.parent;
  if (p?.type === 'variable_declarator' && p.childForFieldName('name')?.type === 'identifier') return p.childForFieldName('name')!.text;
  if (p?.type === 'assignment_expression') {
    const left = p.childForFieldName('left')!;
    return left.type === 'member_expression' ? left.childForFieldName('property')!.text : left.text;
  }
  if (p?.type === 'pair') return p.childForFieldName('key')?.text;
  return undefined;
}

export function analyzeTfjs(text: string, tree: Tree, id: LanguageId, options: AnalysisOptions): TfjsAnalysis {
  const imports = collectTfjsImports(tree, id, text);
  const pragmas = parsePragmas(tree, id, text);
  const sites: TfjsSite[] = [];
  const siteByNode = new Map<number, number>();
  const callNodes: Node[] = [];
  const quote = majorityQuote(text);

  const addSite = (call: Node, op: string): number => {
    const known = siteByNode.get(call.id);
    if (known !== undefined) return known;
    const callee = call.childForFieldName('function')!;
    const nameNode = callee.type === 'member_expression' ? callee.childForFieldName('property')! : callee;
    const args = named(call.childForFieldName('arguments')).filter((a) => a.type !== 'comment');
    const site: TfjsSite = {
      index: sites.length,
      op,
      span: span(call),
      line: call.startPosition.row + 1,
      callee: callee.text.replace(/\s+/g, ''),
      calleeSpan: span(callee),
      nameSpan: span(nameNode),
      bare: callee.type === 'identifier',
      config: configSite(args[0], text),
      placement: placementOf(call, text),
      quote,
    };
    sites.push(site);
    siteByNode.set(call.id, site.index);
    callNodes.push(call);
    return site.index;
  };

  // detection: calls whose callee resolves to tf.layers.<op>
  for (const m of matchesOnRows(id, 'calls', tree.rootNode, rowsMatching(text, layerCallPattern(imports)))) {
    const call = m.captures.find((c) => c.name === 'call')!.node;
    const callee = m.captures.find((c) => c.name === 'callee')!.node;
    const path = resolveTfjsPath(callee.text, imports);
    if (path && /^layers\.[A-Za-z0-9]+$/.test(path)) addSite(call, path.slice(7));
  }
  const staticSites = new Set(sites.map((s) => s.index));

  const globals = new Map<string, string>();
  for (const [name, b] of imports.bindings) globals.set(name, b.path);
  if (imports.implicitTf && !globals.has('tf')) globals.set('tf', '');
  const interp = new TfjsInterpreter({
    options,
    pragmas,
    globals,
    siteOf: (call) => {
      const known = siteByNode.get(call.id);
      if (known !== undefined) return known;
      const callee = call.childForFieldName('function');
      const name = callee?.type === 'member_expression' ? callee.childForFieldName('property')?.text : callee?.text;
      return addSite(call, name ?? '?');
    },
  });
  const relevant = sites.length > 0 || imports.importsTfjs;
  if (relevant) {
    interp.runProgram(tree.rootNode);
    // functions nothing in the file calls run first, so helpers they call run with real arguments;
    // then whatever is still not run (helpers called only from code the analysis does not reach)
    const fns = functionNodes(tree.rootNode);
    const called = calledNames(tree.rootNode);
    for (const fn of fns) {
      const name = functionName(fn);
      if (name && !called.has(name) && !interp.selfContained(fn)) interp.runStandalone(fn);
    }
    const unreached = (fn: Node) =>
      callNodes.some(
        (c, i) => staticSites.has(i) && !interp.visited.has(c.id) && c.startIndex >= fn.startIndex && c.endIndex <= fn.endIndex,
      );
    for (const fn of fns) if (unreached(fn)) interp.runStandalone(fn);
  }

  // sites the interpreter never reached still count: priced with what they say themselves
  const bySite = new Map<number, Instance[]>();
  for (const inst of interp.instances) {
    const list = bySite.get(inst.site) ?? [];
    list.push(inst);
    bySite.set(inst.site, list);
  }
  for (const s of staticSites) {
    if (bySite.has(s)) continue;
    const call = callNodes[s];
    if (interp.visited.has(call.id)) continue; // reached, and it was not tfjs there (a shadowed name)
    const inst: Instance = {
      id: interp.instances.length,
      site: s,
      op: sites[s].op,
      config: { kind: 'unknown', why: interp.exhausted ?? 'the code around this call is not run by the analysis' },
      notes: [],
      built: false,
    };
    interp.instances.push(inst);
    bySite.set(s, [inst]);
  }

  const layers: TfjsLayer[] = [];
  const infos: InstanceInfo[] = [];
  for (const inst of interp.instances) {
    const site = sites[inst.site];
    const list = bySite.get(inst.site)!;
    const out = inst.output?.shape?.dims;
    infos.push({
      site: inst.site,
      op: inst.op,
      params: inst.params,
      paramsAfter: inst.params,
      input: inst.input?.shape?.dims,
      output: out,
      why: inst.paramsWhy,
    });
    if (!convOp(inst.op)) continue;
    layers.push(convLayer(inst, site, list, callNodes[inst.site], options));
  }
  judgeSites(layers, sites, options);
  for (const l of layers) if (l.convertible) infos[l.instance].paramsAfter = l.cost.params.after;

  const graphs: ModelInfo[] = interp.models.map((m) => modelInfo(m, infos));
  const models = summaries(interp.models, graphs, layers, text);
  const syntaxError = relevant ? firstSyntaxError(tree) : undefined;
  const notes: Diagnostic[] = interp.exhausted ? [{ message: interp.exhausted, span: { start: 0, end: 0 } }] : [];
  const names = new Set<string>();
  for (const m of matchesOnRows(id, 'names', tree.rootNode, rowsMatching(text, /\bname\b/))) {
    for (const c of m.captures) if (c.name === 'name') names.add(c.node.text);
  }
  layers.sort((a, b) => a.span.start - b.span.start || a.instance - b.instance);
  return { framework: 'tfjs', layers, syntaxError, notes, sites, instances: infos, graphs, models, imports, names };
}

/**
 * The report's model summaries: each model built in the file that holds a conv, named by the
 * function that builds it (`createModel()`) or the variable that holds it; parameters of every
 * layer and MACs of the convs, before and after the rewrite of every convertible conv.
 */
function summaries(states: ModelState[], graphs: ModelInfo[], layers: TfjsLayer[], text: string): ModelSummary[] {
  const out: ModelSummary[] = [];
  const seen = new Set<number>();
  const convOf = new Map(layers.map((l) => [l.instance, l]));
  states.forEach((m, i) => {
    const g = graphs[i];
    const convs = g.layers.map((id) => convOf.get(id)).filter((l): l is TfjsLayer => l !== undefined);
    if (convs.length === 0 || seen.has(m.call.id)) return;
    seen.add(m.call.id);
    let fn: Node | undefined;
    for (let n = m.call.parent; n && !fn; n = n.parent) if (FUNCTION_TYPES.has(n.type)) fn = n;
    const fnName = fn ? functionName(fn) : undefined;
    const name = fnName ?? boundName(m.call) ?? 'model';
    const start = fn?.startIndex ?? m.call.startIndex;
    const callee = m.call.childForFieldName('function')?.text ?? '';
    const dims = (d: Dim[] | undefined) => (d && d.every((x) => x?.constant !== undefined) ? [1, ...d.map((x) => x!.constant!)] : null);
    const assumed = convs.find((l) => l.assumptions.some((a) => a.startsWith('input ')));
    const reasons: string[] = [];
    if (g.why) reasons.push(g.why);
    let before: number | null = 0;
    let after: number | null = 0;
    let exact = 0;
    for (const l of convs) {
      const b = l.cost.macs.before?.constant;
      const a = l.convertible ? l.cost.macs.after?.constant : b;
      if (b !== undefined) exact++;
      before = before === null || b === undefined ? null : before + b;
      after = after === null || a === undefined ? null : after + a;
      const unknown = l.assumptions.find((x) => x.startsWith('channels unknown'));
      const symbols = l.cost.macs.before?.symbols() ?? [];
      const why = unknown ?? (symbols.length ? `the sizes depend on ${symbols.join(', ')} (give values with --assume)` : undefined);
      if (b === undefined && why && !reasons.includes(why)) reasons.push(why);
    }
    out.push({
      name,
      className: m.kind === 'sequential' ? 'Sequential' : 'LayersModel',
      line: text.slice(0, start).split('\n').length - 1,
      start,
      build: fnName ? `${fnName}()` : `${callee}(...)`,
      input: dims(m.input?.shape.shape?.dims),
      inputFrom: assumed ? (assumed.assumptions.find((a) => a.startsWith('input '))?.slice(6) ?? 'the model') : 'the model',
      output: dims(g.output),
      params: { before: g.params?.constant ?? null, after: g.paramsAfter?.constant ?? null },
      macs: { before, after },
      convs: convs.length,
      exactConvs: exact,
      reasons,
    });
  });
  return out;
}

function modelInfo(m: ModelState, infos: InstanceInfo[]): ModelInfo {
  const ids = [...new Set(m.layers.map((l) => l.id))];
  let params: Poly | undefined = Poly.ZERO;
  let after: Poly | undefined = Poly.ZERO;
  for (const i of ids) {
    const info = infos[i];
    params = params && info.params ? params.add(info.params) : undefined;
    after = after && info.paramsAfter ? after.add(info.paramsAfter) : undefined;
  }
  const why = m.uncertain ?? (params ? undefined : 'a layer has an unknown parameter count');
  return {
    kind: m.kind,
    span: span(m.call),
    layers: ids,
    params: m.uncertain ? undefined : params,
    paramsAfter: m.uncertain ? undefined : after,
    output: m.output?.shape.shape?.dims,
    why,
  };
}

const written = (site: TfjsSite): WrittenArg[] =>
  site.config.kind === 'literal'
    ? site.config.entries
        .filter((e) => e.key !== undefined && e.value)
        .map((e) => ({ keyword: e.key, param: e.key!, text: e.value!.text, span: e.value!.span }))
    : [];

function convLayer(inst: Instance, site: TfjsSite, siblings: Instance[], call: Node, options: AnalysisOptions): TfjsLayer {
  const spec = convOp(inst.op)!;
  const cfg = configOf(inst.config);
  let input: ShapeOrWhy | undefined = inst.input;
  if (!input) input = declaredInput(cfg) ?? { why: 'the layer is not added to a model or applied to a tensor that the analysis follows' };
  const c = convConfig(inst.op, cfg, input.shape);
  const assumptions: string[] = [];
  let spatial: number[] | undefined;
  if (inst.assumedInput) spatial = inst.assumedInput.size;
  else if (input.shape) {
    const first = c.channelsFirst;
    const dims = input.shape.dims;
    const sp = first ? dims.slice(1) : dims.slice(0, -1);
    if (sp.length === spec.dims && sp.every((d) => d?.constant !== undefined)) spatial = sp.map((d) => d!.constant!);
  }
  if (!spatial) {
    const f = inputSizeFor(options, spec.dims);
    spatial = f.size;
    // stated only where the MACs rest on it (without input channels there are none)
    if (c.args.inChannels) assumptions.push(`input ${f.size.join('x')}${f.given ? '' : ' (default)'}`);
  }
  if (input.shape) assumptions.push(...input.shape.notes.filter((n) => !assumptions.includes(n)));
  if (inst.assumedInput && !assumptions.includes(inst.assumedInput.note)) assumptions.push(inst.assumedInput.note);
  for (const n of inst.notes) if (!assumptions.includes(n)) assumptions.push(n);
  if (!c.args.inChannels) {
    const why = input.why ?? 'the channel dimension of the input is open';
    // not "input ...": front ends read assumptions starting with "input " as the input size
    assumptions.push(why.startsWith('channels unknown') ? why : `channels unknown: ${why}`);
  }
  if (siblings.length > 1) assumptions.push(`instance ${siblings.indexOf(inst) + 1} of ${siblings.length} of this call`);

  const kvol = c.args.kernelSize?.reduce((a, b) => a * b, 1);
  let kind: LayerKind = spec.kind;
  if (kind === 'conv' && kvol === 1) kind = 'pointwise';
  // --norm is PyTorch's: the tfjs rewrite puts nothing between the depthwise and pointwise halves
  const cost = convCost(c.args, kind, spatial, {
    depthMultiplier: options.depthMultiplier,
    norm: 'none',
    countBiasAdds: options.countBiasAdds,
  });
  // tfjs has no separable transposed conv: no after
  if (kind === 'transposed') cost.params.after = cost.macs.after = undefined;
  if (spec.dims !== 2) {
    cost.params.after = undefined;
    cost.macs.after = undefined;
  }
  const layer: TfjsLayer = {
    framework: 'tfjs',
    op: inst.op,
    kind,
    span: site.span,
    callee: site.callee,
    calleeSpan: site.calleeSpan,
    args: c.args,
    written: written(site),
    cost,
    convertible: false,
    reason: undefined,
    assumptions,
    warnings: [],
    className: enclosingClassName(call),
    target: nameOf(inst.config) ?? boundName(call),
    site: site.index,
    instance: inst.id,
    style: options.tfjsStyle,
    inputShape: input.shape?.dims,
    outputShape: inst.output?.shape?.dims,
  };
  layer.reason = whyNotConverted(layer, inst, site, c.unresolved, options);
  layer.convertible = layer.reason === undefined;
  return layer;
}

function nameOf(config: Value): string | undefined {
  const v = config.kind === 'object' ? config.props.get('name') : undefined;
  return v?.kind === 'str' ? v.value : undefined;
}

function whyNotConverted(
  layer: TfjsLayer,
  inst: Instance,
  site: TfjsSite,
  unresolved: string[],
  options: AnalysisOptions,
): string | undefined {
  switch (inst.op) {
    case 'conv1d':
      return 'tfjs has no separable or depthwise 1d convolution layer (there is no tf.layers.separableConv1d)';
    case 'conv3d':
      return 'tfjs has no separable or depthwise 3d convolution layer';
    case 'conv2dTranspose':
    case 'conv3dTranspose':
      return 'transposed convolutions are not converted (tfjs has no separable transposed convolution)';
    case 'separableConv2d':
      return 'already depthwise separable';
    case 'depthwiseConv2d':
      return 'already depthwise';
  }
  const problem = configProblem(inst.config, site);
  if (problem) return problem;
  const { args } = layer;
  // what is known settles it before what is not: a 1x1 conv is pointwise whatever else is open
  if (args.kernelSize?.every((k) => k === 1)) return '1x1 kernel: already pointwise';
  if (unresolved.length) return `could not resolve ${unresolved.join('; ')}`;
  const kvol = args.kernelSize!.reduce((a, b) => a * b, 1);
  if (args.inChannels?.constant === 1) {
    return 'the input has 1 channel: the depthwise conv would be one filter scaled per output channel (MobileNet keeps such a first conv standard)';
  }
  // params: m*Cin*(kvol + Cout) + bias vs Cin*Cout*kvol + bias: the comparison does not depend on Cin
  const cout = args.outChannels!;
  const syms = cout.symbols();
  const at = Object.fromEntries(syms.map((s) => [s, 2]));
  const co = cout.substitute(at).constant!;
  const m = options.depthMultiplier;
  if (m * (kvol + co) >= co * kvol) {
    const b = layer.cost.params.before?.constant;
    const a = layer.cost.params.after?.constant;
    if (a !== undefined && b !== undefined) return `the separable form is not smaller (${a} vs ${b} params)`;
    return syms.length
      ? `the separable form is not smaller for small widths (${syms.join(', ')} = 2)`
      : `the separable form is not smaller (${m}·Cin·(${kvol} + ${co}) vs ${co}·Cin·${kvol} weights)`;
  }
  return undefined;
}

/** What in the config stops a rewrite: keys the tool cannot place, values from where it cannot edit. */
function configProblem(config: Value, site: TfjsSite): string | undefined {
  const c = site.config;
  if (c.kind === 'none') return 'the layer has no config object';
  if (config.kind !== 'object')
    return `the config \`${c.kind === 'expression' ? c.text : '…'}\` could not be resolved (${whyNotValue(config, 'it')})`;
  if (config.open)
    return `the config's keys are not all known: ${config.open} (it could hold kernelInitializer, which separableConv2d rejects)`;
  for (const key of config.props.keys()) {
    if (!CONV2D_KEYS.has(key))
      return `\`${key}\` is not a tf.layers.conv2d option; the rewrite cannot tell which of the two layers it belongs to`;
  }
  if (config.props.has('weights')) return 'initial `weights` are given for the standard kernel; they do not fit the separable layers';
  const writtenKeys = new Set(c.kind === 'literal' ? c.entries.map((e) => e.key).filter((k) => k !== undefined) : []);
  for (const key of Object.keys(KERNEL_KEYS)) {
    if (config.props.has(key) && !writtenKeys.has(key)) {
      const from =
        c.kind === 'literal'
          ? `a spread (${c.entries
              .filter((e) => e.kind === 'spread')
              .map((e) => `...${e.value!.text}`)
              .join(', ')})`
          : `\`${c.kind === 'expression' ? c.text : ''}\``;
      return `${key} comes from ${from}; separableConv2d rejects it and the rewrite only maps keys written in the call`;
    }
  }
  return undefined;
}

/**
 * A call site is rewritten only when every instance of it is convertible; the split style falls
 * back to separableConv2d where it cannot be spliced (dilation, spreads, a layer held in a variable).
 */
function judgeSites(layers: TfjsLayer[], sites: TfjsSite[], options: AnalysisOptions): void {
  const bySite = new Map<number, TfjsLayer[]>();
  for (const l of layers) bySite.set(l.site, [...(bySite.get(l.site) ?? []), l]);
  for (const [s, list] of bySite) {
    const site = sites[s];
    const blocked = list.find((l) => !l.convertible);
    if (blocked && list.some((l) => l.convertible)) {
      const n = list.indexOf(blocked) + 1;
      for (const l of list) {
        if (!l.convertible) continue;
        l.convertible = false;
        l.reason = `instance ${n} of this call is not converted (${blocked.reason}), and the call is rewritten for all of them or none`;
      }
    }
    if (!list[0].convertible) continue;
    let style: TfjsStyle = options.tfjsStyle;
    let why: string | undefined;
    if (style === 'split') {
      if (list.some((l) => !l.args.dilation || l.args.dilation.some((d) => d !== 1)))
        why = 'it is dilated and depthwiseConv2d ignores dilationRate';
      else if (site.config.kind !== 'literal' || site.config.entries.some((e) => e.kind !== 'pair' && e.kind !== 'shorthand'))
        why = 'its config is not a plain object literal, so its keys cannot be divided between two layers';
      else if (site.placement.kind === 'other')
        why =
          'it is not written in a layers array, a model.add(...) statement or an .apply(...) chain, where two layers can stand in its place';
      if (why) style = 'separable';
    }
    for (const l of list) {
      l.style = style;
      if (options.norm !== 'none')
        l.warnings.push(
          `--norm ${options.norm} applies to PyTorch only: separableConv2d has no place for a normalisation between its halves`,
        );
      if (why) l.warnings.push(`the split style is not possible here (${why}): rewritten as separableConv2d`);
      l.warnings.push(
        style === 'split'
          ? 'the layer becomes two (depthwiseConv2d + a 1x1 conv2d): saved weights for it no longer load and model.layers indices after it shift by one'
          : 'saved weights for this layer no longer load: its kernel becomes a depthwise and a pointwise kernel',
      );
    }
  }
}

export function describeShape(s: Dim[] | undefined): string {
  return s ? `[${dimsText(s).split('x').join(', ')}]` : 'unknown';
}
