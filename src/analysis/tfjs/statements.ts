/** The TensorFlow.js interpreter's statements: hoisting, blocks, `if` and `switch` (undecidable ones run on every side and merged), loops (known ones unrolled). */
import type { Node } from 'web-tree-sitter';
import { TFJS_MAX_ITERATIONS as MAX_ITERATIONS } from '../kernel/budget';
import { NORMAL } from '../kernel/completion';
import { joinSides } from '../kernel/unknown';
import type { Completion, TfjsInterpreter } from './evaluate';
import { type Entry, Env } from './scope';
import { assignedNames, line, named, short } from './syntax';
import { sameShape, sameValue, truthy, UNDEFINED, unknown, type Instance, type ModelState, type TensorValue, type Value } from './values';

/** Function declarations are visible in their whole block. */
export function hoist(ti: TfjsInterpreter, stmts: Node[], env: Env): void {
  for (const s of stmts) {
    const d = s.type === 'export_statement' ? s.childForFieldName('declaration') : s;
    if (!d) continue;
    if (d.type === 'function_declaration' || d.type === 'generator_function_declaration') {
      const name = d.childForFieldName('name')!.text;
      ti.closures.set(d.id, env);
      env.vars.set(name, { value: { kind: 'function', node: d, env }, notes: [] });
    }
  }
}

export function execList(ti: TfjsInterpreter, stmts: Node[], env: Env): Completion {
  for (const s of stmts) {
    const c = execute(ti, s, env);
    if (c.type !== 'normal') return c;
  }
  return NORMAL;
}

export function block(ti: TfjsInterpreter, node: Node, env: Env): Completion {
  const inner = new Env(env);
  const stmts = node.type === 'statement_block' ? named(node) : [node];
  hoist(ti, stmts, inner);
  return execList(ti, stmts, inner);
}

export function execute(ti: TfjsInterpreter, s: Node, env: Env): Completion {
  ti.tick();
  switch (s.type) {
    case 'expression_statement':
      for (const e of named(s)) ti.eval(e, env);
      return NORMAL;
    case 'lexical_declaration':
    case 'variable_declaration':
      for (const d of named(s).filter((c) => c.type === 'variable_declarator')) {
        const init = d.childForFieldName('value');
        const { value, notes } = ti.withNotes(() => (init ? ti.eval(init, env) : UNDEFINED));
        ti.bindPattern(d.childForFieldName('name')!, value, notes, env, 'declare');
      }
      return NORMAL;
    case 'export_statement': {
      const d = s.childForFieldName('declaration');
      if (d) return execute(ti, d, env);
      for (const e of named(s)) if (e.type !== 'export_clause' && e.type !== 'string') ti.eval(e, env);
      return NORMAL;
    }
    case 'function_declaration':
    case 'generator_function_declaration':
      return NORMAL; // hoisted
    case 'class_declaration': {
      const name = s.childForFieldName('name');
      if (name) env.vars.set(name.text, { value: { kind: 'class', node: s, env }, notes: [] });
      ti.closeOverMethods(s, env);
      return NORMAL;
    }
    case 'statement_block':
      return block(ti, s, env);
    case 'return_statement': {
      const e = named(s)[0];
      return { type: 'return', value: e ? ti.eval(e, env) : UNDEFINED };
    }
    case 'if_statement':
      return execIf(ti, s, env);
    case 'for_in_statement':
      return execForIn(ti, s, env);
    case 'for_statement':
      return execFor(ti, s, env);
    case 'while_statement':
    case 'do_statement':
      return execUnknownLoop(ti, s, [s.childForFieldName('body')!], env);
    case 'try_statement': {
      const c = block(ti, s.childForFieldName('body')!, env);
      const fin = s.childForFieldName('finalizer');
      if (fin) block(ti, named(fin)[0] ?? fin, env);
      return c;
    }
    case 'switch_statement':
      return execSwitch(ti, s, env);
    case 'break_statement':
      return { type: 'break' };
    case 'continue_statement':
      return { type: 'continue' };
    case 'labeled_statement': {
      const body = s.childForFieldName('body');
      return body ? execute(ti, body, env) : NORMAL;
    }
    default:
      // imports, types, interfaces, throw, empty statements: nothing to follow
      return NORMAL;
  }
}

export function execIf(ti: TfjsInterpreter, s: Node, env: Env): Completion {
  const cond = ti.eval(s.childForFieldName('condition')!, env);
  const t = truthy(cond);
  const cons = s.childForFieldName('consequence')!;
  const alt = s.childForFieldName('alternative');
  const altBody = alt ? (named(alt)[0] ?? null) : null;
  if (t === true) return block(ti, cons, env);
  if (t === false) return altBody ? block(ti, altBody, env) : NORMAL;
  const condNode = s.childForFieldName('condition')!;
  const shown = condNode.type === 'parenthesized_expression' ? (named(condNode)[0] ?? condNode) : condNode;
  return branches(ti, [cons, altBody], env, `the condition \`${short(shown)}\` at line ${line(s)} is not known`);
}

/**
 * Runs each branch from the same state and merges: a variable or a model that ends up different
 * becomes unknown (tensors of equal shape stay known). Returns inside a branch are remembered.
 */
export function branches(ti: TfjsInterpreter, bodies: (Node | null)[], env: Env, why: string): Completion {
  const names = new Set<string>();
  for (const b of bodies) if (b) for (const n of assignedNames(b)) names.add(n);
  const before = new Map([...names].map((n) => [n, env.find(n)?.vars.get(n)]));
  const modelsBefore = ti.models.map((m) => ({ m, layers: m.layers.length, output: m.output }));
  const ends: { vars: Map<string, Entry | undefined>; models: Map<ModelState, { extra: Instance[]; output: TensorValue | undefined }> }[] =
    [];
  const completions: Completion[] = [];
  ti.uncertain.push(why);
  try {
    for (const body of bodies) {
      for (const [n, e] of before) if (e) env.find(n)?.vars.set(n, e);
      for (const s of modelsBefore) {
        s.m.layers.length = s.layers;
        s.m.output = s.output;
      }
      const c = body ? block(ti, body, env) : NORMAL;
      completions.push(c);
      if (c.type === 'return') ti.possibleReturns[ti.possibleReturns.length - 1]?.push(c.value);
      ends.push({
        vars: new Map([...names].map((n) => [n, env.find(n)?.vars.get(n)])),
        models: new Map(
          ti.models.map((m) => [m, { extra: m.layers.slice(modelsBefore.find((s) => s.m === m)?.layers ?? 0), output: m.output }]),
        ),
      });
    }
  } finally {
    ti.uncertain.pop();
  }
  // a branch that returned does not reach the code after the if
  const live = ends.filter((_, i) => completions[i].type === 'normal');
  const merged = live.length ? live : ends;
  for (const n of names) {
    const vals = merged.map((e) => e.vars.get(n));
    const target = env.find(n);
    if (!target || vals.some((v) => !v)) continue;
    const first = vals[0]!;
    const value = joinSides(
      vals.map((v) => v!.value),
      sameValue,
      `\`${n}\` differs between branches: ${why}`,
    );
    target.vars.set(n, value === first.value ? first : { value, notes: [] });
  }
  for (const m of ti.models) {
    const outs = merged.map((e) => e.models.get(m));
    if (outs.some((o) => !o)) continue;
    const start = modelsBefore.find((s) => s.m === m)?.layers ?? 0;
    m.layers.length = start;
    const extras = new Set(outs.flatMap((o) => o!.extra));
    m.layers.push(...extras);
    if (outs.some((o) => o!.extra.length !== outs[0]!.extra.length || o!.extra.some((x, i) => x !== outs[0]!.extra[i])))
      m.uncertain ??= why;
    const o0 = outs[0]!.output;
    const same = outs.every((o) => o!.output === o0 || (o!.output && o0 && sameShape(o!.output.shape, o0.shape)));
    m.output = same
      ? o0
      : { shape: { why: `channels unknown: the layers added depend on ${why.replace(/ is not known$/, '')}` }, history: o0?.history ?? [] };
  }
  if (completions.every((c) => c.type === 'return')) {
    return completions[0];
  }
  return NORMAL;
}

export function execSwitch(ti: TfjsInterpreter, s: Node, env: Env): Completion {
  const disc = ti.eval(s.childForFieldName('value')!, env);
  const body = s.childForFieldName('body');
  const cases = named(body);
  const known = disc.kind === 'str' || disc.kind === 'num' || disc.kind === 'bool';
  if (known) {
    let start = cases.findIndex((c) => {
      if (c.type !== 'switch_case') return false;
      const v = ti.eval(c.childForFieldName('value')!, env);
      return sameValue(v, disc);
    });
    if (start < 0) start = cases.findIndex((c) => c.type === 'switch_default');
    if (start < 0) return NORMAL;
    const inner = new Env(env);
    for (const c of cases.slice(start)) {
      const stmts = c.childrenForFieldName('body').filter((x): x is Node => x !== null);
      const r = execList(ti, stmts.length ? stmts : named(c).filter((x) => x.id !== c.childForFieldName('value')?.id), inner);
      if (r.type === 'break') return NORMAL;
      if (r.type !== 'normal') return r;
    }
    return NORMAL;
  }
  // each case as a branch
  const why = `the switch on \`${short(s.childForFieldName('value')!)}\` at line ${line(s)} is not known`;
  ti.uncertain.push(why);
  try {
    for (const c of cases)
      execList(
        ti,
        named(c).filter((x) => x.id !== c.childForFieldName('value')?.id),
        new Env(env),
      );
  } finally {
    ti.uncertain.pop();
  }
  for (const n of assignedNames(s)) {
    const t = env.find(n);
    if (t) t.vars.set(n, { value: unknown(`\`${n}\` depends on ${why.replace(/ is not known$/, '')}`), notes: [] });
  }
  return NORMAL;
}

export function execForIn(ti: TfjsInterpreter, s: Node, env: Env): Completion {
  const left = s.childForFieldName('left')!;
  const right = s.childForFieldName('right')!;
  const body = s.childForFieldName('body')!;
  const op = s.childForFieldName('operator')?.text ?? (s.text.includes(' of ') ? 'of' : 'in');
  const coll = ti.eval(right, env);
  let items: Value[] | undefined;
  if (op === 'of' && coll.kind === 'array' && !coll.open) items = coll.items;
  if (op === 'in' && coll.kind === 'object' && !coll.open) items = [...coll.props.keys()].map((k) => ({ kind: 'str', value: k }));
  if (op === 'in' && coll.kind === 'array' && !coll.open) items = coll.items.map((_, i) => ({ kind: 'str', value: String(i) }));
  if (!items || items.length > MAX_ITERATIONS) return execUnknownLoop(ti, s, [body], env, left);
  for (const item of items) {
    const inner = new Env(env);
    ti.bindPattern(left, item, [], inner, 'declare');
    const c = block(ti, body, inner);
    if (c.type === 'break') break;
    if (c.type === 'return') return c;
  }
  return NORMAL;
}

export function execFor(ti: TfjsInterpreter, s: Node, env: Env): Completion {
  const loopEnv = new Env(env);
  const init = s.childForFieldName('initializer');
  if (init) {
    if (init.type === 'lexical_declaration' || init.type === 'variable_declaration') execute(ti, init, loopEnv);
    else for (const e of named(init)) ti.eval(e, loopEnv);
  }
  const cond = s.childForFieldName('condition');
  const inc = s.childForFieldName('increment');
  const body = s.childForFieldName('body')!;
  for (let i = 0; i <= MAX_ITERATIONS; i++) {
    const condNode = cond?.type === 'expression_statement' ? named(cond)[0] : cond;
    const c = condNode ? truthy(ti.eval(condNode, loopEnv)) : undefined;
    if (c === false) return NORMAL;
    if (c === undefined || i === MAX_ITERATIONS) return execUnknownLoop(ti, s, [body, ...(inc ? [inc] : [])], loopEnv);
    const r = block(ti, body, new Env(loopEnv));
    if (r.type === 'break') return NORMAL;
    if (r.type === 'return') return r;
    if (inc) ti.eval(inc, loopEnv);
  }
  return NORMAL;
}

/** A loop whose iterations are not known: what it assigns or adds to a model becomes unknown. */
export function execUnknownLoop(ti: TfjsInterpreter, s: Node, bodies: Node[], env: Env, loopVar?: Node): Completion {
  const why = `line ${line(s)}`;
  const names = new Set<string>();
  for (const b of bodies) for (const n of assignedNames(b)) names.add(n);
  const havoc = () => {
    for (const n of names) {
      const t = env.find(n);
      if (t) t.vars.set(n, { value: unknown(`\`${n}\` changes in the loop at ${why}`), notes: [] });
    }
  };
  havoc();
  ti.uncertain.push(`the loop at ${why} runs an unknown number of times`);
  ti.loops.push(why);
  try {
    const inner = new Env(env);
    if (loopVar) ti.bindPattern(loopVar, unknown(`\`${loopVar.text}\` is the variable of the loop at ${why}`), [], inner, 'declare');
    for (const b of bodies) {
      if (b.type === 'statement_block' || b.type.endsWith('statement')) block(ti, b, inner);
      else ti.eval(b, inner);
    }
  } finally {
    ti.uncertain.pop();
    ti.loops.pop();
  }
  havoc();
  return NORMAL;
}
