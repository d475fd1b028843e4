/**
 * After the rewrite a conv attribute is an `nn.Sequential`. Reads of its `.weight`, `.in_channels`
 * and friends either get a new meaning-preserving form (`.in_channels` -> `[0].in_channels`) or
 * block the conversion. Reads are followed through the names a conv is reached by: a local
 * variable it is built into (`conv = nn.Conv2d(...); init(conv.weight); self.conv = conv`), other
 * attributes and names it is assigned to (`self.stem = conv`, `w = self.conv`), loops over a
 * list of modules (`for c in [self.conv1]: init(c.weight)`) and parameters of the file's functions
 * it is passed to (`init(self.conv)`); a read through a name that may also hold another module (a
 * loop over several, a name bound twice, a parameter) always blocks.
 */
import type { Node, Tree } from 'web-tree-sitter';
import { parentOf } from '../ancestry';
import type { Span } from '../model';
import { matchesOnRows, rowsMatching } from '../parsing';
import { enclosing } from './evaluate';

/** What a read becomes, or null when no single layer of the Sequential has that meaning. */
const REWRITES: Record<string, string | null> = {
  in_channels: '[0].in_channels',
  out_channels: '[-1].out_channels',
  kernel_size: '[0].kernel_size',
  stride: '[0].stride',
  padding: '[0].padding',
  dilation: '[0].dilation',
  bias: '[-1].bias',
  weight: null,
  groups: null,
  padding_mode: null,
  reset_parameters: null,
  /** `isinstance(self.conv, nn.Conv2d)`: false after the rewrite */
  isinstance: null,
};

export interface Reference {
  /** the read, e.g. `self.conv1.weight` */
  text: string;
  line: number;
  /** the `.field` part to replace (from the dot) */
  fieldSpan: Span;
  field: string;
  replacement: string | null;
  /** why a read with a rewritable field still blocks (a name that may hold other modules too) */
  why?: string;
  /**
   * `nn.init.kaiming_normal_(self.conv.weight, ...)` on a line of its own: the read becomes
   * `[0].weight` and the same statement follows for the pointwise conv (`text`, with `[-1].weight`)
   */
  also?: { after: number; indent: string; text: string };
}

/** Where a conv module lives, as far as references can name it. */
export interface ModuleSite {
  /** `self.conv1 = Conv(...)` -> conv1 */
  attribute?: string;
  /** `self.features = nn.Sequential(Conv(...), ...)` -> features, 0 */
  sequential?: { attribute: string; index: number };
  /** `conv = Conv(...)`: the variable and the function (or module) it is local to */
  local?: { name: string; scope: Node };
  cls?: Node;
}

/** The attributes of a conv that a Sequential does not have as the conv has them (a regex alternation). */
export const FIELDS = 'weight|bias|in_channels|out_channels|kernel_size|stride|padding|dilation|groups|padding_mode|reset_parameters';
/** Lines that can hold such a read. */
export const READ_LINE = new RegExp(`\\.\\s*(?:${FIELDS})\\b|\\bisinstance\\s*\\(`);
/**
 * Lines that can bind another name to a module: `self.conv = conv`, `w = self.conv2`, `first =
 * self.features[0]`, `for c in [...]` (also after a `;`). Bounded character classes: linear on any line.
 */
export const ALIAS_LINE =
  /(?:^|;)[ \t]*[\w.]+[ \t]*=[ \t]*[\w.]+(?:\[[ \t]*-?\d+[ \t]*\])?[ \t]*(?:$|;|#)|\bfor[ \t]+[\w, \t()]{1,200}[ \t]in\b/m;

/**
 * A module expression as plain data (tree-sitter nodes are slow to ask, and each layer's search
 * would ask them again): `self.conv` / `model.conv`, `self.features[0]`, a name, or anything else.
 */
type Expr =
  | { kind: 'attribute'; name: string; self: boolean; cls: number | undefined }
  | { kind: 'element'; name: string; index: string; self: boolean; cls: number | undefined }
  | { kind: 'name'; name: string; scope: number }
  | { kind: 'other' };
type Read = {
  object: Expr;
  field: string;
  text: string;
  line: number;
  fieldSpan: Span;
  init?: { statement: Span; text: string; indent: string };
};

/** `nn.init.normal_`, `torch.nn.init.kaiming_normal_`, `init.xavier_uniform_`: in-place initialisers of one tensor */
const INIT_CALL = /^(?:(?:torch\.)?nn\.)?init\.[a-z_]+_$/;

/**
 * The statement around `read` when it is the first argument of an initialiser call that is a
 * statement of its own (so the statement can be repeated for the second conv), with no other read in it.
 */
function initStatement(read: Node, source: string): Read['init'] {
  const args = parentOf(read);
  const call = args?.type === 'argument_list' ? parentOf(args) : null;
  const stmt = call?.type === 'call' ? parentOf(call) : null;
  if (!args || !call || stmt?.type !== 'expression_statement' || stmt.namedChildCount !== 1) return undefined;
  if (args.namedChildren[0]?.id !== read.id || !INIT_CALL.test(call.childForFieldName('function')?.text.replace(/\s+/g, '') ?? ''))
    return undefined;
  if ((stmt.text.match(new RegExp(READ_LINE.source, 'g')) ?? []).length !== 1) return undefined;
  const lineStart = source.lastIndexOf('\n', stmt.startIndex - 1) + 1;
  const indent = source.slice(lineStart, stmt.startIndex);
  if (
    !/^[ \t]*$/.test(indent) ||
    /[;\\]/.test(
      source
        .slice(stmt.endIndex, source.indexOf('\n', stmt.endIndex) < 0 ? undefined : source.indexOf('\n', stmt.endIndex))
        .replace(/#.*/, ''),
    )
  )
    return undefined;
  return { statement: { start: stmt.startIndex, end: stmt.endIndex }, text: stmt.text, indent };
}

/** What a read becomes, or null: `.weight` only as an initialiser's argument. */
function replacementOf(r: Read): string | null {
  if (r.field === 'weight') return r.init ? '[0].weight' : null;
  return REWRITES[r.field] ?? null;
}
/** Where a module named by `from` goes: a local name (`w = self.conv`, `for c in [...]`) or an attribute (`self.stem = conv`). */
type Use = { from: Expr; to: { kind: 'name'; key: string } | { kind: 'attribute'; name: string }; many: boolean };
/** Reads and bindings by what they name, so that one conv's search visits only what reaches it. */
type Index = {
  readsOfAttribute: Map<string, Read[]>;
  readsOfElement: Map<string, Read[]>;
  readsOfName: Map<string, Read[]>;
  usesOfAttribute: Map<string, Use[]>;
  usesOfElement: Map<string, Use[]>;
  usesOfName: Map<string, Use[]>;
  /** parameters that calls pass modules to, by name key: the function's name */
  parameters: Map<string, string>;
};
type Reach = 'one' | 'many';

/** Files `use` under what it takes the module from. */
function addUse(ix: Index, use: Use): void {
  const from = use.from;
  if (from.kind === 'attribute') push(ix.usesOfAttribute, from.name, use);
  else if (from.kind === 'element') push(ix.usesOfElement, elementKey(from.name, from.index), use);
  else if (from.kind === 'name') push(ix.usesOfName, nameKey(from.scope, from.name), use);
}

/** The rows (merged ranges, as `rowsMatching` gives them) holding a call `name(` of one of `names`: one pass over the text, whatever their number. */
function rowsOfCalls(text: string, names: ReadonlyMap<string, unknown>): [number, number][] {
  const rows: [number, number][] = [];
  const call = /\b([A-Za-z_]\w*)[ \t]*\(/g;
  let row = 0;
  let scanned = 0;
  for (let m = call.exec(text); m; m = call.exec(text)) {
    if (!names.has(m[1])) continue;
    for (let i = text.indexOf('\n', scanned); i !== -1 && i < m.index; i = text.indexOf('\n', i + 1)) row++;
    scanned = m.index;
    const last = rows[rows.length - 1];
    if (last && last[1] >= row - 1) last[1] = row;
    else rows.push([row, row]);
  }
  return rows;
}

const nameKey = (scope: number, name: string) => `${scope}:${name}`;
const elementKey = (name: string, index: string) => `${name}[${index}]`;

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function exprOf(n: Node): Expr {
  if (n.type === 'parenthesized_expression' && n.namedChildCount === 1) return exprOf(n.namedChild(0)!);
  const owner = (attr: Node) => ({ self: attr.childForFieldName('object')?.text === 'self', cls: enclosing(attr, 'class_definition')?.id });
  if (n.type === 'attribute') return { kind: 'attribute', name: n.childForFieldName('attribute')!.text, ...owner(n) };
  if (n.type === 'subscript') {
    const value = n.childForFieldName('value');
    const index = n.childForFieldName('subscript');
    if (value?.type === 'attribute' && index)
      return { kind: 'element', name: value.childForFieldName('attribute')!.text, index: index.text.trim(), ...owner(value) };
  }
  if (n.type === 'identifier') return { kind: 'name', name: n.text, scope: scopeNode(n).id };
  return { kind: 'other' };
}

/** The function, lambda or module whose local variables `node` reads and binds. */
export function scopeNode(node: Node): Node {
  for (let cur = parentOf(node); cur; cur = parentOf(cur)) {
    if (cur.type === 'function_definition' || cur.type === 'lambda') return cur;
    if (!parentOf(cur)) return cur;
  }
  return node;
}

const BINDING_PARENTS = new Set([
  'assignment',
  'augmented_assignment',
  'for_statement',
  'for_in_clause',
  'named_expression',
  'as_pattern_target',
  'pattern_list',
  'tuple_pattern',
  'list_pattern',
  'parameters',
  'default_parameter',
  'typed_parameter',
  'typed_default_parameter',
  'global_statement',
  'nonlocal_statement',
]);

/** Built on first use: most files never ask. */
export class ReferenceIndex {
  private index: Index | undefined;
  /** per scope id: how many times each name is bound in it */
  private counts = new Map<number, Map<string, number>>();
  private scopes = new Map<number, Node>();

  /** `rows` keeps the rows that may hold a read, for the next version of the text (LayerMemo) */
  constructor(
    private readonly tree: Tree,
    private readonly text: string,
    private readonly rows: { readRows?: [number, number][]; aliasRows?: [number, number][] } = {},
  ) {}

  private build(): Index {
    const ix: Index = {
      readsOfAttribute: new Map(),
      readsOfElement: new Map(),
      readsOfName: new Map(),
      usesOfAttribute: new Map(),
      usesOfElement: new Map(),
      usesOfName: new Map(),
      parameters: new Map(),
    };
    this.rows.readRows ??= rowsMatching(this.text, READ_LINE);
    const reads = matchesOnRows('python', 'references', this.tree.rootNode, this.rows.readRows);
    if (reads.length === 0) return ix;
    for (const m of reads) {
      const cap = (n: string) => m.captures.find((c) => c.name === n)!.node;
      const read = cap('read');
      // `isinstance(module, ...)`: the module is the first argument, the test is the whole call
      const test = m.captures.some((c) => c.name === 'fn');
      const node = test ? cap('object') : read.childForFieldName('object')!;
      const object = exprOf(node);
      // from the end of the module expression
      const r: Read = {
        object,
        field: test ? 'isinstance' : cap('field').text,
        text: read.text,
        line: read.startPosition.row,
        fieldSpan: { start: node.endIndex, end: test ? node.endIndex : cap('field').endIndex },
      };
      if (r.field === 'weight') r.init = initStatement(read, this.text);
      if (object.kind === 'attribute') push(ix.readsOfAttribute, object.name, r);
      else if (object.kind === 'element') push(ix.readsOfElement, elementKey(object.name, object.index), r);
      else if (object.kind === 'name') {
        push(ix.readsOfName, nameKey(object.scope, object.name), r);
        this.scopes.set(object.scope, scopeNode(node));
      }
    }
    this.passes(ix);
    this.rows.aliasRows ??= rowsMatching(this.text, ALIAS_LINE);
    for (const m of matchesOnRows('python', 'aliases', this.tree.rootNode, this.rows.aliasRows)) {
      const cap = (n: string) => m.captures.find((c) => c.name === n)!.node;
      const binding = cap('binding');
      const lhs = cap('lhs');
      const rhs = cap('rhs');
      const loop = binding.type !== 'assignment';
      if (loop && lhs.type !== 'identifier') continue;
      const to: Use['to'] =
        lhs.type === 'attribute'
          ? { kind: 'attribute', name: lhs.childForFieldName('attribute')!.text }
          : { kind: 'name', key: nameKey(scopeNode(binding).id, lhs.text) };
      const items = loop ? rhs.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment') : [rhs];
      for (const item of items) {
        addUse(ix, { from: exprOf(item), to, many: items.length > 1 });
      }
    }
    return ix;
  }

  /**
   * Modules passed to a parameter that is read like a conv (`def init(m): nn.init.normal_(m.weight)`
   * called as `init(self.conv)`, `self._init(conv)`): the calls of that function, found by its name,
   * bind their arguments to its parameters. A parameter may get other modules from other calls, so
   * its reads always block.
   */
  private passes(ix: Index): void {
    const functions = new Map<number, { fn: Node; params: string[] }>();
    for (const [, reads] of ix.readsOfName) {
      const o = reads[0].object as Extract<Expr, { kind: 'name' }>;
      const fn = this.scopes.get(o.scope);
      if (fn?.type !== 'function_definition' || functions.has(fn.id)) continue;
      const params = (fn.childForFieldName('parameters')?.namedChildren ?? []).map((p) =>
        p?.type === 'identifier' ? p.text : ((p?.childForFieldName('name') ?? p?.namedChild(0))?.text ?? ''),
      );
      if (params.includes(o.name)) functions.set(fn.id, { fn, params });
    }
    // the functions by name, and one scan of the text for calls of any of them
    const byName = new Map<string, { fn: Node; params: string[]; offset: number }[]>();
    for (const { fn, params } of functions.values()) {
      const name = fn.childForFieldName('name')?.text;
      if (!name || !/^\w+$/.test(name)) continue;
      const holder = parentOf(fn)?.type === 'decorated_definition' ? parentOf(fn)! : fn;
      const method = parentOf(parentOf(holder) ?? holder)?.type === 'class_definition';
      const isStatic =
        holder.type === 'decorated_definition' &&
        holder.namedChildren.some((d) => d?.type === 'decorator' && /^@\s*staticmethod\b/.test(d.text));
      // `self.f(x)`: x is the second parameter of a method
      push(byName, name, { fn, params, offset: method && !isStatic ? 1 : 0 });
    }
    if (byName.size === 0) return;
    for (const m of matchesOnRows('python', 'passes', this.tree.rootNode, rowsOfCalls(this.text, byName))) {
      const callee = m.captures.find((c) => c.name === 'callee')!.node;
      const bare = callee.type === 'identifier';
      const name = bare ? callee.text : callee.childForFieldName('attribute')?.text;
      for (const { fn, params, offset } of (name && byName.get(name)) || []) {
        let i = 0;
        for (const arg of m.captures.find((c) => c.name === 'args')!.node.namedChildren) {
          if (!arg || arg.type === 'comment') continue;
          const keyword = arg.type === 'keyword_argument';
          const param = keyword ? arg.childForFieldName('name')!.text : params[(bare ? 0 : offset) + i++];
          const value = keyword ? arg.childForFieldName('value')! : arg;
          if (!param || !params.includes(param)) continue;
          ix.parameters.set(nameKey(fn.id, param), name!);
          addUse(ix, { from: exprOf(value), to: { kind: 'name', key: nameKey(fn.id, param) }, many: true });
        }
      }
    }
  }

  /** How many times `name` is bound in the scope (assignments, loop targets, parameters, ...): one walk per scope. */
  private bindingCount(name: string, scopeId: number): number {
    let counts = this.counts.get(scopeId);
    const scope = this.scopes.get(scopeId);
    if (!counts && scope) {
      counts = new Map();
      for (const id of scope.descendantsOfType('identifier')) {
        const parent = id && parentOf(id);
        if (!id || !parent || !BINDING_PARENTS.has(parent.type) || scopeNode(id).id !== scopeId) continue;
        const left = parent.childForFieldName('left') ?? parent.childForFieldName('name');
        const isTarget = ['assignment', 'augmented_assignment', 'for_statement', 'for_in_clause', 'named_expression'].includes(parent.type)
          ? left?.id === id.id
          : true;
        if (isTarget) counts.set(id.text, (counts.get(id.text) ?? 0) + 1);
      }
      this.counts.set(scopeId, counts);
    }
    return counts?.get(name) ?? 1;
  }

  /**
   * The reads of the conv at `site`: from where it is stored (its attribute, its element of a
   * Sequential, the local it is built into), along the bindings that pass it on, to the reads of
   * each name and attribute reached. Visits only what reaches the conv.
   */
  find(site: ModuleSite): Reference[] {
    if (site.attribute === undefined && !site.sequential && !site.local) return [];
    const ix = (this.index ??= this.build());
    if (ix.readsOfAttribute.size + ix.readsOfElement.size + ix.readsOfName.size === 0) return [];
    const siteClass = site.cls?.id;
    // `self.x` belongs to the class that defines x; `model.x` could be any model's
    const ownClass = (e: Expr) =>
      !(e.kind === 'attribute' || e.kind === 'element') || !e.self || siteClass === undefined || e.cls === siteClass;

    const attrs = new Set<string>();
    const names = new Map<string, Reach>();
    const queue: (() => void)[] = [];
    const reachName = (key: string, how: Reach) => {
      const had = names.get(key);
      if (had === 'many' || had === how) return;
      names.set(key, how);
      queue.push(() => follow(ix.usesOfName.get(key), how));
    };
    const reachAttribute = (name: string) => {
      if (attrs.has(name)) return;
      attrs.add(name);
      queue.push(() => follow(ix.usesOfAttribute.get(name), 'one'));
    };
    function follow(uses: Use[] | undefined, how: Reach): void {
      for (const u of uses ?? []) {
        if (!ownClass(u.from)) continue;
        const next: Reach = how === 'many' || u.many ? 'many' : 'one';
        if (u.to.kind === 'name') reachName(u.to.key, next);
        // an attribute that may hold another module is not this conv's
        else if (next === 'one') reachAttribute(u.to.name);
      }
    }
    if (site.attribute !== undefined) reachAttribute(site.attribute);
    if (site.sequential) follow(ix.usesOfElement.get(elementKey(site.sequential.attribute, String(site.sequential.index))), 'one');
    if (site.local) reachName(nameKey(site.local.scope.id, site.local.name), 'one');
    for (let i = 0; i < queue.length; i++) queue[i]();

    const found: { r: Read; why?: string }[] = [];
    for (const a of attrs) for (const r of ix.readsOfAttribute.get(a) ?? []) if (ownClass(r.object)) found.push({ r });
    if (site.sequential)
      for (const r of ix.readsOfElement.get(elementKey(site.sequential.attribute, String(site.sequential.index))) ?? [])
        if (ownClass(r.object)) found.push({ r });
    for (const [key, how] of names) {
      for (const r of ix.readsOfName.get(key) ?? []) {
        const o = r.object as Extract<Expr, { kind: 'name' }>;
        const fn = ix.parameters.get(key);
        const why = fn
          ? `\`${o.name}\` is a parameter of \`${fn}()\`, whose calls may pass other modules`
          : `\`${o.name}\` may also hold another module`;
        found.push({ r, why: how === 'many' || this.bindingCount(o.name, o.scope) > 1 ? why : undefined });
      }
    }
    const ref = ({ r, why }: { r: Read; why?: string }): Reference => {
      const replacement = why ? null : replacementOf(r);
      const out: Reference = { text: r.text, line: r.line, fieldSpan: r.fieldSpan, field: r.field, replacement, ...(why ? { why } : {}) };
      if (replacement && r.init) {
        const { statement, text, indent } = r.init;
        const at = r.fieldSpan.start - statement.start;
        const second = text.slice(0, at) + '[-1].weight' + text.slice(r.fieldSpan.end - statement.start);
        out.also = { after: statement.end, indent, text: second };
      }
      return out;
    };
    // one read that blocks settles it: the first in the file is the one named (a name read
    // thousands of times costs one reference, not thousands per conv)
    let first: { r: Read; why?: string } | undefined;
    for (const f of found)
      if ((f.why || replacementOf(f.r) === null) && (!first || f.r.fieldSpan.start < first.r.fieldSpan.start)) first = f;
    if (first) return [ref(first)];
    return found.map(ref).sort((x, y) => x.fieldSpan.start - y.fieldSpan.start);
  }
}
