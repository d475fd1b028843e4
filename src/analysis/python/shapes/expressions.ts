/** The interpreter's expressions: literals, strings, containers, comprehensions, names, truth, operators and comparisons. */
import { bornOf } from './buildMemo';
import type { Node } from 'web-tree-sitter';
import { binary, truthy as scalarTruthy } from '../evaluate';
import { canonical } from '../imports';
import { bodyValue, plainString, stringParts } from '../literals';
import { builtinValue, formatPercent, putEntry, pyStr, valuesEqual } from './builtins';
import type { Interp } from './interpreter';
import { carryOperatorDtype } from './dtypes';
import { named } from './nodes';
import { dataOperator, dataUnary } from './tensorData';
import { isNnClass } from './torch/args';
import { tensorBinary, tensorCompare, tensorUnary } from './torch/tensors';
import { describe, fromValue, intOf, intV, NONE, resolved, strV, toValue, unknown, type Scope, type V } from './values';

export function evaluate(ip: Interp, node: Node, scope: Scope): V {
  switch (node.type) {
    case 'integer': {
      const t = node.text.replace(/_/g, '').toLowerCase();
      if (t.endsWith('j')) return ip.fail(node, 'complex number');
      const n = Number(t);
      return Number.isSafeInteger(n) ? intV(n) : ip.fail(node, 'integer too large');
    }
    case 'float': {
      const t = node.text.replace(/_/g, '');
      return /j$/i.test(t) ? ip.fail(node, 'complex number') : { kind: 'float', value: Number(t) };
    }
    case 'true':
      return { kind: 'bool', value: true };
    case 'false':
      return { kind: 'bool', value: false };
    case 'none':
      return NONE;
    case 'ellipsis':
      return { kind: 'ellipsis' };
    case 'string':
      return string(ip, node, scope);
    case 'concatenated_string': {
      let s = '';
      for (const part of named(node)) {
        const v = string(ip, part, scope);
        if (v.kind !== 'str') return v;
        s += v.value;
      }
      return strV(s);
    }
    case 'identifier':
      return lookup(ip, node.text, scope, node);
    case 'attribute':
      return ip.getAttr(evaluate(ip, node.childForFieldName('object')!, scope), node.childForFieldName('attribute')!.text, node);
    case 'subscript':
      return ip.getItem(evaluate(ip, node.childForFieldName('value')!, scope), subscriptKey(ip, node, scope), node);
    case 'call':
      return ip.evalCall(node, scope);
    case 'binary_operator':
      return binop(
        ip,
        node.childForFieldName('operator')!.text,
        evaluate(ip, node.childForFieldName('left')!, scope),
        evaluate(ip, node.childForFieldName('right')!, scope),
        node,
      );
    case 'unary_operator': {
      const op = node.childForFieldName('operator')!.text;
      const v = evaluate(ip, node.childForFieldName('argument')!, scope);
      if (v.kind === 'unknown') return v;
      if (v.kind === 'tensor') return (op === '-' ? dataUnary('neg', v) : undefined) ?? tensorUnary(v);
      if (op === '+') return v;
      if (op === '-') return binop(ip, '*', v, intV(-1), node);
      if (op === '~' && intOf(v) !== undefined) return intV(~intOf(v)!);
      return ip.fail(node, `\`${op}\` on ${describe(v)}`);
    }
    case 'not_operator': {
      const t = truthy(evaluate(ip, node.childForFieldName('argument')!, scope));
      return t === undefined ? ip.fail(node, 'cannot decide the condition') : { kind: 'bool', value: !t };
    }
    case 'boolean_operator': {
      const op = node.childForFieldName('operator')!.text;
      const left = evaluate(ip, node.childForFieldName('left')!, scope);
      const t = truthy(left);
      if (t === undefined) return left.kind === 'unknown' ? left : ip.fail(node, 'cannot decide the condition');
      if (op === 'and') return t ? evaluate(ip, node.childForFieldName('right')!, scope) : left;
      return t ? left : evaluate(ip, node.childForFieldName('right')!, scope);
    }
    case 'comparison_operator':
      return comparison(ip, node, scope);
    case 'conditional_expression': {
      const [a, cond, b] = named(node);
      const t = truthy(evaluate(ip, cond, scope));
      if (t === undefined) {
        const c = ip.explore(
          cond,
          scope,
          [a, b],
          [a, b].map((e) => () => ({ type: 'return', value: evaluate(ip, e, scope) })),
        );
        return c.type === 'return' ? c.value : c.type === 'stop' ? unknown(c.why) : ip.fail(cond, 'cannot decide the condition');
      }
      return evaluate(ip, t ? a : b, scope);
    }
    case 'parenthesized_expression': {
      const inner = named(node)[0];
      return inner ? evaluate(ip, inner, scope) : { kind: 'tuple', items: [] };
    }
    case 'tuple':
    case 'expression_list':
      return sequence(ip, node, scope, 'tuple');
    case 'list':
    case 'set':
      return sequence(ip, node, scope, 'list');
    case 'dictionary':
      return dictionary(ip, node, scope);
    case 'list_comprehension':
    case 'set_comprehension':
    case 'generator_expression':
    case 'dictionary_comprehension':
      return comprehension(ip, node, scope);
    case 'lambda':
      return {
        kind: 'function',
        f: {
          name: '<lambda>',
          node,
          env: scope.env,
          closure: scope,
          defaults: ip.defaults(node.childForFieldName('parameters'), scope),
          owner: undefined,
          kind: 'function',
        },
      };
    case 'named_expression': {
      const v = evaluate(ip, node.childForFieldName('value')!, scope);
      ip.setName(node.childForFieldName('name')!.text, v, scope);
      return v;
    }
    case 'slice':
      return slice(ip, node, scope);
    default:
      return ip.fail(node, `${node.type.replace(/_/g, ' ')} is not followed`);
  }
}

/**
 * A string literal's value. A literal that is not an f-string is read from its text (a module's
 * list of a thousand category names is a thousand of them: its parts are not visited); an
 * f-string's text parts are read the same way, its replacement fields evaluated.
 */
export function string(ip: Interp, node: Node, scope: Scope): V {
  if (node.type !== 'string') return evaluate(ip, node, scope);
  const parts = stringParts(node.text);
  if (!parts || !parts.prefix.includes('f') || parts.prefix.includes('b')) {
    const plain = plainString(node.text, parts);
    return 'value' in plain ? strV(plain.value) : ip.fail(node, plain.why);
  }
  let s = '';
  for (const part of named(node)) {
    if (part.type === 'string_content') {
      const value = bodyValue(parts.prefix, part.text.replace(/\{\{/g, '{').replace(/\}\}/g, '}'));
      if (value === undefined) return ip.fail(part, 'a \\N{...} escape');
      s += value;
    } else if (part.type === 'interpolation') {
      const e = part.childForFieldName('expression') ?? named(part)[0];
      const v = evaluate(ip, e, scope);
      const spec = named(part)
        .find((c) => c.type === 'format_specifier')
        ?.text.replace(/^:/, '');
      const text = spec ? formatPercent(`%${spec.replace(/^([<>^]?)(\d*)([a-z]?)$/, '$2$3') || 's'}`, v) : pyStr(v);
      if (text === undefined) return ip.fail(part, 'cannot format this value');
      s += text;
    }
  }
  return strV(s);
}

/**
 * The items of a long list or tuple display of plain literals (torchvision's 1,000 category names in
 * `_meta.py`, which every classification model's weights read), by node: a library file's copy is
 * kept per thread (program.ts), and its display is read once, not once per run.
 */
const literalItems = new WeakMap<Node, V[]>();
const LITERAL = new Set(['string', 'integer', 'float']);
const MIN_LITERALS = 32;

export function sequence(ip: Interp, node: Node, scope: Scope, kind: 'tuple' | 'list'): V {
  const known = literalItems.get(node);
  if (known) return { kind, items: known.slice() };
  const items: V[] = [];
  const kids = named(node);
  for (const c of kids) {
    if (c.type === 'list_splat' || c.type === 'parenthesized_list_splat') {
      const inner = ip.iterate(evaluate(ip, named(c)[0], scope), c);
      if (!Array.isArray(inner)) return inner;
      items.push(...inner);
    } else items.push(evaluate(ip, c, scope));
  }
  // kept only when every item is a literal read as a value (an f-string's has parts; a failure its stop)
  if (
    kids.length >= MIN_LITERALS &&
    kids.every((c) => LITERAL.has(c.type) && !(c.type === 'string' && named(c).some((p) => p.type === 'interpolation'))) &&
    items.every((v) => v.kind === 'str' || v.kind === 'int' || v.kind === 'float')
  )
    literalItems.set(node, items.slice());
  return { kind, items };
}

export function dictionary(ip: Interp, node: Node, scope: Scope): V {
  const entries: [V, V][] = [];
  for (const c of named(node)) {
    if (c.type === 'pair') {
      putEntry(entries, evaluate(ip, c.childForFieldName('key')!, scope), evaluate(ip, c.childForFieldName('value')!, scope));
    } else if (c.type === 'dictionary_splat') {
      const d = evaluate(ip, named(c)[0], scope);
      if (d.kind !== 'dict') return d.kind === 'unknown' ? d : ip.fail(c, '`**` of a non-dict');
      for (const [k, v] of d.entries) putEntry(entries, k, v);
    }
  }
  return { kind: 'dict', entries };
}

export function comprehension(ip: Interp, node: Node, scope: Scope): V {
  const inner: Scope = { vars: new Map(), parent: scope, env: scope.env, fn: scope.fn, self: scope.self, born: ip.nextId };
  const body = node.childForFieldName('body')!;
  const clauses = named(node).filter((c) => c.type === 'for_in_clause' || c.type === 'if_clause');
  const out: V[] = [];
  const entries: [V, V][] = [];
  let failure: V | undefined;
  const run = (i: number): void => {
    if (failure) return;
    const spent = ip.spent();
    if (spent) {
      failure = unknown(ip.stopAt(node, spent).why);
      return;
    }
    if (i === clauses.length) {
      if (body.type === 'pair')
        putEntry(entries, evaluate(ip, body.childForFieldName('key')!, inner), evaluate(ip, body.childForFieldName('value')!, inner));
      else out.push(evaluate(ip, body, inner));
      return;
    }
    const clause = clauses[i];
    if (clause.type === 'if_clause') {
      const t = truthy(evaluate(ip, named(clause)[0], inner));
      if (t === undefined) failure = ip.fail(clause, 'cannot decide the condition');
      else if (t) run(i + 1);
      return;
    }
    const right = clause.childForFieldName('right')!;
    const items = ip.iterate(evaluate(ip, right, inner), right);
    if (!Array.isArray(items)) {
      failure = items;
      return;
    }
    for (const item of items) {
      ip.assignTarget(clause.childForFieldName('left')!, item, inner);
      run(i + 1);
    }
  };
  run(0);
  if (failure) return failure;
  return node.type === 'dictionary_comprehension' ? { kind: 'dict', entries } : { kind: 'list', items: out };
}

export function slice(ip: Interp, node: Node, scope: Scope): V {
  // children in order: [start] ':' [stop] [':' [step]]
  const parts: (Node | undefined)[] = [undefined];
  for (let i = 0; i < node.childCount; i++) {
    const c = node.child(i)!;
    if (c.type === ':') parts.push(undefined);
    else if (c.isNamed && c.type !== 'comment') parts[parts.length - 1] = c;
  }
  const at = (i: number) => (parts[i] ? evaluate(ip, parts[i], scope) : NONE);
  return { kind: 'slice', start: at(0), stop: at(1), step: at(2) };
}

export function subscriptKey(ip: Interp, node: Node, scope: Scope): V {
  const subs = node.childrenForFieldName('subscript').filter((n) => n !== null);
  if (subs.length === 1) return evaluate(ip, subs[0], scope);
  return { kind: 'tuple', items: subs.map((s) => evaluate(ip, s, scope)) };
}

export function lookup(ip: Interp, name: string, scope: Scope, at: Node): V {
  ip.touched?.add(name);
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const v = s.vars.get(name);
    if (v === undefined) continue;
    const r = v.kind === 'lazy' ? resolved(s.vars, name, v) : v;
    // a recorded build that reads a container, object or module it did not make, or any name of an
    // enclosing call that may bind it again, is not remembered (a global is bound again only by its
    // file's top level, which has run before a build reads it, or through `global`, which forgets
    // every build: statements.ts setName)
    if (ip.memo.recording) {
      if (s.vars !== s.env.globals) ip.memo.taint(bornOf(s));
      else ip.memo.read(r);
    }
    return r;
  }
  const g = scope.env.globals.get(name);
  if (g !== undefined) {
    const r = g.kind === 'lazy' ? resolved(scope.env.globals, name, g) : g;
    ip.memo.read(r);
    return r;
  }
  if (scope.env.globals.has('__star_torch_nn__') && isNnClass(`torch.nn.${name}`)) return { kind: 'lib', path: `torch.nn.${name}` };
  // like the core's detection, a snippet's `torch`, `nn` and `F` are PyTorch's when nothing binds them
  const implicit: Record<string, string> = { torch: 'torch', nn: 'torch.nn', F: 'torch.nn.functional' };
  if (implicit[name]) return { kind: 'lib', path: implicit[name] };
  return builtinValue(name) ?? ip.fail(at, `\`${name}\` is not defined`);
}

export function truthy(v: V): boolean | undefined {
  switch (v.kind) {
    case 'list':
    case 'tuple':
      return v.items.length > 0;
    case 'dict':
      return v.entries.length > 0;
    case 'module': {
      const t = v.m.native?.type;
      // containers have __len__: an empty nn.Sequential() is false
      if (t === 'Sequential' || t === 'ModuleList' || t === 'ModuleDict') return [...v.m.modules.values()].some((x) => x !== null);
      return true;
    }
    case 'tensor':
      return undefined;
    case 'class':
    case 'function':
    case 'bound':
    case 'native':
    case 'lib':
    case 'pymodule':
    case 'object':
    case 'super':
      return true;
    case 'ellipsis':
      return true;
    case 'slice':
      return true;
    default:
      return scalarTruthy(toValue(v));
  }
}

export function binop(ip: Interp, op: string, l: V, r: V, at: Node): V {
  if (l.kind === 'unknown') return l;
  if (r.kind === 'unknown') return r;
  if (l.kind === 'tensor' || r.kind === 'tensor')
    return dataOperator(op, l, r) ?? carryOperatorDtype(op, l, r, tensorBinary(ip, op, l, r, at));
  if (op === '+' && l.kind === r.kind && (l.kind === 'list' || l.kind === 'tuple')) {
    return { kind: l.kind, items: [...l.items, ...(r as { items: V[] }).items] };
  }
  if (op === '*' && (l.kind === 'list' || l.kind === 'tuple') && intOf(r) !== undefined) {
    return { kind: l.kind, items: Array.from({ length: Math.max(0, intOf(r)!) }, () => l.items).flat() };
  }
  if (op === '*' && (r.kind === 'list' || r.kind === 'tuple') && intOf(l) !== undefined) return binop(ip, op, r, l, at);
  if (l.kind === 'str') {
    if (op === '+' && r.kind === 'str') return strV(l.value + r.value);
    if (op === '*' && intOf(r) !== undefined) return strV(l.value.repeat(Math.max(0, intOf(r)!)));
    if (op === '%') {
      const s = formatPercent(l.value, r);
      return s === undefined ? ip.fail(at, 'string formatting') : strV(s);
    }
  }
  if (op === '/' && intOf(r) === 0) return ip.fail(at, 'division by zero');
  if (op === '//' && (l.kind === 'float' || r.kind === 'float')) {
    const a = l.kind === 'float' ? l.value : intOf(l);
    const b = r.kind === 'float' ? r.value : intOf(r);
    if (a !== undefined && b !== undefined && b !== 0) return { kind: 'float', value: Math.floor(a / b) };
  }
  if ((op === '&' || op === '|' || op === '^') && intOf(l) !== undefined && intOf(r) !== undefined) {
    const a = intOf(l)!;
    const b = intOf(r)!;
    const n = op === '&' ? a & b : op === '|' ? a | b : a ^ b;
    return l.kind === 'bool' && r.kind === 'bool' ? { kind: 'bool', value: n !== 0 } : intV(n);
  }
  const v = fromValue(binary(op, toValue(l), toValue(r)));
  if (v.kind === 'unknown') return ip.fail(at, v.why);
  if (v.kind === 'int' && !v.poly.isConstant) return ip.fail(at, 'symbolic value');
  return v;
}

export function comparison(ip: Interp, node: Node, scope: Scope): V {
  const operands = named(node);
  const ops = node.childrenForFieldName('operators').filter((n) => n !== null);
  let left = evaluate(ip, operands[0], scope);
  let result: V = { kind: 'bool', value: true };
  for (let i = 0; i < ops.length; i++) {
    const right = evaluate(ip, operands[i + 1], scope);
    const r = compare(ip, ops[i].type, left, right, node);
    if (r.kind !== 'bool') return r;
    if (!r.value) return r;
    result = r;
    left = right;
  }
  return result;
}

export function compare(ip: Interp, op: string, a: V, b: V, at: Node): V {
  const bool = (x: boolean): V => ({ kind: 'bool', value: x });
  if (op === 'is' || op === 'is not') {
    const same = identical(a, b);
    if (same === undefined) return a.kind === 'unknown' ? a : b.kind === 'unknown' ? b : ip.fail(at, 'identity of these values');
    return bool(op === 'is' ? same : !same);
  }
  if (op === 'in' || op === 'not in') {
    const found = contains(b, a);
    if (found === undefined) return b.kind === 'unknown' ? b : a.kind === 'unknown' ? a : ip.fail(at, `\`in\` on ${describe(b)}`);
    return bool(op === 'in' ? found : !found);
  }
  if (a.kind === 'unknown') return a;
  if (b.kind === 'unknown') return b;
  if (a.kind === 'tensor' || b.kind === 'tensor') return dataOperator(op, a, b) ?? tensorCompare(ip, a, b, at);
  if (op === '==' || op === '!=') {
    const eq = valuesEqual(a, b);
    if (eq === undefined) return ip.fail(at, 'comparison');
    return bool(op === '==' ? eq : !eq);
  }
  const x = a.kind === 'float' ? a.value : intOf(a);
  const y = b.kind === 'float' ? b.value : intOf(b);
  if (x === undefined || y === undefined) {
    if (a.kind === 'str' && b.kind === 'str') {
      const r: Record<string, boolean> = {
        '<': a.value < b.value,
        '>': a.value > b.value,
        '<=': a.value <= b.value,
        '>=': a.value >= b.value,
      };
      if (op in r) return bool(r[op]);
    }
    return ip.fail(at, 'comparison');
  }
  const r: Record<string, boolean> = { '<': x < y, '>': x > y, '<=': x <= y, '>=': x >= y, '<>': x !== y };
  return op in r ? bool(r[op]) : ip.fail(at, `operator ${op}`);
}

export function contains(container: V, item: V): boolean | undefined {
  switch (container.kind) {
    case 'list':
    case 'tuple': {
      let unsure = false;
      for (const x of container.items) {
        const eq = valuesEqual(x, item);
        if (eq) return true;
        if (eq === undefined) unsure = true;
      }
      return unsure ? undefined : false;
    }
    case 'dict':
      return container.entries.some(([k]) => valuesEqual(k, item) === true);
    case 'str':
      return item.kind === 'str' ? container.value.includes(item.value) : undefined;
    case 'module':
      if (container.m.native?.type === 'ModuleDict' && item.kind === 'str') return container.m.modules.has(item.value);
      return undefined;
    default:
      return undefined;
  }
}

function identical(a: V, b: V): boolean | undefined {
  if (a.kind === 'unknown' || b.kind === 'unknown') return undefined;
  if (a.kind === 'none' || b.kind === 'none') return a.kind === b.kind;
  if (a.kind === 'module' && b.kind === 'module') return a.m === b.m;
  if (a.kind === 'class' && b.kind === 'class') return a.c === b.c;
  if (a.kind === 'lib' && b.kind === 'lib') return canonical(a.path) === canonical(b.path);
  if (a.kind === 'bool' && b.kind === 'bool') return a.value === b.value;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'list' || a.kind === 'dict' || a.kind === 'tensor' || a.kind === 'object') return a === b;
  return valuesEqual(a, b);
}
