/**
 * Convs built through the file's own classes and names: subclasses of a conv class
 * (`class Conv3DSimple(nn.Conv3d)`: its `super().__init__(...)` is the conv, or its calls when it has
 * no `__init__`) and `functools.partial(nn.Conv2d, ...)` bound to a name (its calls are convs with
 * the bound keywords). What analyze.ts asks of them: which calls they make convs, and what would
 * stop a subclass from becoming an `nn.Sequential` subclass of the separable pair.
 */
import type { Node, Tree } from 'web-tree-sitter';
import { parentOf } from '../ancestry';
import type { ModuleContext } from './analyze';
import { enclosing, firstParam, paramName } from './evaluate';
import { resolveDotted, type ImportMap } from './imports';

export const CONV = /^torch\.nn\.(Lazy)?Conv(Transpose)?([123])d$/;

export const dottedText = (n: Node) => n.text.replace(/\s+/g, '');

/** `class X(A, B):` at the start of a line: X's bases as written (keywords such as `metaclass=` kept, so that they count as bases too). */
export function classBases(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of text.matchAll(/^class[ \t]+([A-Za-z_]\w*)[ \t]*\(([^()]*)\)[ \t]*:/gm)) {
    out.set(
      m[1],
      m[2]
        .split(',')
        .map((b) => b.replace(/\s+/g, ''))
        .filter((b) => b !== ''),
    );
  }
  return out;
}

/** The file's classes that derive from a conv class alone, with that class as written and as resolved. */
export function convSubclasses(module: ModuleContext): Map<string, { base: string; resolved: string }> {
  const out = new Map<string, { base: string; resolved: string }>();
  for (const [name, bases] of module.classBases) {
    if (bases.length !== 1) continue;
    const resolved = resolveDotted(bases[0], module.imports, module.defined);
    if (resolved && CONV.test(resolved)) out.set(name, { base: bases[0], resolved });
  }
  return out;
}

/** A name bound to `functools.partial(<conv class>, keyword=...)`: its calls build that conv with the bound keywords. */
export interface PartialConv {
  start: number;
  /** the id of the function whose body binds it; undefined at module level */
  fn: number | undefined;
  /** the conv class as written in the partial, and resolved */
  classPath: string;
  resolved: string;
  keywords: Map<string, Node>;
  /** why its calls cannot be converted (positional or `**` arguments bound) */
  problem?: string;
}

const PARTIAL_ASSIGNMENT = /^[ \t]*([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=[ \t]*(?:functools[ \t]*\.[ \t]*)?partial[ \t]*\(/;

/** Lines of the text that bind a name to `partial(...)`: the regex tried on the lines that say `partial`, not at every line start. */
function* partialAssignments(text: string): Generator<{ index: number; name: string }> {
  let line = -1;
  for (let i = text.indexOf('partial'); i >= 0; i = text.indexOf('partial', i + 7)) {
    const start = text.lastIndexOf('\n', i) + 1;
    if (start === line) continue;
    line = start;
    const end = text.indexOf('\n', i);
    const m = PARTIAL_ASSIGNMENT.exec(text.slice(start, end < 0 ? text.length : end));
    if (m) yield { index: start + m[0].indexOf(m[1]), name: m[1] };
  }
}

/** `conv = partial(nn.Conv2d, kernel_size=3, padding=1)` (or `functools.partial`) in a function body or at module level, by name. */
export function partialConvs(tree: Tree, text: string, imports: ImportMap, defined: ReadonlySet<string>): Map<string, PartialConv[]> {
  const out = new Map<string, PartialConv[]>();
  for (const m of partialAssignments(text)) {
    const name = tree.rootNode.descendantForIndex(m.index);
    // `transforms=partial(...)` on a line of its own is a keyword argument (torchvision's weights have
    // dozens): one step up tells, where the walk to an assignment would climb the whole call
    if (!name || name.parent?.type === 'keyword_argument') continue;
    let assignment: Node | null = name;
    while (assignment && assignment.type !== 'assignment') assignment = parentOf(assignment);
    const right = assignment?.childForFieldName('right');
    const left = assignment?.childForFieldName('left');
    if (!assignment || left?.type !== 'identifier' || left.text !== m.name || right?.type !== 'call') continue;
    const fn = right.childForFieldName('function');
    if (!fn || resolveDotted(dottedText(fn), imports, defined) !== 'functools.partial') continue;
    const args = (right.childForFieldName('arguments')?.namedChildren ?? []).filter((a): a is Node => !!a && a.type !== 'comment');
    if (!args[0] || !/^(identifier|attribute)$/.test(args[0].type)) continue;
    const classPath = dottedText(args[0]);
    const resolved = resolveDotted(classPath, imports, defined);
    if (!resolved || !CONV.test(resolved)) continue;
    // a class body's binding is read as `self.name`, not as a name: not followed
    let owner: Node | null = parentOf(assignment);
    while (owner && owner.type !== 'function_definition' && owner.type !== 'class_definition') owner = parentOf(owner);
    if (owner?.type === 'class_definition') continue;
    const def: PartialConv = { start: assignment.startIndex, fn: owner?.id, classPath, resolved, keywords: new Map() };
    for (const a of args.slice(1)) {
      if (a.type === 'keyword_argument') def.keywords.set(a.childForFieldName('name')!.text, a.childForFieldName('value')!);
      else
        def.problem ??= `the partial at line ${assignment.startPosition.row + 1} binds \`${a.text}\`, which cannot be resolved statically`;
    }
    for (const k of ['in_channels', 'out_channels'])
      if (def.keywords.has(k))
        def.problem ??= `the partial at line ${assignment.startPosition.row + 1} binds ${k}: the separable pair needs it at the call`;
    if (/Transpose/.test(resolved)) def.problem ??= 'a partial of a transposed conv is not rewritten';
    out.set(m.name, [...(out.get(m.name) ?? []), def]);
  }
  return out;
}

/** The partial a call of `name` builds: the last binding before it in the innermost function that binds it, else the module's. */
export function partialAt(call: Node, name: string, defs: Map<string, PartialConv[]>): PartialConv | undefined {
  const list = defs.get(name);
  if (!list) return undefined;
  for (let fn = enclosing(call, 'function_definition'); fn; fn = enclosing(fn, 'function_definition')) {
    const own = list.filter((d) => d.fn === fn.id && d.start < call.startIndex);
    if (own.length) return own[own.length - 1];
    // a parameter of that name shadows the module's partial
    if ((fn.childForFieldName('parameters')?.namedChildren ?? []).some((p) => p && paramName(p) === name)) return undefined;
  }
  const top = list.filter((d) => d.fn === undefined);
  return top[top.length - 1];
}

/** The module's top-level classes by name. */
export function topLevelClasses(tree: Tree): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const n of tree.rootNode.namedChildren) {
    const def = n?.type === 'decorated_definition' ? n.childForFieldName('definition') : n;
    if (def?.type === 'class_definition') out.set(def.childForFieldName('name')!.text, def);
  }
  return out;
}

/** The class, when its body defines no `__init__` (its calls construct the conv directly). */
export function withoutInit(cls: Node | undefined): Node | undefined {
  if (!cls) return undefined;
  for (const stmt of cls.childForFieldName('body')?.namedChildren ?? []) {
    const def = stmt?.type === 'decorated_definition' ? stmt.childForFieldName('definition') : stmt;
    if (def?.type === 'function_definition' && def.childForFieldName('name')?.text === '__init__') return undefined;
  }
  return cls;
}

/** `super().__init__(...)` / `super(C, self).__init__(...)` directly in the `__init__` of a conv subclass of the file: that class. */
export function convSubclassOf(callee: Node, subclasses: Map<string, { base: string; resolved: string }>): Node | undefined {
  const object = callee.type === 'attribute' ? callee.childForFieldName('object') : null;
  if (callee.childForFieldName('attribute')?.text !== '__init__' || object?.type !== 'call') return undefined;
  if (object.childForFieldName('function')?.text !== 'super') return undefined;
  const fn = enclosing(callee, 'function_definition');
  if (fn?.childForFieldName('name')?.text !== '__init__') return undefined;
  let cls = parentOf(fn);
  if (cls?.type === 'block') cls = parentOf(cls);
  if (cls?.type !== 'class_definition' || parentOf(cls)?.type !== 'module') return undefined;
  return subclasses.has(cls.childForFieldName('name')?.text ?? '') ? cls : undefined;
}

/**
 * Why the conv subclass `cls` cannot become an `nn.Sequential` of the separable pair without
 * changing what it computes or what its instances offer: methods besides `__init__` (a `forward`
 * override, instance methods, properties; static and class methods are kept), `self` used in
 * `__init__` besides the `super().__init__(...)` call, a class of the file deriving from it.
 */
export function subclassBlocker(cls: Node, superCall: Node | undefined, module: ModuleContext): string | undefined {
  const name = cls.childForFieldName('name')!.text;
  for (const [other, bases] of module.classBases)
    if (bases.some((b) => b === name || b.endsWith(`.${name}`)))
      return `\`${other}\` derives from \`${name}\`: the rewrite would change it too`;
  for (const stmt of cls.childForFieldName('body')?.namedChildren ?? []) {
    if (!stmt || stmt.type === 'comment' || stmt.type === 'pass_statement') continue;
    if (stmt.type === 'expression_statement' && /^(string|assignment)$/.test(stmt.namedChildren[0]?.type ?? '')) continue;
    if (stmt.type === 'decorated_definition') {
      const decorators = stmt.namedChildren.filter((c) => c?.type === 'decorator').map((c) => c!.text.replace(/^@\s*/, ''));
      if (decorators.every((d) => d === 'staticmethod' || d === 'classmethod')) continue;
    }
    const def = stmt.type === 'decorated_definition' ? stmt.childForFieldName('definition') : stmt;
    const method = def?.type === 'function_definition' ? def.childForFieldName('name')?.text : undefined;
    if (method === '__init__' && stmt.type === 'function_definition' && superCall) continue;
    if (method === 'forward')
      return superCall
        ? `\`${name}\` overrides forward(): as an nn.Sequential of the separable pair it would no longer run it (write the pair inside the class to keep the override)`
        : `\`${name}\` overrides forward(): the depthwise and pointwise convs would each run it`;
    if (method !== undefined)
      return superCall
        ? `\`${name}\` defines ${method}(), which its instances would lose as an nn.Sequential of the separable pair`
        : `\`${name}\` defines ${method}(), which both convs of the separable pair would run`;
    return `the body of \`${name}\` has \`${stmt.text.split('\n')[0]}\` (line ${stmt.startPosition.row + 1}), which the rewrite cannot judge`;
  }
  if (!superCall) return undefined;
  const init = enclosing(superCall, 'function_definition')!;
  const self = firstParam(init);
  const statement = parentOf(superCall);
  if (statement?.type !== 'expression_statement' || parentOf(statement)?.id !== init.childForFieldName('body')?.id)
    return `\`super().__init__(...)\` of \`${name}\` is not a statement of its own in \`__init__\``;
  const usesSelf = (n: Node) => self !== undefined && new RegExp(`(?<![\\w.])${self}\\b`).test(n.text);
  if (usesSelf(superCall.childForFieldName('arguments')!)) return `the arguments of \`${name}\`'s \`super().__init__\` read \`${self}\``;
  for (const stmt of init.childForFieldName('body')?.namedChildren ?? []) {
    if (!stmt || stmt.id === statement.id || stmt.type === 'comment') continue;
    if (usesSelf(stmt))
      return `line ${stmt.startPosition.row + 1} of \`${name}.__init__\` uses \`${self}\`, which would be the separable nn.Sequential, not a conv`;
  }
  return undefined;
}
