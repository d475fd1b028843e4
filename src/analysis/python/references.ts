/**
 * After the rewrite a conv attribute is an `nn.Sequential`. Reads of its `.weight`, `.in_channels`
 * and friends either get a new meaning-preserving form (`.in_channels` -> `[0].in_channels`) or
 * block the conversion. Reads are followed through the names a conv is reached by: a local
 * variable it is built into (`conv = nn.Conv2d(...); init(conv.weight); self.conv = conv`), other
 * attributes and names it is assigned to (`self.stem = conv`, `w = self.conv`), and loops over a
 * list of modules (`for c in [self.conv1]: init(c.weight)`); a read through a name that may also
 * hold another module (a loop over several, a name bound twice) always blocks.
 */
import type { Node, Tree } from 'web-tree-sitter';
import { parentOf } from '../ancestry';
import type { Span } from '../model';
import { matchesOnRows, query, rowsMatching } from '../parsing';
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

const FIELDS = 'weight|bias|in_channels|out_channels|kernel_size|stride|padding|dilation|groups|padding_mode|reset_parameters';
/** Lines that can hold such a read. */
export const READ_LINE = new RegExp(`\\.\\s*(?:${FIELDS})\\b`);
/**
 * Lines that can bind another name to a module: `self.conv = conv`, `w = self.conv2`, `first =
 * self.features[0]`, `for c in [...]` (also after a `;`). Bounded character classes: linear on any line.
 */
export const ALIAS_LINE = /(?:^|;)[ \t]*[\w.]+[ \t]*=[ \t]*[\w.]+(?:\[[ \t]*-?\d+[ \t]*\])?[ \t]*(?:$|;|#)|\bfor[ \t]+[\w, \t()]+[ \t]in\b/m;

type Read = { name?: string; module?: Node; index?: Node; alias?: Node; field: Node; read: Node };
type Binding = { lhs: Node; rhs: Node; loop: boolean; scope: number };
/** How a name or expression reaches the conv: as the conv itself, or as one of several modules. */
type Reach = 'one' | 'many' | undefined;

/** The function, lambda or module whose local variables `node` reads and binds. */
export function scopeNode(node: Node): Node {
  for (let cur = parentOf(node); cur; cur = parentOf(cur)) {
    if (cur.type === 'function_definition' || cur.type === 'lambda') return cur;
    if (!parentOf(cur)) return cur;
  }
  return node;
}

const BINDING_PARENTS = new Set(['assignment', 'augmented_assignment', 'for_statement', 'for_in_clause', 'named_expression', 'as_pattern_target', 'pattern_list', 'tuple_pattern', 'list_pattern', 'parameters', 'default_parameter', 'typed_parameter', 'typed_default_parameter', 'global_statement', 'nonlocal_statement']);

/** Built on first use: most files never ask. */
export class ReferenceIndex {
  private reads: Read[] | undefined;
  private bindings: Binding[] | undefined;
  private counts = new Map<string, number>();

  /** `rows` keeps the rows that may hold a read, for the next version of the text (LayerMemo) */
  constructor(private readonly tree: Tree, private readonly text: string, private readonly rows: { readRows?: [number, number][]; aliasRows?: [number, number][] } = {}) {}

  private all(): Read[] {
    this.rows.readRows ??= rowsMatching(this.text, READ_LINE);
    this.reads ??= matchesOnRows(query('python', 'references'), this.tree.rootNode, this.rows.readRows).map((m) => {
      const cap = (n: string) => m.captures.find((c) => c.name === n)?.node;
      return { name: cap('name')?.text, module: cap('module'), index: cap('index'), alias: cap('alias'), field: cap('field')!, read: cap('read')! };
    });
    return this.reads;
  }

  private aliasBindings(): Binding[] {
    this.rows.aliasRows ??= rowsMatching(this.text, ALIAS_LINE);
    this.bindings ??= matchesOnRows(query('python', 'aliases'), this.tree.rootNode, this.rows.aliasRows).map((m) => {
      const cap = (n: string) => m.captures.find((c) => c.name === n)!.node;
      const binding = cap('binding');
      return { lhs: cap('lhs'), rhs: cap('rhs'), loop: binding.type !== 'assignment', scope: scopeNode(binding).id };
    });
    return this.bindings;
  }

  /** How many times `name` is bound in `scope` (assignments, loop targets, parameters, ...). */
  private bindingCount(name: string, scope: Node): number {
    const key = `${scope.id}:${name}`;
    let n = this.counts.get(key);
    if (n === undefined) {
      n = 0;
      for (const id of scope.descendantsOfType('identifier')) {
        if (!id || id.text !== name) continue;
        const parent = parentOf(id);
        if (!parent || !BINDING_PARENTS.has(parent.type) || scopeNode(id).id !== scope.id) continue;
        const left = parent.childForFieldName('left') ?? parent.childForFieldName('name');
        const isTarget = ['assignment', 'augmented_assignment', 'for_statement', 'for_in_clause', 'named_expression'].includes(parent.type) ? left?.id === id.id : true;
        if (isTarget) n++;
      }
      this.counts.set(key, n);
    }
    return n;
  }

  find(site: ModuleSite): Reference[] {
    const out: Reference[] = [];
    if (site.attribute === undefined && !site.sequential && !site.local) return out;
    const reads = this.all();
    if (reads.length === 0) return out;
    const bindings = this.aliasBindings();

    // the attributes that hold this conv: its own, and those it is assigned to
    const attrs = new Set<string>(site.attribute !== undefined ? [site.attribute] : []);
    const ownClass = (n: Node) => n.childForFieldName('object')?.text !== 'self' || !site.cls || enclosing(n, 'class_definition')?.id === site.cls.id;
    const reach = (expr: Node, depth: number): Reach => {
      if (depth > 8) return undefined;
      if (expr.type === 'parenthesized_expression' && expr.namedChildCount === 1) return reach(expr.namedChild(0)!, depth + 1);
      if (expr.type === 'attribute') return attrs.has(expr.childForFieldName('attribute')!.text) && ownClass(expr) ? 'one' : undefined;
      if (expr.type === 'subscript' && site.sequential) {
        const value = expr.childForFieldName('value');
        const index = expr.childForFieldName('subscript');
        const ok = value?.type === 'attribute' && value.childForFieldName('attribute')!.text === site.sequential.attribute && index?.text.trim() === String(site.sequential.index) && ownClass(value);
        return ok ? 'one' : undefined;
      }
      if (expr.type === 'identifier') return reachName(expr.text, scopeNode(expr), depth + 1);
      return undefined;
    };
    const reachName = (name: string, scope: Node, depth: number): Reach => {
      if (site.local && site.local.name === name && site.local.scope.id === scope.id) return 'one';
      let found: Reach;
      for (const b of bindings) {
        if (b.scope !== scope.id || b.lhs.type !== 'identifier' || b.lhs.text !== name) continue;
        if (b.loop) {
          const items = b.rhs.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment');
          if (items.some((c) => reach(c, depth))) return items.length > 1 ? 'many' : (found ??= 'one');
        } else if (reach(b.rhs, depth)) {
          found ??= 'one';
        }
      }
      return found;
    };
    for (let round = 0, grew = true; grew && round < 4; round++) {
      grew = false;
      for (const b of bindings) {
        if (b.loop || b.lhs.type !== 'attribute') continue;
        const name = b.lhs.childForFieldName('attribute')!.text;
        if (!attrs.has(name) && reach(b.rhs, 0) === 'one') {
          attrs.add(name);
          grew = true;
        }
      }
    }

    for (const r of reads) {
      let why: string | undefined;
      if (r.alias) {
        const scope = scopeNode(r.alias);
        const how = reachName(r.alias.text, scope, 0);
        if (!how) continue;
        if (how === 'many' || this.bindingCount(r.alias.text, scope) > 1) why = `\`${r.alias.text}\` may also hold another module`;
      } else if (r.index) {
        if (!site.sequential || r.name !== site.sequential.attribute || r.index.text.trim() !== String(site.sequential.index)) continue;
        if (!ownClass(r.module!)) continue;
      } else {
        // `self.x` reads belong to the class that defines x; `model.x` reads could be any model's
        if (!attrs.has(r.name!) || !ownClass(r.module!)) continue;
      }
      const fieldStart = r.read.childForFieldName('object')!.endIndex; // from the end of the module expression
      const field = r.field.text;
      out.push({
        text: r.read.text,
        line: r.read.startPosition.row,
        fieldSpan: { start: fieldStart, end: r.field.endIndex },
        field,
        replacement: why ? null : (REWRITES[field] ?? null),
        ...(why ? { why } : {}),
      });
    }
    return out;
  }
}
