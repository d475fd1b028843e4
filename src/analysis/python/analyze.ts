/**
 * PyTorch detection: every `nn.Conv1d/2d/3d` (and transposed and lazy variants) however imported,
 * its arguments mapped onto the signature and evaluated, priced, and judged convertible or not.
 */
import type { Node, Tree } from 'web-tree-sitter';
import { parentOf } from '../ancestry';
import { convCost } from '../cost';
import { transposedOutputSize } from '../kernel/conv';
import type { ConvArgs, FileAnalysis, Layer, LayerKind, ModelSummary, Padding, Span, WrittenArg } from '../model';
import { inputSizeFor, type AnalysisOptions } from '../options';
import { readPragmas } from '../kernel/pragmas';
import { matchesOnRows, rowsMatching } from '../parsing';
import { Poly } from '../poly';
import { firstSyntaxError } from '../syntax';
import {
  classBases,
  CONV,
  convSubclassOf,
  convSubclasses,
  dottedText,
  partialAt,
  partialConvs,
  subclassBlocker,
  topLevelClasses,
  withoutInit,
  type PartialConv,
} from './convClasses';
import { PythonEvaluator, enclosing, paramName, type EvalContext, type Value } from './evaluate';
import { convSignature } from './convSignature';
import { collectImports, resolveDotted, type ImportMap } from './imports';
import type { LayerMemo } from './incremental';
import { ReferenceIndex, scopeNode, type ModuleSite, type Reference } from './references';

/** Everything the refactoring needs beyond the plain `Layer`. */
export interface PythonLayer extends Layer {
  framework: 'pytorch';
  /** the `(...)` argument list */
  argsSpan: Span;
  /** the `from torch.nn import` statement that brought a bare callee in */
  site: ModuleSite;
  references: Reference[];
  /** comments inside the call not attached to an argument (see `WrittenArg.comments`), kept by the rewrite */
  comments: string[];
  /** the call is inside an f-string: before Python 3.12 its rewrite must stay on one line */
  inFString?: true;
  /** symbols left in the arguments */
  symbols: string[];
  /** the helper function (not a module's `__init__`) whose body builds it */
  helper?: string;
  /** declined only because an argument could not be evaluated statically (shape inference may know it) */
  unresolvedOnly?: boolean;
  /**
   * the decision rests on what callers pass (a parameter's default, a symbol, an unresolved argument):
   * the modules shape inference built at the line may decide it (shapes/index.ts `fromInstances`)
   */
  callerDependent?: boolean;
  /** the callee is a parameter that defaults to this conv class (`conv_layer=torch.nn.Conv2d`): names the rewrite's Sequential */
  classPath?: string;
  /** `**name` in the call: a dict whose keys come from the callers (`**kwargs`, `**dd`) */
  splat?: string;
  /** which new convs the `**` dict goes to: its keys are geometry (depthwise only) or device/dtype (both) */
  splatTo?: 'depthwise' | 'both';
  /**
   * the call is `super().__init__(...)` in a class of the file that derives from a conv class
   * (`class Conv3DSimple(nn.Conv3d)`): the rewrite makes the class an `nn.Sequential` of the pair
   */
  subclass?: { name: string; base: string; baseSpan: Span };
  /** the callee is a `functools.partial` of a conv class: the keywords it binds (the rewrite overrides those the pointwise conv must not take) */
  bound?: string[];
}

export interface PythonAnalysis extends FileAnalysis {
  framework: 'pytorch';
  layers: PythonLayer[];
  imports: ImportMap;
  /** `input=1x3x224x224` and other non-integer pragma values, for shape inference */
  pragmaText: Record<string, string>;
  /** the models shape inference found and ran, with their totals (`shapes/index.ts`) */
  models?: ModelSummary[];
}

interface Pragmas {
  /** by the row of the `class` or `def` line they stand on (kernel/pragmas.ts: their scope) */
  definitionPragmas: Map<number, Record<string, number>>;
  file: Record<string, number>;
  text: Record<string, string>;
}

/**
 * What a layer's analysis reads of the whole module: imports, the names it defines, pragmas, and
 * (built when first asked) the rows that may read a conv's attributes. Plain data: it outlives
 * the tree, and the memo carries it over keystrokes that cannot change it.
 */
export interface ModuleContext {
  imports: ImportMap;
  defined: ReadonlySet<string>;
  pragmas: Pragmas;
  readRows?: [number, number][];
  /** and the rows that may bind another name to a module (`w = self.conv`, `for c in [...]`) */
  aliasRows?: [number, number][];
  /** the bases of each top-level class, as written (`Conv3DSimple` -> [`nn.Conv3d`]) */
  classBases: Map<string, string[]>;
}

function moduleContext(tree: Tree, text: string): ModuleContext {
  return {
    imports: collectImports(tree, text),
    defined: definedNames(text),
    pragmas: parsePragmas(tree, text),
    classBases: classBases(text),
  };
}

function parsePragmas(tree: Tree, source: string): Pragmas {
  const p = readPragmas(tree.rootNode, source, 'python');
  const definitionPragmas = new Map<number, Record<string, number>>();
  const text: Record<string, string> = { ...p.file.text };
  for (const [row, v] of p.definitions) {
    definitionPragmas.set(row, v.ints);
    Object.assign(text, v.text);
  }
  return { definitionPragmas, file: p.file.ints, text };
}

/**
 * Module-level names the file defines itself, which shadow the implicit `nn`/`torch` and star
 * imports: `class X`, `def X`, `X = ...` at the start of a line (module level in Python). A text scan:
 * it runs on every keystroke in the editor, and a walk over every top-level node does not.
 */
function definedNames(text: string): Set<string> {
  const out = new Set<string>();
  // only lines that start with a name can define one: look at those alone (a regex anchored on every
  // line start costs as much as the text is long)
  const at = /(?:(?:async[ \t]+)?def|class)[ \t]+([A-Za-z_]\w*)|([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=(?!=)/y;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 95 || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
      at.lastIndex = i;
      const m = at.exec(text);
      if (m) out.add(m[1] ?? m[2]);
    }
    const nl = text.indexOf('\n', i);
    if (nl < 0) break;
    i = nl + 1;
  }
  return out;
}

/**
 * Parameters whose default is a conv class (`conv_layer: Callable[..., nn.Module] = torch.nn.Conv2d`,
 * torchvision's ConvNormActivation): a call of one builds that conv unless a caller passes another.
 */
const CONV_PARAMETER =
  /\b([A-Za-z_]\w*)\s*(?::[^=,()]*(?:\[[^\]]*\][^=,()]*)?)?=\s*((?:[A-Za-z_]\w*\.)*(?:Lazy)?Conv(?:Transpose)?[123]d)\b(?!\s*\()/g;

/**
 * The end of every CONV_PARAMETER match (`= torch.nn.Conv2d` not called), found from its `=`: fast on
 * any text, where CONV_PARAMETER tries a match at every word. A text without one has no conv
 * parameter (two such ends cannot overlap: each holds one `=`, at its start).
 */
const CONV_DEFAULT = /=\s*(?:[A-Za-z_]\w*\.)*(?:Lazy)?Conv(?:Transpose)?[123]d\b(?!\s*\()/;

function convParameters(text: string): Set<string> {
  if (!CONV_DEFAULT.test(text)) return new Set();
  return new Set([...text.matchAll(CONV_PARAMETER)].map((m) => m[1]));
}

/** The conv class a parameter named like `callee` of the function around `call` defaults to. */
function parameterDefault(call: Node, callee: string): Node | undefined {
  for (let fn = enclosing(call, 'function_definition'); fn; fn = enclosing(fn, 'function_definition')) {
    for (const p of fn.childForFieldName('parameters')?.namedChildren ?? []) {
      if (!p || !p.type.includes('default') || paramName(p) !== callee) continue;
      return p.childForFieldName('value') ?? undefined;
    }
  }
  return undefined;
}

/** Lines that can hold a conv call: `.Conv2d` and friends, the bare names imports and partials bind to them, and `super(` in a conv subclass. */
function convCallPattern(imports: ImportMap, params: ReadonlySet<string>, subclasses: boolean): RegExp {
  const bare = [...imports.bindings].filter(([, b]) => CONV.test(b.target)).map(([local]) => local);
  bare.push(...params);
  if (imports.starModules.includes('torch.nn')) bare.push('(?:Lazy)?Conv(?:Transpose)?[123]d');
  if (subclasses) bare.push('super');
  const alternatives = ['\\.\\s*(?:Lazy)?Conv(?:Transpose)?[123]d\\b', ...bare.map((b) => `(?<![\\w.])${b}\\s*\\(`)];
  return new RegExp(alternatives.join('|'));
}

function rowOf(text: string, offset: number): number {
  let row = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) row++;
  return row;
}

/** Can this text hold a PyTorch conv at all? Files that cannot are not parsed. */
export const MAY_HOLD_CONV = /Conv(?:Transpose)?[123]d/;

/**
 * With `range`, only the convs whose call starts on the rows of that span are analysed (a visible
 * range, a hover): the context they need (imports, module constants, pragmas) is still the file's.
 */
export function analyzePython(text: string, tree: Tree, options: AnalysisOptions, range?: Span, memo?: LayerMemo): PythonAnalysis {
  // the static pass reads no installed package: its memo outlives the Python environment's arrival
  const kept = memo?.begin(text, tree, JSON.stringify({ ...options, python: undefined }));
  // what every layer reads of the module; a local keystroke (see LayerMemo) leaves it as it was
  const module = memo?.context ?? moduleContext(tree, text);
  if (memo) memo.context = module;
  const { imports, defined, pragmas } = module;
  const ctx: EvalContext = {
    assumptions: options.assumptions,
    definitionPragmas: pragmas.definitionPragmas,
    filePragmas: pragmas.file,
    moduleArgument: (call, param) => convArgumentOf(call, param, imports, defined),
  };
  const refs = new ReferenceIndex(tree, text, module);
  const layers: PythonLayer[] = [];
  const seen = new Set<number>();
  const params = convParameters(text);
  const subclasses = convSubclasses(module);
  const partials = /\bpartial\b/.test(text) ? partialConvs(tree, text, imports, defined) : new Map<string, PartialConv[]>();
  const pattern = convCallPattern(imports, new Set([...params, ...partials.keys(), ...subclasses.keys()]), subclasses.size > 0);
  let classNodes: Map<string, Node> | undefined;
  let rows: [number, number][];
  if (range) {
    // scan only the range's lines
    const first = rowOf(text, range.start);
    const from = text.lastIndexOf('\n', range.start - 1) + 1;
    rows = rowsMatching(text.slice(from, range.end), pattern).map(([a, b]) => [a + first, b + first]);
  } else {
    rows = rowsMatching(text, pattern);
  }
  for (const m of matchesOnRows('python', 'calls', tree.rootNode, rows)) {
    const call = m.captures.find((c) => c.name === 'call')!.node;
    if (seen.has(call.id)) continue;
    const callee = m.captures.find((c) => c.name === 'callee')!.node;
    let resolved = resolveDotted(dottedText(callee), imports, defined);
    // a parameter that defaults to a conv class: its default names the conv
    let classPath: string | undefined;
    if (!(resolved && CONV.test(resolved)) && callee.type === 'identifier' && params.has(callee.text)) {
      const dflt = parameterDefault(call, callee.text);
      if (dflt) {
        classPath = dottedText(dflt);
        resolved = resolveDotted(classPath, imports, defined);
      }
    }
    // `super().__init__(...)` in a conv subclass, a call of a partial of a conv class
    const subclass = !(resolved && CONV.test(resolved)) ? convSubclassOf(callee, subclasses) : undefined;
    if (subclass) resolved = subclasses.get(subclass.childForFieldName('name')!.text)!.resolved;
    const partial =
      !(resolved && CONV.test(resolved)) && callee.type === 'identifier' && partials.has(callee.text)
        ? partialAt(call, callee.text, partials)
        : undefined;
    if (partial) resolved = partial.resolved;
    // `MyConv(64, 128, 3)` of `class MyConv(nn.Conv2d)` without an `__init__`: the conv's own signature, built at the call
    const plainSubclass =
      !(resolved && CONV.test(resolved)) && callee.type === 'identifier' && subclasses.has(callee.text)
        ? withoutInit((classNodes ??= topLevelClasses(tree)).get(callee.text))
        : undefined;
    if (plainSubclass) resolved = subclasses.get(callee.text)!.resolved;
    const hit = resolved ? CONV.exec(resolved) : null;
    if (!hit) continue;
    seen.add(call.id);
    const reused = kept?.(call);
    const searched = memo && !reused ? new Set<string>() : undefined;
    const layer = reused ?? analyzeCall(call, callee, hit, ctx, refs, options, searched, partial);
    if (classPath !== undefined && !reused) {
      layer.classPath = classPath;
      layer.assumptions.push(`\`${callee.text}\` is ${classPath} (the default of the parameter)`);
    }
    if (partial && !reused) {
      layer.classPath = partial.classPath;
      layer.bound = [...partial.keywords.keys()];
      layer.assumptions.push(
        `\`${callee.text}\` is partial(${partial.classPath}${[...partial.keywords].map(([k, v]) => `, ${k}=${v.text}`).join('')})`,
      );
    }
    if (plainSubclass && !reused) {
      layer.classPath = subclasses.get(callee.text)!.base;
      declineLayer(layer, subclassBlocker(plainSubclass, undefined, module));
    }
    if (subclass && !reused) {
      const name = subclass.childForFieldName('name')!.text;
      const base = subclass.childForFieldName('superclasses')!.namedChildren.find((c) => c && c.type !== 'comment')!;
      layer.subclass = { name, base: dottedText(base), baseSpan: { start: base.startIndex, end: base.endIndex } };
      layer.classPath = dottedText(base);
      layer.target = undefined;
      if (!declineLayer(layer, subclassBlocker(subclass, call, module)) && layer.convertible) markConvertible(layer, options);
    }
    const keptBy = reused ? undefined : guardedAlternative(call);
    if (keptBy) declineLayer(layer, `the conv a guarded rewrite keeps where \`${keptBy}\` does not hold`);
    if (!reused) memo?.record(layer, tree, searched);
    layers.push(layer);
  }
  layers.sort((a, b) => a.span.start - b.span.start);
  return { framework: 'pytorch', layers, imports, syntaxError: firstSyntaxError(tree), notes: [], pragmaText: pragmas.text };
}

interface MappedArguments {
  written: WrittenArg[];
  nodes: Map<string, Node>;
  comments: string[];
  problem: string | undefined;
  /** the dict of a `**name` argument */
  splat?: string;
}

/** Positional and keyword arguments mapped onto the signature. */
function mapArguments(argList: Node, sig: string[]): MappedArguments {
  const out: MappedArguments = { written: [], nodes: new Map(), comments: [], problem: undefined };
  let positional = 0;
  // a comment after an argument on its line belongs to it; one on lines of its own to the next argument
  let pending: string[] = [];
  let lastRow = -1;
  for (const a of argList.namedChildren) {
    if (!a) continue;
    if (a.type === 'comment') {
      const prev = out.written[out.written.length - 1];
      if (prev && !prev.comments?.after && a.startPosition.row === lastRow && !pending.length)
        (prev.comments ??= { before: [] }).after = a.text;
      else pending.push(a.text);
      continue;
    }
    const attach = () => {
      const w = out.written[out.written.length - 1];
      if (pending.length) (w.comments ??= { before: [] }).before.push(...pending);
      pending = [];
      lastRow = a.endPosition.row;
    };
    if (a.type === 'list_splat' || a.type === 'dictionary_splat') {
      out.comments.push(...pending);
      pending = [];
      lastRow = -1;
      const dict = a.type === 'dictionary_splat' ? a.namedChildren.find((c) => c?.type !== 'comment') : undefined;
      // one `**name` (a name or attribute) is followed through the modules built with it; anything else is not
      if (dict && /^(identifier|attribute)$/.test(dict.type) && out.splat === undefined) out.splat = dict.text;
      else out.problem ??= `arguments passed with \`${a.text}\` cannot be resolved statically`;
    } else if (a.type === 'keyword_argument') {
      const name = a.childForFieldName('name')!.text;
      const value = a.childForFieldName('value')!;
      if (!sig.includes(name)) out.problem ??= `unknown keyword argument \`${name}\``;
      out.written.push({ keyword: name, param: name, text: value.text, span: { start: value.startIndex, end: value.endIndex } });
      out.nodes.set(name, value);
      attach();
    } else {
      const param = sig[positional];
      if (!param) out.problem ??= 'too many positional arguments';
      out.written.push({ param: param ?? '?', index: positional, text: a.text, span: { start: a.startIndex, end: a.endIndex } });
      if (param) out.nodes.set(param, a);
      attach();
      positional++;
    }
  }
  out.comments.push(...pending);
  return out;
}

/** The argument node for `param` of a conv call, for `self.conv2.out_channels` read elsewhere. */
function convArgumentOf(call: Node, param: string, imports: ImportMap, defined: ReadonlySet<string>): Node | undefined {
  const fn = call.childForFieldName('function');
  const resolved = fn ? resolveDotted(dottedText(fn), imports, defined) : undefined;
  const hit = resolved ? CONV.exec(resolved) : null;
  if (!hit) return undefined;
  return mapArguments(call.childForFieldName('arguments')!, convSignature(!!hit[1], !!hit[2])).nodes.get(param);
}

function analyzeCall(
  call: Node,
  callee: Node,
  hit: RegExpExecArray,
  ctx: EvalContext,
  refs: ReferenceIndex,
  options: AnalysisOptions,
  /** filled with the names whose bindings the evaluation searched */
  searched?: Set<string>,
  /** the callee is a partial of the conv class: its keywords apply where the call does not give them */
  partial?: PartialConv,
): PythonLayer {
  const lazy = !!hit[1];
  const transposed = !!hit[2];
  const dims = Number(hit[3]) as 1 | 2 | 3;
  const op = `${lazy ? 'Lazy' : ''}Conv${transposed ? 'Transpose' : ''}${dims}d`;
  const assumptions: string[] = [];
  const evaluator = new PythonEvaluator(
    ctx,
    (a) => {
      if (!assumptions.includes(a)) assumptions.push(a);
    },
    searched,
  );
  const argList = call.childForFieldName('arguments')!;
  const { written, nodes: argNodes, comments, problem: mapProblem, splat } = mapArguments(argList, convSignature(lazy, transposed));
  let problem = mapProblem ?? partial?.problem;
  const unresolved: string[] = [];
  for (const [k, node] of partial?.keywords ?? []) {
    const own = written.find((w) => w.param === k);
    if (own?.keyword === undefined && own) problem ??= `\`${k}\` is given by position and by the partial`;
    if (!own) argNodes.set(k, node);
  }
  const given = (p: string) => written.some((w) => w.param === p) || !!partial?.keywords.has(p);
  if (splat !== undefined) unresolved.push(`\`**${splat}\` (its keys are known only from the modules built with it)`);

  const valueOf = (param: string): Value | undefined => {
    const n = argNodes.get(param);
    return n ? evaluator.eval(n) : undefined;
  };
  const intArg = (param: string, dflt: number | undefined): Poly | undefined => {
    const v = valueOf(param);
    if (v === undefined) return dflt === undefined ? undefined : Poly.const(dflt);
    if (v.kind === 'int') return v.poly;
    if (v.kind === 'bool') return Poly.const(v.value ? 1 : 0);
    unresolved.push(`${param} (${v.kind === 'unknown' ? v.why : 'not an integer'})`);
    return undefined;
  };
  const tupleArg = (param: string, dflt: number): number[] | undefined => {
    const v = valueOf(param) ?? { kind: 'int', poly: Poly.const(dflt) };
    const asNum = (x: Value) => (x.kind === 'int' ? x.poly.constant : undefined);
    if (v.kind === 'int' && asNum(v) !== undefined) return Array<number>(dims).fill(asNum(v)!);
    if (v.kind === 'tuple' && v.items.length === dims && v.items.every((x) => asNum(x) !== undefined)) return v.items.map((x) => asNum(x)!);
    unresolved.push(
      `${param} (${v.kind === 'unknown' ? v.why : v.kind === 'int' ? `symbolic: ${v.poly.toString()}` : 'not an int or a tuple of ' + dims})`,
    );
    return undefined;
  };
  const paddingArg = (): Padding | undefined => {
    const v = valueOf('padding');
    if (v?.kind === 'str') {
      if (v.value === 'same' || v.value === 'valid') return v.value;
      unresolved.push(`padding ('${v.value}' is not 'same' or 'valid')`);
      return undefined;
    }
    return tupleArg('padding', 0);
  };
  const biasArg = (): boolean | undefined => {
    const v = valueOf('bias');
    if (v === undefined) return true;
    if (v.kind === 'bool') return v.value;
    if (v.kind === 'int' && v.poly.isConstant) return v.poly.constant !== 0;
    unresolved.push(`bias (${v.kind === 'unknown' ? v.why : 'not a bool'})`);
    return undefined;
  };

  const args: ConvArgs = {
    dims,
    inChannels: lazy ? undefined : intArg('in_channels', undefined),
    outChannels: intArg('out_channels', undefined),
    kernelSize: tupleArg('kernel_size', NaN),
    stride: tupleArg('stride', 1),
    padding: paddingArg(),
    dilation: tupleArg('dilation', 1),
    groups: intArg('groups', 1),
    bias: biasArg(),
  };
  if (args.kernelSize?.some((k) => Number.isNaN(k))) {
    args.kernelSize = undefined;
    if (!given('kernel_size') && splat === undefined) problem ??= 'kernel_size is missing';
  }
  if (!lazy && !given('in_channels')) problem ??= 'in_channels is missing';
  if (!given('out_channels')) problem ??= 'out_channels is missing';

  const kvol = args.kernelSize?.reduce((a, b) => a * b, 1);
  let kind: LayerKind = lazy ? 'lazy' : transposed ? 'transposed' : 'conv';
  if (kind === 'conv' && args.groups && args.inChannels && args.groups.equals(args.inChannels) && !args.groups.equals(Poly.ONE))
    kind = 'depthwise';
  else if (kind === 'conv' && kvol === 1) kind = 'pointwise';

  const input = inputSizeFor(options, dims);
  assumptions.unshift(`input ${input.size.join('x')}${input.given ? '' : ' (default)'}`);
  // a transposed conv's output_padding adds to its output size (the pointwise conv's MACs run on it)
  const outputPadding = transposed ? tupleArg('output_padding', 0) : undefined;
  const tOut =
    transposed && args.kernelSize && args.stride && args.padding && args.dilation
      ? transposedOutputSize(input.size, args.kernelSize, args.stride, args.padding, args.dilation)
      : undefined;
  const cost = convCost(args, kind, input.size, options, tOut && outputPadding ? tOut.map((o, i) => o + outputPadding[i]) : undefined);

  const symbols = [...new Set([args.inChannels, args.outChannels, args.groups].flatMap((p) => p?.symbols() ?? []))];
  const site = moduleSite(call);
  const cls = enclosing(call, 'class_definition');
  // pointwise and depthwise too: judged on a default, the line may still build standard convs for some callers
  const references = kind !== 'lazy' ? [...refs.find(site), ...reparametrized(cls, site.attribute)] : [];
  const layer: PythonLayer = {
    framework: 'pytorch',
    op,
    kind,
    span: { start: call.startIndex, end: call.endIndex },
    callee: dottedText(callee),
    calleeSpan: { start: callee.startIndex, end: callee.endIndex },
    argsSpan: { start: argList.startIndex, end: argList.endIndex },
    args,
    written,
    cost,
    convertible: false,
    reason: undefined,
    assumptions,
    warnings: [],
    className: cls?.childForFieldName('name')?.text,
    target: siteName(site),
    // no tree-sitter node may outlive the analysis: the tree is deleted after it
    site: { attribute: site.attribute, sequential: site.sequential },
    references,
    comments,
    symbols,
    ...(enclosing(call, 'interpolation') ? { inFString: true as const } : {}),
    ...(splat !== undefined ? { splat } : {}),
  };
  layer.helper = builtByHelper(call);
  layer.reason = whyNot(layer, problem, unresolved);
  layer.unresolvedOnly = !problem && unresolved.length > 0;
  layer.callerDependent = !problem && (unresolved.length > 0 || symbols.length > 0 || assumptions.some((a) => a.includes('(default of ')));
  if (layer.reason === undefined) markConvertible(layer, options);
  return layer;
}

/** A layer the rewrite will convert, with the warnings that go with it. */
export function markConvertible(layer: PythonLayer, options: AnalysisOptions): void {
  layer.convertible = true;
  layer.reason = undefined;
  layer.warnings = [];
  const key = layer.target ? `${layer.target}.` : '';
  const pointwise = options.norm === 'none' ? 1 : options.norm === 'bn' ? 2 : 3;
  layer.warnings.push(
    `checkpoint keys change: ${key}weight -> ${key}0.weight (depthwise) and ${key}${pointwise}.weight (pointwise); old checkpoints will not load`,
  );
  if (layer.helper) layer.warnings.push(`built by \`${layer.helper}()\`: the rewrite changes every layer it builds, for every caller`);
  if (layer.subclass)
    layer.warnings.push(
      `\`${layer.subclass.name}\` becomes an nn.Sequential of the depthwise and pointwise convs: every instance changes, and code that reads an instance's \`.weight\`, \`.in_channels\`, ... must read \`[0]\` or \`[-1]\``,
    );
  for (const r of layer.references) {
    const base = r.text.slice(0, r.text.length - r.field.length - 1);
    if (r.also)
      layer.warnings.push(
        `line ${r.line + 1}: the initialiser of \`${r.text}\` is applied to \`${base}[0].weight\` and \`${base}[-1].weight\` (depthwise and pointwise)`,
      );
    else if (r.replacement) layer.warnings.push(`line ${r.line + 1}: \`${r.text}\` becomes \`${base}${r.replacement}\``);
  }
}

/**
 * A library call that takes the conv module itself and works on its `weight`
 * (`self.conv = nn.utils.weight_norm(self.conv, ...)`, spectral_norm, parametrizations, pruning):
 * on the separable `Sequential` it fails, so such a call in the class blocks the conversion.
 */
const REPARAMETRIZE =
  /\b(weight_norm|spectral_norm|remove_weight_norm|remove_spectral_norm|register_parametrization|orthogonal|prune\.\w+|fuse_modules)\s*\(\s*self\s*\.\s*(\w+)\b/g;

function reparametrized(cls: Node | null | undefined, attribute: string | undefined): Reference[] {
  if (!cls || attribute === undefined) return [];
  const text = cls.text;
  for (const m of text.matchAll(REPARAMETRIZE)) {
    if (m[2] !== attribute) continue;
    const start = cls.startIndex + m.index;
    const line = cls.startPosition.row + (text.slice(0, m.index).match(/\n/g)?.length ?? 0);
    const call = m[0].replace(/\s+/g, '');
    return [
      {
        text: `${call}…)`,
        line,
        fieldSpan: { start, end: start + m[0].length },
        field: m[1],
        replacement: null,
        why: `\`${m[1]}()\` works on the conv's weight`,
      },
    ];
  }
  return [];
}

/** The function (other than a method of a module class) that builds this conv for its callers. */
function builtByHelper(call: Node): string | undefined {
  const fn = enclosing(call, 'function_definition');
  if (!fn) return undefined;
  const name = fn.childForFieldName('name')?.text;
  return name === '__init__' ? undefined : name;
}

function whyNot(layer: PythonLayer, problem: string | undefined, unresolved: string[]): string | undefined {
  const { args, kind, op } = layer;
  if (problem) return problem;
  if (kind === 'lazy') return `${op} infers in_channels at its first call; the separable form needs it written`;
  if (kind === 'transposed' && args.groups && args.inChannels && args.groups.equals(args.inChannels) && !args.groups.equals(Poly.ONE))
    return 'already depthwise (groups == in_channels)';
  // what is known settles it before what is not: a 1x1 conv is pointwise whatever its widths
  if (kind === 'pointwise') return '1x1 kernel: already pointwise';
  if (kind === 'depthwise') return 'already depthwise (groups == in_channels)';
  // a read the rewrite cannot follow blocks whatever the arguments turn out to be
  const blockingRead = layer.references.find((r) => r.replacement === null);
  if (unresolved.length > 0 && blockingRead) return blocked(blockingRead);
  if (unresolved.length > 0) return `could not resolve ${unresolved.join('; ')}`;
  if (!args.inChannels || !args.outChannels || !args.groups) return 'channel counts could not be resolved';
  if (args.inChannels.constant === 1) {
    return 'in_channels is 1: the depthwise conv would be one filter scaled per output channel (MobileNet keeps such a first conv standard)';
  }
  const g = args.groups;
  if (!args.inChannels.divBy(g) || !args.outChannels.divBy(g)) return 'in_channels and out_channels must both divide by groups';
  if (blockingRead) return blocked(blockingRead);
  const before = layer.cost.params.before;
  const after = layer.cost.params.after;
  if (!before || !after) return 'the cost could not be computed';
  // symbolic widths: judged at the smallest non-trivial width (every symbol = 2)
  const at = Object.fromEntries(layer.symbols.map((s) => [s, 2]));
  const b = before.substitute(at).constant!;
  const a = after.substitute(at).constant!;
  if (a >= b) {
    return before.isConstant
      ? `the separable form is not smaller (${a} vs ${b} params)`
      : `the separable form is not smaller for small widths (${layer.symbols.join(', ')} = 2)`;
  }
  return undefined;
}

function blocked(r: Reference): string {
  if (r.field === 'isinstance' && !r.why)
    return `line ${r.line + 1} tests \`${r.text}\`, which is false once the conv is a separable Sequential`;
  return `line ${r.line + 1} reads \`${r.text}\`, which ${r.why ? `the rewrite cannot follow (${r.why})` : 'has no single counterpart in the separable Sequential'}`;
}

/** Where the module will live in the model: an attribute, or an element of a Sequential attribute. */
function moduleSite(call: Node): ModuleSite {
  const cls = enclosing(call, 'class_definition');
  const parent = parentOf(call);
  if (parent?.type === 'assignment' && parent.childForFieldName('right')?.id === call.id) {
    const left = parent.childForFieldName('left')!;
    if (left.type === 'attribute') return { attribute: left.childForFieldName('attribute')!.text, cls };
    if (left.type === 'identifier') return { attribute: left.text, local: { name: left.text, scope: scopeNode(call) }, cls };
  }
  if (parent?.type === 'argument_list') {
    const seqCall = parentOf(parent);
    const fn = seqCall?.childForFieldName('function')?.text ?? '';
    const holder = seqCall ? parentOf(seqCall) : null;
    if (/(^|\.)Sequential$/.test(fn) && holder?.type === 'assignment') {
      const left = holder.childForFieldName('left')!;
      const index = parent.namedChildren.filter((c) => c && c.type !== 'comment').findIndex((c) => c!.id === call.id);
      const attribute = left.type === 'attribute' ? left.childForFieldName('attribute')!.text : left.text;
      return { sequential: { attribute, index }, cls };
    }
  }
  // ('conv1', nn.Conv2d(...)) in an OrderedDict
  if (parent?.type === 'tuple' && parent.namedChildren[0]?.type === 'string' && parent.namedChildren[1]?.id === call.id) {
    const key = parent.namedChildren[0].text.replace(/^[rbuRBU]*['"]|['"]$/g, '');
    return { attribute: key, cls };
  }
  return { cls };
}

function siteName(site: ModuleSite): string | undefined {
  if (site.attribute) return site.attribute;
  if (site.sequential) return `${site.sequential.attribute}.${site.sequential.index}`;
  return undefined;
}

/** A condition as a guarded rewrite writes it: `k != 1`, `groups == 1`, `cin > 1`, `g != cin`, joined by `and`. */
const GUARD_CONDITION = /^[^\n]+? (?:!=|==|>) [^\n]+?(?: and [^\n]+? (?:!=|==|>) [^\n]+?)*$/;

/**
 * The condition of the guarded rewrite whose `else` side `call` is
 * (`nn.Sequential(...) if kernel_size != 1 else nn.Conv2d(...)`): that conv is the one kept as
 * written, not one to convert again.
 */
function guardedAlternative(call: Node): string | undefined {
  const parent = parentOf(call);
  if (parent?.type !== 'conditional_expression') return undefined;
  const [consequence, condition, alternative] = parent.namedChildren;
  if (alternative?.id !== call.id || consequence?.type !== 'call' || !condition) return undefined;
  if (!/(^|\.)Sequential$/.test(consequence.childForFieldName('function')?.text ?? '')) return undefined;
  return GUARD_CONDITION.test(condition.text) ? condition.text : undefined;
}

/**
 * A conv is declined for `why` (its subclass's reason, the guarded rewrite it is the kept side of) unless it already has one
 * of its own; says whether it was.
 */
function declineLayer(layer: PythonLayer, why: string | undefined): boolean {
  if (!why || !(layer.convertible || layer.callerDependent || layer.reason === undefined)) return false;
  layer.convertible = false;
  layer.reason = why;
  layer.warnings = [];
  layer.callerDependent = false;
  layer.unresolvedOnly = false;
  return true;
}
