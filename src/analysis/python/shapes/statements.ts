/** The interpreter's statements: blocks, `if` (an undecidable condition explored on both sides), loops, `del`, assignment to names, attributes and items. */
import type { Node } from 'web-tree-sitter';
import { MAX_EXPLORE } from '../../kernel/budget';
import { NORMAL } from '../../kernel/completion';
import { valuesEqual } from './builtins';
import { HeapSnapshot, joinValues, type HeapState } from './branches';
import type { Completion, Interp, Stop } from './interpreter';
import { onlyInitializes } from './initLoops';
import { named, snippet } from './nodes';
import { dropData } from './tensorData';
import { callModuleMethod } from './torch/moduleMethods';
import { bindingOf, intOf, NONE, tensorNumel, type Scope, type V } from './values';

export function execBlock(ip: Interp, block: Node | null, scope: Scope): Completion {
  if (!block) return NORMAL;
  for (const stmt of named(block)) {
    const c = execStmt(ip, stmt, scope);
    if (c.type !== 'normal') return c;
  }
  return NORMAL;
}

export function execStmt(ip: Interp, stmt: Node, scope: Scope): Completion {
  const over = ip.tick(stmt);
  if (over) return over;
  switch (stmt.type) {
    case 'expression_statement':
      for (const e of named(stmt)) {
        if (e.type === 'assignment') assignment(ip, e, scope);
        else if (e.type === 'augmented_assignment') augmented(ip, e, scope);
        else ip.eval(e, scope);
      }
      return NORMAL;
    case 'if_statement':
      return ifStatement(ip, stmt, scope);
    case 'for_statement':
      return forStatement(ip, stmt, scope);
    case 'while_statement':
      return whileStatement(ip, stmt, scope);
    case 'return_statement': {
      const e = named(stmt)[0];
      return { type: 'return', value: e ? ip.eval(e, scope) : NONE };
    }
    case 'pass_statement':
      return NORMAL;
    case 'break_statement':
      return { type: 'break' };
    case 'continue_statement':
      return { type: 'continue' };
    case 'raise_statement':
      return ip.phase === 'module' ? NORMAL : { ...ip.stopAt(stmt, 'the code raises here'), raised: true };
    case 'with_statement': {
      for (const item of stmt.descendantsOfType('with_item')) {
        if (!item) continue;
        const value = item.childForFieldName('value');
        if (value?.type === 'as_pattern') {
          const v = ip.eval(named(value)[0], scope);
          const target = value.descendantsOfType('as_pattern_target')[0];
          const t = target ? named(target)[0] : undefined;
          if (t) assignTarget(ip, t, v.kind === 'unknown' ? v : ip.fail(value, 'context manager value'), scope);
        } else if (value) ip.eval(value, scope);
      }
      return execBlock(ip, stmt.childForFieldName('body'), scope);
    }
    case 'try_statement': {
      const c = execBlock(ip, stmt.childForFieldName('body'), scope);
      if (c.type !== 'normal') return c;
      for (const clause of named(stmt)) {
        if (clause.type === 'else_clause' || clause.type === 'finally_clause') {
          const r = execBlock(ip, clause.childForFieldName('body') ?? named(clause).find((n) => n.type === 'block') ?? null, scope);
          if (r.type !== 'normal') return r;
        }
      }
      return NORMAL;
    }
    case 'function_definition':
      ip.defineFunction(stmt, scope, []);
      return NORMAL;
    case 'class_definition':
      ip.defineClass(stmt, scope);
      return NORMAL;
    case 'decorated_definition': {
      const def = stmt.childForFieldName('definition')!;
      const decorators = named(stmt)
        .filter((d) => d.type === 'decorator')
        .map((d) => d.text.replace(/^@\s*/, '').replace(/\s+/g, ''));
      if (def.type === 'function_definition') ip.defineFunction(def, scope, decorators);
      else if (def.type === 'class_definition')
        ip.defineClass(
          def,
          scope,
          decorators.some((d) => /^(dataclasses\.)?dataclass\b/.test(d)),
        );
      return NORMAL;
    }
    case 'import_statement':
      ip.importStatement(stmt, scope);
      return NORMAL;
    case 'import_from_statement':
      ip.importFrom(stmt, scope);
      return NORMAL;
    case 'global_statement':
      scope.globals ??= new Set();
      for (const n of named(stmt)) scope.globals.add(n.text);
      return NORMAL;
    case 'nonlocal_statement':
      scope.nonlocals ??= new Set();
      for (const n of named(stmt)) scope.nonlocals.add(n.text);
      return NORMAL;
    case 'delete_statement':
      return deleteStatement(ip, stmt, scope);
    case 'assert_statement': {
      const t = ip.truthy(ip.eval(named(stmt)[0], scope));
      return t === false && ip.phase !== 'module' ? { ...ip.stopAt(stmt, 'the assertion fails'), raised: true } : NORMAL;
    }
    case 'future_import_statement':
    case 'type_alias_statement':
      return NORMAL;
    default:
      // a statement the interpreter does not follow could change anything after it
      return ip.stopAt(stmt, `\`${stmt.type.replace(/_statement$/, '')}\` is not followed`);
  }
}

/** `del x`, `del d[k]`, `del self.block`: what PyTorch's `__delattr__` and the containers do. */
export function deleteStatement(ip: Interp, stmt: Node, scope: Scope): Completion {
  const targets = named(stmt).flatMap((t) => (t.type === 'expression_list' ? named(t) : [t]));
  for (const t of targets) {
    if (t.type === 'identifier') {
      const owner = scope.globals?.has(t.text) ? scope.env.globals : scope.vars;
      owner.delete(t.text);
      continue;
    }
    if (t.type === 'attribute') {
      const obj = ip.eval(t.childForFieldName('object')!, scope);
      const name = t.childForFieldName('attribute')!.text;
      if (obj.kind === 'module') {
        obj.m.modules.delete(name);
        obj.m.params.delete(name);
        obj.m.attrs.delete(name);
        continue;
      }
      if (obj.kind === 'object') {
        obj.o.attrs.delete(name);
        continue;
      }
    }
    if (t.type === 'subscript') {
      const obj = ip.eval(t.childForFieldName('value')!, scope);
      const key = ip.subscriptKey(t, scope);
      if (obj.kind === 'dict') {
        const i = obj.entries.findIndex(([k]) => valuesEqual(k, key) === true);
        if (i >= 0 && obj.entries.every(([k]) => valuesEqual(k, key) !== undefined)) {
          obj.entries.splice(i, 1);
          continue;
        }
      } else if (obj.kind === 'list' && intOf(key) !== undefined) {
        const i = intOf(key)!;
        const at = i < 0 ? obj.items.length + i : i;
        if (obj.items[at] !== undefined) {
          obj.items.splice(at, 1);
          continue;
        }
      } else if (obj.kind === 'module' && key.kind === 'str' && obj.m.modules.has(key.value)) {
        obj.m.modules.delete(key.value);
        continue;
      }
    }
    return ip.stopAt(t, '`del` of this is not followed');
  }
  return NORMAL;
}

export function ifStatement(ip: Interp, stmt: Node, scope: Scope): Completion {
  const arms: { cond: Node | undefined; body: Node | null }[] = [
    { cond: stmt.childForFieldName('condition')!, body: stmt.childForFieldName('consequence') },
  ];
  for (const alt of named(stmt)) {
    if (alt.type === 'elif_clause') arms.push({ cond: alt.childForFieldName('condition')!, body: alt.childForFieldName('consequence') });
    else if (alt.type === 'else_clause')
      arms.push({ cond: undefined, body: alt.childForFieldName('body') ?? named(alt).find((n) => n.type === 'block') ?? null });
  }
  return ifArms(ip, arms, 0, scope);
}

/** The arms of an `if`/`elif`/`else` from arm `i` on; a condition that cannot be decided explores both sides. */
export function ifArms(ip: Interp, arms: { cond: Node | undefined; body: Node | null }[], i: number, scope: Scope): Completion {
  for (; i < arms.length; i++) {
    const { cond, body } = arms[i];
    if (!cond) return execBlock(ip, body, scope);
    const t = ip.truthy(ip.eval(cond, scope));
    if (t === true) return execBlock(ip, body, scope);
    if (t === undefined) {
      const rest = i + 1;
      const nodes = arms.slice(i).flatMap((arm) => [arm.cond, arm.body]);
      return explore(ip, cond, scope, nodes, [() => execBlock(ip, body, scope), () => ifArms(ip, arms, rest, scope)]);
    }
  }
  return NORMAL;
}

/**
 * Runs each side of an undecidable condition from the same state and joins them (branches.ts):
 * a side that raises is a path the model did not take; values the sides agree on stay known.
 */
export function explore(ip: Interp, cond: Node, scope: Scope, nodes: (Node | null | undefined)[], sides: (() => Completion)[]): Completion {
  if (ip.exploring >= MAX_EXPLORE) return ip.stopAt(cond, `the condition cannot be decided (${MAX_EXPLORE} undecidable conditions nested)`);
  // what the sides can reach: the values of the names they read
  const roots: V[] = [];
  const names = new Set<string>();
  for (const n of nodes) for (const id of n ? n.descendantsOfType('identifier') : []) if (id) names.add(id.text);
  for (const name of names) {
    const found = bindingOf(name, scope);
    if (found && found.kind !== 'lazy') roots.push(found);
  }
  const snap = new HeapSnapshot(scope, roots);
  const spent = ip.spent(snap.size);
  if (spent) return ip.stopAt(cond, spent);
  const why = `${snippet(cond)} (line ${cond.startPosition.row + 1})`;
  const from = ip.stops.length;
  const ends: { c: Completion; state: HeapState; stops: Stop[] }[] = [];
  ip.exploring++;
  try {
    for (const side of sides) {
      snap.restore();
      const c = side();
      ends.push({ c, state: snap.capture(), stops: ip.stops.splice(from) });
    }
  } finally {
    ip.exploring--;
  }
  const live = ends.filter((e) => !(e.c.type === 'stop' && e.c.raised));
  const only = live.length === 0 ? ends[0] : (live.find((e) => e.c.type === 'stop') ?? (live.length === 1 ? live[0] : undefined));
  if (only) {
    snap.apply(only.state);
    ip.stops.push(...only.stops);
    return only.c;
  }
  const { structural } = snap.join(
    live.map((e) => e.state),
    why,
  );
  const seen = new Set<string>();
  for (const s of live.flatMap((e) => e.stops)) if (!seen.has(s.why) && seen.add(s.why)) ip.stops.push(s);
  for (const s of structural) ip.stops.push({ phase: ip.phase, why: `shape unknown after line ${cond.startPosition.row + 1}: ${s}` });
  const types = new Set(live.map((e) => e.c.type));
  const returned = live.flatMap((e) => (e.c.type === 'return' ? [e.c.value] : []));
  if (types.size === 1 && types.has('return')) return { type: 'return', value: joinValues(returned, why) };
  if (types.size === 1) return live[0].c;
  if ([...types].every((t) => t === 'normal' || t === 'return') && ip.pendingReturns.length) {
    // one side returns, the other goes on: the function's result is the join of both
    ip.pendingReturns[ip.pendingReturns.length - 1].push(...returned);
    return NORMAL;
  }
  return ip.stopAt(cond, 'the condition cannot be decided and its sides leave differently');
}

export function forStatement(ip: Interp, stmt: Node, scope: Scope): Completion {
  if (onlyInitializes(ip, stmt, scope)) return NORMAL;
  const right = stmt.childForFieldName('right')!;
  const items = ip.iterate(ip.eval(right, scope), right);
  if (!Array.isArray(items)) return ip.stopAt(right, `cannot iterate: ${items.why}`);
  const left = stmt.childForFieldName('left')!;
  const body = stmt.childForFieldName('body');
  for (const item of items) {
    const over = ip.tick(stmt);
    if (over) return over;
    assignTarget(ip, left, item, scope);
    const c = execBlock(ip, body, scope);
    if (c.type === 'break') return NORMAL;
    if (c.type === 'continue' || c.type === 'normal') continue;
    return c;
  }
  return loopElse(ip, stmt, scope);
}

/** The `else:` of a loop that ran to its end without `break`. */
export function loopElse(ip: Interp, stmt: Node, scope: Scope): Completion {
  const alt = stmt.childForFieldName('alternative');
  return alt ? execBlock(ip, alt.childForFieldName('body') ?? named(alt).find((n) => n.type === 'block') ?? null, scope) : NORMAL;
}

export function whileStatement(ip: Interp, stmt: Node, scope: Scope): Completion {
  const cond = stmt.childForFieldName('condition')!;
  const body = stmt.childForFieldName('body');
  for (;;) {
    const over = ip.tick(stmt);
    if (over) return over;
    const t = ip.truthy(ip.eval(cond, scope));
    if (t === undefined) return ip.stopAt(cond, 'the loop condition cannot be decided');
    if (!t) break;
    const c = execBlock(ip, body, scope);
    if (c.type === 'break') return NORMAL;
    if (c.type === 'continue' || c.type === 'normal') continue;
    return c;
  }
  return loopElse(ip, stmt, scope);
}

export function assignment(ip: Interp, node: Node, scope: Scope): void {
  const right = node.childForFieldName('right');
  if (!right) return; // `x: int` declares only
  const left = node.childForFieldName('left')!;
  // chained `a = b = v`: the value is the innermost right side
  const targets = [left];
  let r = right;
  while (r.type === 'assignment' && r.childForFieldName('right')) {
    targets.push(r.childForFieldName('left')!);
    r = r.childForFieldName('right')!;
  }
  const v = ip.eval(r, scope);
  for (const t of targets) assignTarget(ip, t, v, scope);
}

export function augmented(ip: Interp, node: Node, scope: Scope): void {
  const left = node.childForFieldName('left')!;
  const op = node.childForFieldName('operator')!.text.replace(/=$/, '');
  const cur = ip.eval(left, scope);
  const rhs = ip.eval(node.childForFieldName('right')!, scope);
  // a ModuleList += iterable extends it in place (maxvit's `self.layers += [...]`)
  if (op === '+' && cur.kind === 'module' && cur.m.native?.type === 'ModuleList') {
    callModuleMethod(ip, cur, 'extend', { args: [rhs], kwargs: new Map() }, node);
    return;
  }
  // list += iterable extends in place (VGG's `layers += [conv, relu]`)
  if (op === '+' && cur.kind === 'list') {
    const items = ip.iterate(rhs, node);
    if (Array.isArray(items)) {
      cur.items.push(...items);
      return;
    }
  }
  const result = ip.binop(op, cur, rhs, node);
  // `x += 1` changes the tensor in place: its aliases no longer hold the values it had
  dropData(cur);
  assignTarget(ip, left, result, scope);
}

export function assignTarget(ip: Interp, target: Node, v: V, scope: Scope): void {
  switch (target.type) {
    case 'identifier':
      setName(ip, target.text, v, scope);
      return;
    case 'attribute': {
      const obj = ip.eval(target.childForFieldName('object')!, scope);
      setAttr(ip, obj, target.childForFieldName('attribute')!.text, v);
      return;
    }
    case 'subscript': {
      const obj = ip.eval(target.childForFieldName('value')!, scope);
      const key = ip.subscriptKey(target, scope);
      ip.setItem(obj, key, v, target);
      return;
    }
    case 'parenthesized_expression': {
      const inner = named(target)[0];
      if (inner) assignTarget(ip, inner, v, scope);
      return;
    }
    case 'pattern_list':
    case 'tuple_pattern':
    case 'list_pattern':
    case 'tuple':
    case 'list':
    case 'expression_list': {
      const parts = named(target);
      const items = ip.iterate(v, target);
      const star = parts.findIndex((p) => p.type === 'list_splat_pattern' || p.type === 'list_splat');
      if (!Array.isArray(items)) {
        for (const p of parts) assignTarget(ip, star >= 0 && p === parts[star] ? named(p)[0] : p, items, scope);
        return;
      }
      if (star < 0) {
        if (items.length !== parts.length) {
          const bad = ip.fail(target, `unpacking ${items.length} values into ${parts.length} names`);
          for (const p of parts) assignTarget(ip, p, bad, scope);
          return;
        }
        parts.forEach((p, i) => assignTarget(ip, p, items[i], scope));
        return;
      }
      const after = parts.length - star - 1;
      parts.slice(0, star).forEach((p, i) => assignTarget(ip, p, items[i] ?? ip.fail(target), scope));
      assignTarget(ip, named(parts[star])[0], { kind: 'list', items: items.slice(star, items.length - after) }, scope);
      parts.slice(star + 1).forEach((p, i) => assignTarget(ip, p, items[items.length - after + i] ?? ip.fail(target), scope));
      return;
    }
    default:
      return;
  }
}

export function setName(ip: Interp, name: string, v: V, scope: Scope): void {
  if (scope.globals?.has(name)) {
    if (ip.phase !== 'module') ip.sharedWrites = true;
    ip.memo.forget();
    scope.env.globals.set(name, v);
  } else if (scope.nonlocals?.has(name)) {
    let s = scope.parent;
    while (s && !s.vars.has(name)) s = s.parent;
    (s ?? scope).vars.set(name, v);
  } else scope.vars.set(name, v);
}

export function setAttr(ip: Interp, obj: V, name: string, v: V): void {
  if (obj.kind === 'module') {
    const m = obj.m;
    if (ip.memo.recording) ip.memo.taint(m.id);
    if (v.kind === 'module') {
      m.attrs.delete(name);
      m.params.delete(name);
      m.modules.set(name, v.m);
    } else if (v.kind === 'tensor' && v.param) {
      m.modules.delete(name);
      m.params.set(name, tensorNumel(v));
      m.attrs.set(name, v);
    } else if (v.kind === 'unknown' && v.param) {
      m.modules.delete(name);
      m.params.set(name, v.why);
      m.attrs.set(name, v);
    } else if (m.modules.has(name) && v.kind === 'none') {
      m.modules.set(name, null);
    } else if (m.params.has(name) && v.kind === 'none') {
      m.params.delete(name);
      m.attrs.set(name, v);
    } else {
      if (v.kind === 'unknown' && (m.modules.has(name) || ip.phase !== 'forward')) {
        // an unknown value may be a module or a parameter: the count can no longer be trusted
        m.modules.delete(name);
        m.params.set(name, `\`${name}\` may hold parameters: ${v.why}`);
      } else if (typeof m.params.get(name) === 'string') m.params.delete(name);
      m.attrs.set(name, v);
    }
  } else if (obj.kind === 'object') {
    if (ip.phase !== 'module') ip.sharedWrites = true;
    if (ip.memo.recording) ip.memo.taint(-1);
    obj.o.attrs.set(name, v);
  } else if (obj.kind === 'class') {
    if (ip.phase !== 'module') ip.sharedWrites = true;
    ip.memo.forget();
    obj.c.attrs.set(name, v);
  }
}
