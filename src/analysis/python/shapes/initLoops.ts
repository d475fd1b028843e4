/**
 * Loops that only initialise weights, which are not run: what they change (parameter values) is
 * what the interpreter does not track (a parameter is its shape).
 *
 *     for m in self.modules():
 *         if isinstance(m, nn.Conv2d):
 *             nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
 *         elif isinstance(m, nn.Linear):
 *             init_range = 1.0 / math.sqrt(m.out_features)
 *             nn.init.uniform_(m.weight, -init_range, init_range)
 *
 * Nearly every torchvision model ends its `__init__` so, and each run visits every module of the
 * model: on the real corpus (torchvision and torchaudio, one thread) these loops took 630 ms of 5 s.
 *
 * A loop is skipped only when all of it is read as harmless from its text: it iterates
 * `<name or attribute>.modules()`, and its body holds nothing but `if`/`elif`/`else` on pure
 * expressions, `torch.nn.init` calls and in-place tensor methods (`m.weight.data.normal_(0, 0.01)`)
 * on pure arguments, assignments of pure expressions to local names that nothing after the loop
 * reads (nor its loop variable), `pass` and `continue`. Pure: names, attributes, items, literals,
 * operators, and calls of `isinstance`, `hasattr`, `getattr`, `float`, `int`, `len`, `min`, `max`,
 * `abs` and `math` functions (no f-string). When the loop is reached, the names those calls rest on
 * must be what the text needs (`nn` torch.nn for `nn.init.zeros_`, `tinit` torch.nn.init for
 * `tinit.zeros_`, `math` the module, `isinstance` the builtin) and every other name it reads must be
 * bound (a NameError is the run's to report); anything else runs as before.
 */
import type { Node } from 'web-tree-sitter';
import type { Interp } from './interpreter';
import { builtinValue } from './builtins';
import { named } from './nodes';
import { bindingOf, force, NONE, type Scope, type V } from './values';

/**
 * What a skippable loop needs of the names it reads: the library path a name must have (`nn`:
 * `torch.nn`), `builtin` (unbound here: Python's), or `bound` (anything: the loop must not be the
 * one place a NameError would show).
 */
type Needs = Map<string, string>;

/** Per loop node: its needs when its text allows skipping it, null when it does not. */
const verdicts = new WeakMap<Node, Needs | null>();

const BUILTINS = new Set(['isinstance', 'hasattr', 'getattr', 'float', 'int', 'len', 'min', 'max', 'abs']);
/** `math` functions an initialisation computes a bound or a standard deviation with. */
const MATH = /^(sqrt|log|exp|pow|ceil|floor|prod|fabs)$/;

/** In-place tensor methods an initialisation calls on a parameter (or its `.data`). */
const IN_PLACE = new Set(['normal_', 'uniform_', 'zero_', 'fill_', 'copy_', 'mul_', 'div_', 'add_', 'sub_', 'clamp_', 'requires_grad_']);

const LITERALS = new Set(['integer', 'float', 'true', 'false', 'none']);
const OPERATORS = new Set([
  'binary_operator',
  'unary_operator',
  'boolean_operator',
  'not_operator',
  'comparison_operator',
  'conditional_expression',
  'parenthesized_expression',
  'tuple',
  'list',
  'expression_list',
  'argument_list',
  'subscript',
  'slice',
]);

/** Whether `stmt` (a for statement) only initialises weights and may be left unrun here. */
export function onlyInitializes(ip: Interp, stmt: Node, scope: Scope): boolean {
  let needs = verdicts.get(stmt);
  if (needs === undefined) {
    needs = readLoop(stmt);
    verdicts.set(stmt, needs);
  }
  if (!needs) return false;
  for (const [name, need] of needs) {
    ip.touched?.add(name);
    const library = need !== 'bound' && need !== 'builtin';
    const v = peek(name, scope, library);
    const ok = library
      ? v?.kind === 'lib' && v.path === need
      : need === 'bound'
        ? v !== undefined || builtinValue(name) !== undefined
        : v === undefined;
    if (!ok) return false;
  }
  skipped.loops++;
  return true;
}

/** Loops not run, for the tests. */
export const skipped = { loops: 0 };

/**
 * The value a name has here, without asking the interpreter to fail: undefined when unbound (a
 * builtin, or an implicit name). A definition the file runs on first lookup (its entry file's
 * imports, classes and functions) is run when `run` says so (the loop would look it up), else
 * taken as bound to something of the file's own (None).
 */
function peek(name: string, scope: Scope, run: boolean): V | undefined {
  const v = bindingOf(name, scope);
  return v?.kind !== 'lazy' ? v : run ? force(v) : NONE;
}

function readLoop(stmt: Node): Needs | null {
  const left = stmt.childForFieldName('left');
  const right = stmt.childForFieldName('right');
  const fn = right?.type === 'call' ? right.childForFieldName('function') : null;
  if (left?.type !== 'identifier' || fn?.type !== 'attribute' || stmt.childForFieldName('alternative')) return null;
  if (fn.childForFieldName('attribute')?.text !== 'modules' || named(right!.childForFieldName('arguments')).length > 0) return null;
  const object = chain(fn.childForFieldName('object'));
  if (!object) return null;
  const needs: Needs = new Map([[object[0], 'bound']]);
  const locals = new Set<string>([left.text]);
  if (!block(stmt.childForFieldName('body'), needs, locals)) return null;
  for (const name of locals) if (needs.get(name) === 'bound') needs.delete(name);
  // nothing after the loop reads what it would have bound
  const after = textAfter(stmt);
  for (const name of locals) if (readAfter(name, after)) return null;
  return needs;
}

/**
 * Whether `after` may read `name` before binding it again: it mentions the name, and not first as
 * the variable of another loop (`for m in self.modules():` twice in a row, torchvision's ResNet)
 * whose iterable does not read it.
 */
function readAfter(name: string, after: string): boolean {
  const first = new RegExp(`\\b${name}\\b`).exec(after);
  if (!first) return false;
  const loop = new RegExp(`\\bfor(\\s+)${name}\\s+in\\b([^:\\n]*):`, 'y');
  loop.lastIndex = Math.max(0, after.lastIndexOf('for', first.index));
  const m = loop.exec(after);
  return !m || m.index + 3 + m[1].length !== first.index || new RegExp(`\\b${name}\\b`).test(m[2]);
}

/** The text after `stmt` to the end of the function holding it (or of the file). */
function textAfter(stmt: Node): string {
  let holder: Node | null = stmt.parent;
  while (holder && holder.type !== 'function_definition' && holder.type !== 'module') holder = holder.parent;
  const root = holder ?? stmt;
  return root.text.slice(stmt.endIndex - root.startIndex);
}

function block(body: Node | null, needs: Needs, locals: Set<string>): boolean {
  if (!body) return false;
  return named(body).every((s) => statement(s, needs, locals));
}

function statement(s: Node, needs: Needs, locals: Set<string>): boolean {
  switch (s.type) {
    case 'pass_statement':
    case 'continue_statement':
      return true;
    case 'if_statement':
    case 'elif_clause':
      return (
        pure(s.childForFieldName('condition'), needs) &&
        block(s.childForFieldName('consequence'), needs, locals) &&
        s.childrenForFieldName('alternative').every((a) => !a || statement(a, needs, locals))
      );
    case 'else_clause':
      return block(s.childForFieldName('body'), needs, locals);
    case 'expression_statement': {
      const [e, ...rest] = named(s);
      if (!e || rest.length > 0) return false;
      if (e.type === 'string') return pure(e, needs);
      if (e.type === 'assignment' || e.type === 'augmented_assignment') return assignment(e, needs, locals);
      return e.type === 'call' && initCall(e, needs);
    }
    default:
      return false;
  }
}

/** `x = <pure>`, `fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)`, `fan_out //= m.groups`. */
function assignment(e: Node, needs: Needs, locals: Set<string>): boolean {
  if (e.childForFieldName('type')) return false;
  const target = e.childForFieldName('left');
  const names = target?.type === 'identifier' ? [target] : target?.type === 'pattern_list' || target?.type === 'tuple' ? named(target) : [];
  if (names.length === 0 || names.some((n) => n.type !== 'identifier')) return false;
  for (const n of names) locals.add(n.text);
  const value = e.childForFieldName('right');
  return pure(value, needs) || (value?.type === 'call' && initCall(value, needs));
}

/** `nn.init.kaiming_normal_(m.weight, ...)`, `torch.nn.init.zeros_(m.bias)`, `m.weight.data.normal_(0, 0.01)`. */
function initCall(call: Node, needs: Needs): boolean {
  const fn = call.childForFieldName('function');
  if (fn?.type !== 'attribute' || !pure(call.childForFieldName('arguments'), needs)) return false;
  const parts = chain(fn);
  if (!parts) return false;
  const root = initModule(parts);
  if (root) return need(needs, parts[0], root);
  // a method of a tensor read off a name (`m.weight.data.normal_(0, 0.01)`): in place, returning it
  return parts.length >= 2 && IN_PLACE.has(parts[parts.length - 1]) && need(needs, parts[0], 'bound');
}

/** The names of an attribute chain `a.b.c` (null when it is not one). */
function chain(node: Node | null): string[] | null {
  if (!node) return null;
  if (node.type === 'identifier') return [node.text];
  if (node.type !== 'attribute') return null;
  const head = chain(node.childForFieldName('object'));
  const last = node.childForFieldName('attribute')?.text;
  return head && last ? [...head, last] : null;
}

/**
 * What the first name of a call's chain must be for the call to be one of `torch.nn.init`'s:
 * `torch` for `torch.nn.init.zeros_`, `torch.nn` for `nn.init.zeros_`, the module itself for
 * `init.zeros_` (under any name: `from torch.nn import init as tinit`).
 */
function initModule(parts: string[]): string | undefined {
  const rest = parts.slice(1).join('.');
  if (/^nn\.init\.\w+$/.test(rest)) return 'torch';
  if (/^init\.\w+$/.test(rest)) return 'torch.nn';
  if (/^\w+$/.test(rest)) return 'torch.nn.init';
  return undefined;
}

/** Records that `name` must be `what` (a library path, or `bound`); false when another call needs it to be something else. */
function need(needs: Needs, name: string, what: string): boolean {
  const known = needs.get(name);
  if (known === undefined || known === 'bound') needs.set(name, what);
  else if (what !== 'bound' && known !== what) return false;
  return true;
}

/** An expression whose evaluation changes nothing: reads, literals, operators, and the calls the file comment lists. */
function pure(node: Node | null, needs: Needs): boolean {
  if (!node) return false;
  if (LITERALS.has(node.type)) return true;
  if (node.type === 'identifier') return need(needs, node.text, 'bound');
  // an f-string's replacement fields are code
  if (node.type === 'string' || node.type === 'concatenated_string') return node.descendantsOfType('interpolation').length === 0;
  if (node.type === 'attribute') return pure(node.childForFieldName('object'), needs);
  if (node.type === 'call') {
    const fn = node.childForFieldName('function');
    if (!fn || !pure(node.childForFieldName('arguments'), needs)) return false;
    if (fn.type === 'identifier' && BUILTINS.has(fn.text)) return need(needs, fn.text, 'builtin');
    // `math.sqrt(m.out_features)`, `nn.init._calculate_fan_in_and_fan_out(m.weight)`
    const parts = chain(fn);
    if (parts?.length === 2 && MATH.test(parts[1])) return need(needs, parts[0], 'math');
    const root = parts && /^_calculate_/.test(parts[parts.length - 1]) ? initModule(parts) : undefined;
    return root !== undefined && need(needs, parts![0], root);
  }
  if (node.type === 'keyword_argument') return pure(node.childForFieldName('value'), needs);
  if (OPERATORS.has(node.type)) return named(node).every((c) => pure(c, needs));
  // the operator tokens of an operator node are unnamed; any other named node is not known to be pure
  return false;
}
