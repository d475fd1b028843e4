/**
 * Static evaluation of the integer expressions people write for channel counts and kernel sizes:
 * literals, `+ - * // % **`, parentheses, unary minus, `int()`, `min()`, `max()`, `len()`, tuple
 * indexing, conditional expressions, and names bound to module constants, class attributes,
 * function-parameter defaults and earlier straight-line assignments. A name that cannot be pinned
 * down (a parameter without default, a loop variable) becomes a symbol; anything else is unknown.
 */
import type { Node } from 'web-tree-sitter';
import { parentOf } from '../ancestry';
import { Poly } from '../poly';
import { plainString } from './literals';

export type Value =
  | { kind: 'int'; poly: Poly }
  | { kind: 'float'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'str'; value: string }
  | { kind: 'none' }
  | { kind: 'tuple'; items: Value[] }
  | { kind: 'unknown'; why: string };

export const unknown = (why: string): Value => ({ kind: 'unknown', why });
export const int = (n: number): Value => ({ kind: 'int', poly: Poly.const(n) });

/** Where a value came from that the user should know about (defaults, pragmas, assumptions). */
export type AssumptionSink = (text: string) => void;

export interface EvalContext {
  /** user-given values: CLI `--assume`, editor settings */
  assumptions: Record<string, number>;
  /** `# sepconv: name=value` on a `class` or `def` line, by that line's row (kernel/pragmas.ts) */
  definitionPragmas: Map<number, Record<string, number>>;
  /** `# sepconv: name=value` anywhere else in the file */
  filePragmas: Record<string, number>;
  /** the argument node of a module constructor call (`nn.Conv2d(...)`) for a hyper-parameter */
  moduleArgument?: (call: Node, param: string) => Node | undefined;
  /** filled by the evaluator: module-level bindings by name (one file, one context) */
  moduleBindings?: Map<string, unknown>;
  /** filled by the evaluator: argparse options of the file, by destination, with their `default=` (null: none) */
  argparse?: Map<string, { option: string; dflt: Node | null }>;
}

/** Is `name` bound to `<parser>.parse_args()` somewhere in the file (`opt = parser.parse_args()`)? */
function parsedArguments(text: string, name: string): boolean {
  return text.includes('parse_args') && new RegExp(`^[ \\t]*${name}[ \\t]*(?::[^=\\n]*)?=[ \\t]*[\\w.]+\\.parse_args\\(`, 'm').test(text);
}

/** Module attributes that repeat a constructor argument: `self.conv2.out_channels`. */
const MODULE_ATTRIBUTES = new Set(['in_channels', 'out_channels', 'groups']);

const MAX_DEPTH = 40;

function named(node: Node | null | undefined): Node[] {
  return node ? node.namedChildren.filter((n): n is Node => n !== null) : [];
}

function isScope(n: Node): boolean {
  return n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'module' || n.type === 'lambda';
}

/** The statement-level ancestor of `node` that sits directly in `block`. */
function childOfBlockContaining(block: Node, node: Node): Node | undefined {
  let cur: Node | null = node;
  for (let up = cur ? parentOf(cur) : null; cur && up && up.id !== block.id; up = parentOf(cur)) cur = up;
  return cur && parentOf(cur)?.id === block.id ? cur : undefined;
}

/**
 * The top-level statements of a module that can bind `name` (those whose text holds it as a word),
 * in order, and `stop` (the one holding the lookup) when given: a statement that binds a name
 * spells it, so the others need no look. A module of hundreds of classes costs a text search instead
 * of a walk over every statement (a name typed half-way misses every lookup before the module).
 */
function statementsMentioning(module: Node, name: string, stop: Node | undefined): Node[] {
  const text = module.text;
  const base = module.startIndex;
  const out: Node[] = [];
  const word = /[\p{L}\p{N}_]/u;
  // a missing name in broken code (`def __init__}self)`) is empty: it is found everywhere and binds nothing
  if (!name) return stop ? [stop] : [];
  for (let i = text.indexOf(name); i >= 0; i = text.indexOf(name, i + name.length)) {
    if (word.test(text[i - 1] ?? '') || word.test(text[i + name.length] ?? '')) continue;
    if (out.length > 256) return named(module);
    const node = module.descendantForIndex(base + i, base + i + name.length);
    const stmt = node ? childOfBlockContaining(module, node) : undefined;
    if (stmt && stmt.id !== out[out.length - 1]?.id && stmt.id !== stop?.id) out.push(stmt);
  }
  if (stop) out.push(stop);
  return out.sort((a, b) => a.startIndex - b.startIndex);
}

/** Does `stmt` (a compound statement) assign `name` anywhere inside, outside nested scopes? */
function assignsAnywhere(stmt: Node, name: string): boolean {
  const stack = [stmt];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.id !== stmt.id && (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda')) continue;
    if (n.type === 'assignment' || n.type === 'augmented_assignment' || n.type === 'for_statement' || n.type === 'for_in_clause') {
      const left = n.childForFieldName('left');
      if (left && targetNames(left).includes(name)) return true;
    }
    if (n.type === 'named_expression' && n.childForFieldName('name')?.text === name) return true;
    if (n.type === 'as_pattern' || n.type === 'with_item') {
      if (n.text.endsWith(` as ${name}`)) return true;
    }
    stack.push(...named(n));
  }
  return false;
}

/** Names (identifiers and `self.x` attributes) an assignment target binds. */
function targetNames(left: Node): string[] {
  if (left.type === 'identifier' || left.type === 'attribute') return [left.text];
  if (['pattern_list', 'tuple_pattern', 'list_pattern', 'tuple', 'list', 'parenthesized_expression'].includes(left.type)) {
    return named(left).flatMap(targetNames);
  }
  return [];
}

type Binding =
  | { kind: 'expr'; expr: Node; at: Node }
  | { kind: 'aug'; op: string; prev: Binding | undefined; expr: Node; at: Node }
  | { kind: 'value'; value: Value };

export class PythonEvaluator {
  private depth = 0;

  constructor(
    private readonly ctx: EvalContext,
    private readonly note: AssumptionSink = () => {},
    /** when given, every name whose binding was searched (`w`, `self.conv1`): what the value depends on */
    private readonly searched?: Set<string>,
  ) {}

  /** Evaluate an expression node in the scope where it stands. */
  eval(node: Node): Value {
    if (this.depth > MAX_DEPTH) return unknown('too deeply nested definitions');
    this.depth++;
    try {
      return this.evalInner(node);
    } finally {
      this.depth--;
    }
  }

  private evalInner(node: Node): Value {
    switch (node.type) {
      case 'integer': {
        const t = node.text.replace(/_/g, '').toLowerCase();
        const v = t.startsWith('0x') || t.startsWith('0o') || t.startsWith('0b') ? Number(t) : Number(t.replace(/l$/, ''));
        return Number.isSafeInteger(v) ? int(v) : unknown(`integer ${node.text} is too large`);
      }
      case 'float':
        return { kind: 'float', value: Number(node.text.replace(/_/g, '')) };
      case 'true':
        return { kind: 'bool', value: true };
      case 'false':
        return { kind: 'bool', value: false };
      case 'none':
        return { kind: 'none' };
      case 'string': {
        const plain = plainString(node.text);
        return 'value' in plain ? { kind: 'str', value: plain.value } : unknown(plain.why);
      }
      case 'concatenated_string':
        return unknown('concatenated string');
      case 'parenthesized_expression':
        return named(node)[0] ? this.eval(named(node)[0]) : unknown('empty parentheses');
      case 'tuple':
      case 'expression_list': // the right side of `KERNEL, PAD = 3, 1`
      case 'list':
        return { kind: 'tuple', items: named(node).map((c) => this.eval(c)) };
      case 'unary_operator': {
        const op = node.childForFieldName('operator')?.text;
        const v = this.eval(node.childForFieldName('argument')!);
        if (op === '-') return negate(v);
        if (op === '+') return v;
        return unknown(`operator ${op}`);
      }
      case 'not_operator': {
        const v = truthy(this.eval(node.childForFieldName('argument')!));
        return v === undefined ? unknown('condition') : { kind: 'bool', value: !v };
      }
      case 'boolean_operator': {
        const op = node.childForFieldName('operator')?.text;
        const left = this.eval(node.childForFieldName('left')!);
        const lt = truthy(left);
        if (lt === undefined) return unknown('condition');
        if (op === 'and') return lt ? this.eval(node.childForFieldName('right')!) : left;
        return lt ? left : this.eval(node.childForFieldName('right')!);
      }
      case 'comparison_operator':
        return this.compare(node);
      case 'conditional_expression': {
        const [a, cond, b] = named(node);
        const c = truthy(this.eval(cond));
        if (c === undefined) return unknown(`condition \`${cond.text}\``);
        return this.eval(c ? a : b);
      }
      case 'binary_operator': {
        const op = node.childForFieldName('operator')!.text;
        const left = this.eval(node.childForFieldName('left')!);
        const right = this.eval(node.childForFieldName('right')!);
        const v = binary(op, left, right);
        // `in_channels // 2` of a symbol: an opaque symbol named by the expression
        if (v.kind === 'unknown' && (op === '//' || op === '%') && left.kind === 'int' && right.kind === 'int') {
          return { kind: 'int', poly: Poly.sym(node.text.replace(/\s+/g, ' ')) };
        }
        return v;
      }
      case 'subscript': {
        const base = this.eval(node.childForFieldName('value')!);
        const idx = this.eval(node.childForFieldName('subscript')!);
        const i = idx.kind === 'int' ? idx.poly.constant : undefined;
        if (base.kind === 'tuple' && i !== undefined) {
          const item = base.items[i < 0 ? base.items.length + i : i];
          return item ?? unknown(`index ${i} out of range`);
        }
        return unknown(`\`${node.text}\``);
      }
      case 'call':
        return this.call(node);
      case 'identifier':
        return this.lookup(node.text, node);
      case 'attribute':
        return this.attribute(node);
      default:
        return unknown(`\`${node.text.length > 40 ? node.text.slice(0, 40) + '…' : node.text}\``);
    }
  }

  private compare(node: Node): Value {
    const parts = node.children.filter((c): c is Node => c !== null);
    // a < b, a is None, a is not None, a == b (chains of one comparison)
    if (parts.length < 3) return unknown('comparison');
    const left = this.eval(parts[0]);
    const opText = parts
      .slice(1, -1)
      .map((p) => p.text)
      .join(' ');
    const right = this.eval(parts[parts.length - 1]);
    if (opText === 'is' || opText === 'is not' || opText === '==' || opText === '!=') {
      if (left.kind === 'none' || right.kind === 'none') {
        if (left.kind === 'unknown' || right.kind === 'unknown') return unknown('comparison');
        const same = left.kind === right.kind;
        return { kind: 'bool', value: opText === 'is' || opText === '==' ? same : !same };
      }
    }
    const a = num(left);
    const b = num(right);
    if (a === undefined || b === undefined) {
      if (left.kind === 'str' && right.kind === 'str' && (opText === '==' || opText === '!=')) {
        return { kind: 'bool', value: (left.value === right.value) === (opText === '==') };
      }
      return unknown('comparison');
    }
    const r: Record<string, boolean> = { '<': a < b, '>': a > b, '<=': a <= b, '>=': a >= b, '==': a === b, '!=': a !== b };
    return opText in r ? { kind: 'bool', value: r[opText] } : unknown('comparison');
  }

  private call(node: Node): Value {
    const fn = node.childForFieldName('function')!.text;
    const args = named(node.childForFieldName('arguments'));
    if (args.some((a) => a.type === 'keyword_argument' || a.type === 'list_splat' || a.type === 'dictionary_splat')) {
      return unknown(`\`${node.text}\``);
    }
    const vals = args.map((a) => this.eval(a));
    if (fn === 'int' && vals.length === 1) {
      const v = vals[0];
      if (v.kind === 'int') return v;
      if (v.kind === 'float') return int(Math.trunc(v.value));
      if (v.kind === 'bool') return int(v.value ? 1 : 0);
      return v.kind === 'unknown' ? v : unknown(`\`${node.text}\``);
    }
    if ((fn === 'min' || fn === 'max') && vals.length >= 1) {
      const items = vals.length === 1 && vals[0].kind === 'tuple' ? vals[0].items : vals;
      const nums = items.map(num);
      if (nums.some((n) => n === undefined)) {
        const bad = items.find((v) => v.kind === 'unknown');
        return bad ?? unknown(`\`${node.text}\` has symbolic arguments`);
      }
      const r = fn === 'min' ? Math.min(...(nums as number[])) : Math.max(...(nums as number[]));
      return items.every((v) => v.kind === 'int') ? int(r) : { kind: 'float', value: r };
    }
    if (fn === 'len' && vals.length === 1 && vals[0].kind === 'tuple') return int(vals[0].items.length);
    if (fn === 'abs' && vals.length === 1) {
      const n = num(vals[0]);
      if (n !== undefined) return vals[0].kind === 'int' ? int(Math.abs(n)) : { kind: 'float', value: Math.abs(n) };
    }
    if ((fn === 'tuple' || fn === 'list') && vals.length === 1 && vals[0].kind === 'tuple') return vals[0];
    return unknown(`\`${node.text.length > 40 ? node.text.slice(0, 40) + '…' : node.text}\``);
  }

  /** `self.x` (straight-line assignment earlier in the method, else a class attribute) or `Cls.x`. */
  private attribute(node: Node): Value {
    const obj = node.childForFieldName('object')!;
    const attr = node.childForFieldName('attribute')!.text;
    const fn = enclosing(node, 'function_definition');
    const cls = enclosing(node, 'class_definition');
    const selfName = fn ? firstParam(fn) : undefined;
    if (obj.type === 'identifier' && cls && (obj.text === selfName || obj.text === cls.childForFieldName('name')?.text)) {
      const key = node.text;
      const user = this.userValue(key, node);
      if (user) return user;
      if (fn && obj.text === selfName) {
        const b = this.findInBlock(fn.childForFieldName('body')!, key, node);
        if (b) return this.resolveBinding(b, key);
      }
      const classAttr = this.findInBlock(cls.childForFieldName('body')!, attr, undefined);
      if (classAttr) return this.resolveBinding(classAttr, attr);
      return this.symbol(key, node);
    }
    // self.conv2.out_channels: the argument of the constructor call bound to self.conv2
    if (obj.type === 'attribute' && MODULE_ATTRIBUTES.has(attr) && this.ctx.moduleArgument) {
      const holder = this.bindingOfSelfAttribute(obj);
      if (holder?.kind === 'expr' && holder.expr.type === 'call') {
        const arg = this.ctx.moduleArgument(holder.expr, attr);
        if (arg) return this.eval(arg);
        if (attr === 'groups') return int(1);
      }
    }
    if (node.text === 'math.pi') return { kind: 'float', value: Math.PI };
    // opt.ndf after `opt = parser.parse_args()`: the default of `parser.add_argument('--ndf', default=64)`
    if (obj.type === 'identifier' && parsedArguments(node.tree.rootNode.text, obj.text)) {
      const opt = this.argparseOptions(node.tree.rootNode).get(attr);
      if (opt?.dflt) {
        const v = this.eval(opt.dflt);
        if (v.kind === 'int' && v.poly.isConstant) this.note(`${node.text}=${v.poly.constant} (default of ${opt.option})`);
        return v;
      }
      return unknown(opt ? `\`${opt.option}\` has no default` : `no \`add_argument\` gives \`${node.text}\``);
    }
    return unknown(`\`${node.text}\``);
  }

  /** The file's `add_argument('--name', ..., default=...)` calls by destination (`--n-df` and `dest=` as argparse names it). */
  private argparseOptions(root: Node): Map<string, { option: string; dflt: Node | null }> {
    if (this.ctx.argparse) return this.ctx.argparse;
    const out = new Map<string, { option: string; dflt: Node | null }>();
    if (root.text.includes('add_argument')) {
      for (const call of root.descendantsOfType('call')) {
        if (!call || !/\.add_argument$/.test(call.childForFieldName('function')?.text ?? '')) continue;
        const args = named(call.childForFieldName('arguments'));
        const flags = args.filter((a) => a.type === 'string').map((a) => a.text.replace(/^[rbuRBU]*['"]|['"]$/g, ''));
        const kw = (name: string) =>
          args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === name)?.childForFieldName('value') ?? null;
        const long = flags.find((f) => f.startsWith('--')) ?? flags[0];
        if (!long) continue;
        const destNode = kw('dest');
        const dest =
          destNode?.type === 'string' ? destNode.text.replace(/^[rbuRBU]*['"]|['"]$/g, '') : long.replace(/^-+/, '').replace(/-/g, '_');
        out.set(dest, { option: long, dflt: kw('default') });
      }
    }
    this.ctx.argparse = out;
    return out;
  }

  /** The last top-level binding of `name`, memoised per file: every lookup from a function ends here. */
  private moduleBinding(module: Node, name: string): Binding | undefined {
    const memo = (this.ctx.moduleBindings ??= new Map());
    if (!memo.has(name)) memo.set(name, this.findInBlock(module, name, undefined));
    return memo.get(name) as Binding | undefined;
  }

  /** The assignment in force for `self.x` at `node`, in the enclosing method. */
  private bindingOfSelfAttribute(node: Node): Binding | undefined {
    const obj = node.childForFieldName('object');
    const fn = enclosing(node, 'function_definition');
    if (!fn || obj?.type !== 'identifier' || obj.text !== firstParam(fn)) return undefined;
    return this.findInBlock(fn.childForFieldName('body')!, node.text, node);
  }

  /** A value the user gave (`--assume`, a class or file pragma), stated as an assumption when used. */
  private userValue(name: string, at: Node): Value | undefined {
    const given = (v: number, from: string): Value => {
      this.note(`${name}=${v} (${from})`);
      return int(v);
    };
    if (name in this.ctx.assumptions) return given(this.ctx.assumptions[name], 'assumed');
    // the innermost definition with a pragma for it, then the file's
    for (let cur: Node | null = at; cur; cur = parentOf(cur)) {
      if (cur.type === 'class_definition' || cur.type === 'function_definition') {
        const p = this.ctx.definitionPragmas.get(cur.startPosition.row);
        if (p && name in p)
          return given(p[name], `pragma on ${cur.type === 'class_definition' ? 'class' : 'def'} ${cur.childForFieldName('name')?.text}`);
      }
    }
    if (name in this.ctx.filePragmas) return given(this.ctx.filePragmas[name], 'pragma');
    return undefined;
  }

  private symbol(name: string, at: Node): Value {
    return this.userValue(name, at) ?? { kind: 'int', poly: Poly.sym(name) };
  }

  /** Python name lookup: enclosing functions (not class bodies, unless standing in one), then the module. */
  lookup(name: string, at: Node): Value {
    if (!name) return unknown('a name is missing here (a syntax error)');
    let first = true;
    for (let scope = scopeOf(at); scope; scope = scopeOf(scope)) {
      if (scope.type === 'class_definition' && !first) continue;
      first = false;
      if (scope.type === 'lambda') {
        if (named(scope.childForFieldName('parameters')).some((p) => paramName(p) === name)) return this.symbol(name, at);
        continue;
      }
      const block = scope.type === 'module' ? scope : scope.childForFieldName('body');
      if (!block) continue;
      // comprehension and loop variables around `at` within this scope
      for (let cur: Node | null = parentOf(at); cur && cur.id !== scope.id; cur = parentOf(cur)) {
        if (['list_comprehension', 'generator_expression', 'set_comprehension', 'dictionary_comprehension'].includes(cur.type)) {
          for (const clause of named(cur).filter((c) => c.type === 'for_in_clause')) {
            const left = clause.childForFieldName('left');
            if (left && targetNames(left).includes(name)) return this.symbol(name, at);
          }
        }
      }
      // module code runs before the functions that read its constants: take the last top-level binding
      const b =
        scope.type === 'module' && scopeOf(at)?.type !== 'module' ? this.moduleBinding(block, name) : this.findInBlock(block, name, at);
      if (b) return this.resolveBinding(b, name);
      if (scope.type === 'function_definition') {
        const param = named(scope.childForFieldName('parameters')).find((p) => paramName(p) === name);
        if (param) {
          const user = this.userValue(name, at);
          if (user) return user;
          const dflt = param.childForFieldName('value');
          if (param.type.includes('default') && dflt) {
            const v = this.eval(dflt);
            if (v.kind === 'int' && v.poly.isConstant) {
              this.note(`${name}=${v.poly.constant} (default of ${scope.childForFieldName('name')?.text}())`);
            }
            return v;
          }
          return this.symbol(name, at);
        }
      }
      if (scope.type === 'module') break;
    }
    return this.userValue(name, at) ?? unknown(`\`${name}\` is not defined in this file`);
  }

  private resolveBinding(b: Binding, name: string): Value {
    switch (b.kind) {
      case 'value':
        return b.value;
      case 'expr':
        return this.evalAssigned(b.expr, b.at, name);
      case 'aug': {
        const prev = b.prev ? this.resolveBinding(b.prev, name) : this.lookupBefore(name, b.at);
        return binary(b.op.replace(/=$/, ''), prev, this.eval(b.expr));
      }
    }
  }

  private lookupBefore(name: string, at: Node): Value {
    return name.includes('.') ? this.symbol(name, at) : this.lookup(name, at);
  }

  /** Evaluate the right side of an assignment, picking the element for tuple unpacking. */
  private evalAssigned(expr: Node, assignment: Node, name: string): Value {
    const left = assignment.childForFieldName('left');
    if (left && left.type !== 'identifier' && left.type !== 'attribute') {
      const names = targetNames(left);
      const v = this.eval(expr);
      const i = names.indexOf(name);
      if (v.kind === 'tuple' && v.items.length === names.length && i >= 0) return v.items[i];
      return unknown(`unpacking of \`${expr.text}\``);
    }
    return this.eval(expr);
  }

  /**
   * The binding of `name` that is in force at `at` (or at the end of `block` when `at` is undefined),
   * following straight-line code. An `if` whose condition evaluates is followed into its branch;
   * any other compound statement that assigns the name makes it unknown.
   */
  private findInBlock(block: Node, name: string, at: Node | undefined): Binding | undefined {
    this.searched?.add(name);
    let found: Binding | undefined;
    const stop = at ? childOfBlockContaining(block, at) : undefined;
    for (const stmt of block.type === 'module' ? statementsMentioning(block, name, stop) : named(block)) {
      if (stop && stmt.id === stop.id) {
        // descend into the compound statement that holds `at`
        const loop = stmt.type === 'for_statement' || stmt.type === 'while_statement';
        const left = stmt.type === 'for_statement' ? stmt.childForFieldName('left') : null;
        if (left && targetNames(left).includes(name)) return { kind: 'value', value: this.symbol(name, at!) };
        for (const inner of named(stmt).filter((c) => c.type === 'block' || c.type.endsWith('_clause'))) {
          const blk = inner.type === 'block' ? inner : named(inner).find((c) => c.type === 'block');
          if (blk && at && blk.startIndex <= at.startIndex && at.endIndex <= blk.endIndex) {
            const innerFound = this.findInBlock(blk, name, at);
            if (innerFound) return innerFound;
          }
        }
        // a name a loop body reassigns differs from one iteration to the next
        if (loop && assignsAnywhere(stmt, name)) return { kind: 'value', value: this.symbol(name, at!) };
        break;
      }
      const b = this.bindingIn(stmt, name, found);
      if (b !== undefined) found = b;
    }
    return found;
  }

  private bindingIn(stmt: Node, name: string, prev: Binding | undefined): Binding | undefined {
    const s = stmt.type === 'expression_statement' ? named(stmt)[0] : stmt;
    if (!s) return undefined;
    if (s.type === 'assignment') {
      const left = s.childForFieldName('left');
      const right = s.childForFieldName('right');
      if (left && right && targetNames(left).includes(name)) {
        // chained `a = b = 3`
        const rhs = right.type === 'assignment' ? lastRight(right) : right;
        return { kind: 'expr', expr: rhs, at: s };
      }
      return undefined;
    }
    if (s.type === 'augmented_assignment') {
      const left = s.childForFieldName('left');
      if (left?.text === name) {
        return { kind: 'aug', op: s.childForFieldName('operator')!.text, prev, expr: s.childForFieldName('right')!, at: s };
      }
      return undefined;
    }
    if (s.type === 'if_statement') {
      if (!assignsAnywhere(s, name)) return undefined;
      const branch = this.takenBranch(s);
      if (branch === undefined)
        return { kind: 'value', value: unknown(`\`${name}\` is assigned conditionally (line ${s.startPosition.row + 1})`) };
      if (branch === null) return undefined;
      const inner = this.findInBlock(branch, name, undefined);
      if (inner?.kind === 'aug' && !inner.prev) return { ...inner, prev };
      return inner;
    }
    if (['for_statement', 'while_statement', 'with_statement', 'try_statement', 'match_statement'].includes(s.type)) {
      if (assignsAnywhere(s, name)) {
        return {
          kind: 'value',
          value: unknown(`\`${name}\` is assigned in a ${s.type.replace('_statement', '')} block (line ${s.startPosition.row + 1})`),
        };
      }
      return undefined;
    }
    if ((s.type === 'function_definition' || s.type === 'class_definition') && s.childForFieldName('name')?.text === name) {
      return { kind: 'value', value: unknown(`\`${name}\` is a ${s.type === 'class_definition' ? 'class' : 'function'}`) };
    }
    if (s.type === 'decorated_definition') return this.bindingIn(s.childForFieldName('definition')!, name, prev);
    return undefined;
  }

  /** The block an `if` runs when its conditions evaluate; null when none runs; undefined when unknown. */
  private takenBranch(ifNode: Node): Node | null | undefined {
    const cond = truthy(this.eval(ifNode.childForFieldName('condition')!));
    if (cond === undefined) return undefined;
    if (cond) return ifNode.childForFieldName('consequence');
    for (const alt of named(ifNode).filter((c) => c.type === 'elif_clause' || c.type === 'else_clause')) {
      if (alt.type === 'else_clause') return alt.childForFieldName('body') ?? named(alt).find((c) => c.type === 'block') ?? null;
      const c = truthy(this.eval(alt.childForFieldName('condition')!));
      if (c === undefined) return undefined;
      if (c) return alt.childForFieldName('consequence');
    }
    return null;
  }
}

function lastRight(a: Node): Node {
  let cur = a;
  while (cur.type === 'assignment' && cur.childForFieldName('right')) cur = cur.childForFieldName('right')!;
  return cur;
}

export function enclosing(node: Node, type: string): Node | undefined {
  for (let cur = parentOf(node); cur; cur = parentOf(cur)) if (cur.type === type) return cur;
  return undefined;
}

/** The innermost function, lambda, class or module that `node` is evaluated in. */
function scopeOf(node: Node): Node | null {
  for (let cur: Node | null = parentOf(node); cur; cur = parentOf(cur)) {
    if (isScope(cur)) {
      // default values and decorators are evaluated in the enclosing scope
      if (cur.type === 'function_definition' || cur.type === 'lambda') {
        const body = cur.childForFieldName('body');
        if (body && !(body.startIndex <= node.startIndex && node.endIndex <= body.endIndex)) continue;
      }
      if (cur.type === 'class_definition') {
        const body = cur.childForFieldName('body');
        if (body && !(body.startIndex <= node.startIndex && node.endIndex <= body.endIndex)) continue;
      }
      return cur;
    }
  }
  return null;
}

export function paramName(p: Node): string | undefined {
  if (p.type === 'identifier') return p.text;
  const n = p.childForFieldName('name');
  if (n) return n.text;
  const first = named(p)[0];
  return first?.type === 'identifier' ? first.text : undefined;
}

export function firstParam(fn: Node): string | undefined {
  const first = named(fn.childForFieldName('parameters'))[0];
  return first ? paramName(first) : undefined;
}

export function truthy(v: Value): boolean | undefined {
  switch (v.kind) {
    case 'bool':
      return v.value;
    case 'none':
      return false;
    case 'int':
      return v.poly.constant === undefined ? undefined : v.poly.constant !== 0;
    case 'float':
      return v.value !== 0;
    case 'str':
      return v.value !== '';
    case 'tuple':
      return v.items.length > 0;
    default:
      return undefined;
  }
}

function num(v: Value): number | undefined {
  if (v.kind === 'int') return v.poly.constant;
  if (v.kind === 'float') return v.value;
  if (v.kind === 'bool') return v.value ? 1 : 0;
  return undefined;
}

function negate(v: Value): Value {
  if (v.kind === 'int') return { kind: 'int', poly: v.poly.neg() };
  if (v.kind === 'float') return { kind: 'float', value: -v.value };
  return v.kind === 'unknown' ? v : unknown('negation of a non-number');
}

function asPoly(v: Value): Poly | undefined {
  if (v.kind === 'int') return v.poly;
  if (v.kind === 'bool') return Poly.const(v.value ? 1 : 0);
  return undefined;
}

export function binary(op: string, a: Value, b: Value): Value {
  if (a.kind === 'unknown') return a;
  if (b.kind === 'unknown') return b;
  if (a.kind === 'tuple' && b.kind === 'tuple' && op === '+') return { kind: 'tuple', items: [...a.items, ...b.items] };
  if (a.kind === 'tuple' && op === '*' && asPoly(b)?.constant !== undefined) {
    return { kind: 'tuple', items: Array.from({ length: asPoly(b)!.constant! }, () => a.items).flat() };
  }
  const pa = asPoly(a);
  const pb = asPoly(b);
  if (pa && pb) {
    const ca = pa.constant;
    const cb = pb.constant;
    switch (op) {
      case '+':
        return { kind: 'int', poly: pa.add(pb) };
      case '-':
        return { kind: 'int', poly: pa.sub(pb) };
      case '*':
        return { kind: 'int', poly: pa.mul(pb) };
      case '//': {
        if (ca !== undefined && cb !== undefined) return cb === 0 ? unknown('division by zero') : int(Math.floor(ca / cb));
        const q = pa.divBy(pb);
        return q ? { kind: 'int', poly: q } : unknown(`\`${pa.toString()} // ${pb.toString()}\` is not exact`);
      }
      case '%':
        if (ca !== undefined && cb !== undefined && cb !== 0) return int(((ca % cb) + cb) % cb);
        return pa.divBy(pb) ? int(0) : unknown('symbolic remainder');
      case '**':
        if (cb !== undefined && cb >= 0 && cb <= 16) return { kind: 'int', poly: pa.pow(cb) };
        return unknown('symbolic power');
      case '/':
        if (ca !== undefined && cb !== undefined && cb !== 0) return { kind: 'float', value: ca / cb };
        return unknown('symbolic true division');
      case '<<':
        if (cb !== undefined && cb >= 0 && cb < 31) return { kind: 'int', poly: pa.mulConst(2 ** cb) };
        return unknown('symbolic shift');
      case '>>':
        if (ca !== undefined && cb !== undefined) return int(Math.floor(ca / 2 ** cb));
        return unknown('symbolic shift');
      default:
        return unknown(`operator ${op}`);
    }
  }
  const fa = num(a);
  const fb = num(b);
  if (fa !== undefined && fb !== undefined) {
    const r: Record<string, number> = { '+': fa + fb, '-': fa - fb, '*': fa * fb, '/': fa / fb, '//': Math.floor(fa / fb), '**': fa ** fb };
    if (op in r) return { kind: 'float', value: r[op] };
  }
  return unknown(`\`${op}\` on these operands`);
}
