/**
 * A small abstract interpreter for the JavaScript/TypeScript that builds TensorFlow.js models. It runs
 * the file's statements in order, with constants, config objects, spreads, helper functions, loops
 * with known bounds and conditions with known values, and follows layers into models:
 * `tf.sequential({layers: [...]})`, `model.add(...)`, `.apply(x)` chains from `tf.input(...)`.
 * Functions the file never calls are run on their own, their parameters as symbols (or their
 * defaults, noted). What it cannot follow becomes an `unknown` value that says why, never a guess.
 */
import type { Node } from 'web-tree-sitter';
import type { AnalysisOptions } from '../options';
import { Poly } from '../poly';
import { TFJS_PACKAGE } from './imports';
import { configOf, declaredInput, OPS } from './layers';
import {
  asNumber,
  asPoly,
  num,
  sameShape,
  sameValue,
  truthy,
  UNDEFINED,
  unknown,
  whyNot,
  type Instance,
  type ModelState,
  type ShapeOrWhy,
  type TensorValue,
  type Value,
} from './values';

/** What the interpreter needs from the analysis around it. */
export interface Host {
  options: AnalysisOptions;
  /** `// sepconv: name=value` pragmas */
  pragmas: Record<string, number>;
  /** the site index of a `tf.layers.xxx(...)` call */
  siteOf(call: Node): number;
  /** module-level names bound to the tfjs namespace */
  globals: Map<string, string>;
}

interface Entry {
  value: Value;
  /** assumptions the value rests on (parameter defaults) */
  notes: string[];
}

class Env {
  readonly vars = new Map<string, Entry>();
  constructor(readonly parent: Env | undefined) {}

  find(name: string): Env | undefined {
    if (this.vars.has(name)) return this;
    return this.parent?.find(name);
  }
}

type Completion = { type: 'normal' } | { type: 'return'; value: Value } | { type: 'break' } | { type: 'continue' };
const NORMAL: Completion = { type: 'normal' };

class Budget extends Error {}

/** Evaluated nodes per file before the interpreter gives up (a pathological or generated file). */
const MAX_STEPS = 20_000;
/** Iterations of one loop that are unrolled. */
const MAX_ITERATIONS = 1_000;
const MAX_DEPTH = 40;

/** Function-like node types of the JavaScript and TypeScript grammars. */
export const FUNCTION_TYPES = new Set(['function_declaration', 'function_expression', 'function', 'arrow_function', 'method_definition', 'generator_function_declaration', 'generator_function']);
const TRANSPARENT = new Set(['parenthesized_expression', 'as_expression', 'satisfies_expression', 'non_null_expression', 'type_assertion', 'await_expression']);

function named(n: Node | null | undefined): Node[] {
  return n ? (n.namedChildren.filter((c) => c !== null && c.type !== 'comment') as Node[]) : [];
}

const line = (n: Node) => n.startPosition.row + 1;
const short = (n: Node) => {
  const t = n.text.replace(/\s+/g, ' ');
  return t.length > 40 ? t.slice(0, 40) + '…' : t;
};

/** Identifiers a block assigns (not declares), for havoc in loops and merging after branches. */
function assignedNames(root: Node): Set<string> {
  const out = new Set<string>();
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (n !== root && FUNCTION_TYPES.has(n.type)) continue;
    if (n.type === 'assignment_expression' || n.type === 'augmented_assignment_expression') {
      const left = n.childForFieldName('left');
      if (left?.type === 'identifier') out.add(left.text);
      if (left?.type === 'array_pattern' || left?.type === 'object_pattern') for (const id of left.descendantsOfType('identifier')) if (id) out.add(id.text);
    }
    if (n.type === 'update_expression') {
      const a = n.childForFieldName('argument');
      if (a?.type === 'identifier') out.add(a.text);
    }
    for (const c of named(n)) stack.push(c);
  }
  return out;
}

export class TfjsInterpreter {
  readonly instances: Instance[] = [];
  readonly models: ModelState[] = [];
  /** function nodes whose body ran at least once */
  readonly evaluated = new Set<number>();
  /** call expressions evaluated at least once */
  readonly visited = new Set<number>();
  /** the environment each function closed over, by node id */
  private readonly closures = new Map<number, Env>();
  private readonly classThis = new Map<number, Value>();
  private steps = 0;
  private depth = 0;
  /** notes collected while evaluating the current expression */
  private noteFrames: Set<string>[] = [new Set()];
  /** reasons why the code running now may or may not run (unknown conditions, loops) */
  private uncertain: string[] = [];
  private loops: string[] = [];
  private possibleReturns: Value[][] = [];
  exhausted: string | undefined;
  readonly module: Env;

  constructor(private readonly host: Host) {
    this.module = new Env(undefined);
    for (const [name, path] of host.globals) this.module.vars.set(name, { value: { kind: 'ns', path }, notes: [] });
  }

  // ---------------------------------------------------------------- entry points

  /** Runs the program's top-level statements. */
  runProgram(program: Node): void {
    this.guard(() => {
      this.hoist(named(program), this.module);
      this.execList(named(program), this.module);
    });
  }

  /** Runs a function the file never called, its parameters as symbols or their defaults. */
  runStandalone(fn: Node): void {
    if (this.evaluated.has(fn.id)) return;
    this.guard(() => {
      const env = new Env(this.closures.get(fn.id) ?? this.module);
      const name = fnName(fn);
      const cls = fn.type === 'method_definition' ? enclosingClass(fn) : undefined;
      if (cls) env.vars.set('this', { value: this.thisOfClass(cls), notes: [] });
      const params = fn.childForFieldName('parameters') ?? fn.childForFieldName('parameter');
      const list = params ? (params.type === 'formal_parameters' ? named(params) : [params]) : [];
      for (const p of list) {
        this.bindSymbolicParam(p, env, name);
        // TypeScript parameter properties (`constructor(private opts: ...)`) are also `this.opts`
        const self = env.vars.get('this')?.value;
        const id = p.childForFieldName('pattern');
        if (isParameterProperty(p) && self?.kind === 'object' && id?.type === 'identifier') self.props.set(id.text, env.vars.get(id.text)?.value ?? UNDEFINED);
      }
      this.runBody(fn, env);
    });
  }

  /**
   * True when running `fn` on its own can neither build a layer nor change what other code sees, so
   * that a standalone run may be skipped: it uses no `this`, and every name in it is declared inside
   * it (and shadows no module-level name) or is a plain builtin. Such are the data helpers (sorting,
   * formatting, loops over records) that fill most files; interpreting their loops is most of the
   * cost of a file.
   */
  selfContained(fn: Node): boolean {
    if (fn.descendantsOfType(['this', 'super']).length > 0) return false;
    const own = fn.childForFieldName('name');
    const declared = new Set<string>();
    const free = new Set<string>();
    for (const id of fn.descendantsOfType(['identifier', 'shorthand_property_identifier', 'shorthand_property_identifier_pattern'])) {
      if (!id) continue;
      const name = id.text;
      if (this.module.vars.has(name)) {
        if (own && id.id === own.id) continue;
        return false;
      }
      // a name declared once is local everywhere in the function (one that also names a module binding returned above)
      if (declared.has(name) || PURE_GLOBALS.has(name)) continue;
      if (declares(id)) {
        declared.add(name);
        free.delete(name);
      } else free.add(name);
    }
    return free.size === 0;
  }

  private thisOfClass(cls: Node): Value {
    let v = this.classThis.get(cls.id);
    if (!v) {
      v = { kind: 'object', props: new Map() };
      this.classThis.set(cls.id, v);
    }
    return v;
  }

  private guard(f: () => void): void {
    if (this.exhausted) return;
    try {
      f();
    } catch (e) {
      if (!(e instanceof Budget)) throw e;
      this.exhausted = `the file is too large or loops too long to follow (more than ${MAX_STEPS} steps)`;
    }
  }

  private tick(): void {
    if (++this.steps > MAX_STEPS) throw new Budget();
  }

  // ---------------------------------------------------------------- notes

  private emit(notes: Iterable<string>): void {
    const top = this.noteFrames[this.noteFrames.length - 1];
    for (const n of notes) top.add(n);
  }

  private withNotes<T>(f: () => T): { value: T; notes: string[] } {
    this.noteFrames.push(new Set());
    try {
      const value = f();
      return { value, notes: [...this.noteFrames[this.noteFrames.length - 1]] };
    } finally {
      this.emit(this.noteFrames.pop()!);
    }
  }

  private userValue(name: string): Value | undefined {
    const given = this.host.options.assumptions[name];
    const v = given ?? this.host.pragmas[name];
    if (v === undefined) return undefined;
    this.emit([`${name}=${v} (${given !== undefined ? '--assume' : 'pragma'})`]);
    return num(v);
  }

  // ---------------------------------------------------------------- statements

  /** Function declarations are visible in their whole block. */
  private hoist(stmts: Node[], env: Env): void {
    for (const s of stmts) {
      const d = s.type === 'export_statement' ? s.childForFieldName('declaration') : s;
      if (!d) continue;
      if (d.type === 'function_declaration' || d.type === 'generator_function_declaration') {
        const name = d.childForFieldName('name')!.text;
        this.closures.set(d.id, env);
        env.vars.set(name, { value: { kind: 'function', node: d, env }, notes: [] });
      }
    }
  }

  private execList(stmts: Node[], env: Env): Completion {
    for (const s of stmts) {
      const c = this.exec(s, env);
      if (c.type !== 'normal') return c;
    }
    return NORMAL;
  }

  private block(node: Node, env: Env): Completion {
    const inner = new Env(env);
    const stmts = node.type === 'statement_block' ? named(node) : [node];
    this.hoist(stmts, inner);
    return this.execList(stmts, inner);
  }

  private exec(s: Node, env: Env): Completion {
    this.tick();
    switch (s.type) {
      case 'expression_statement':
        for (const e of named(s)) this.eval(e, env);
        return NORMAL;
      case 'lexical_declaration':
      case 'variable_declaration':
        for (const d of named(s).filter((c) => c.type === 'variable_declarator')) {
          const init = d.childForFieldName('value');
          const { value, notes } = this.withNotes(() => (init ? this.eval(init, env) : UNDEFINED));
          this.bindPattern(d.childForFieldName('name')!, value, notes, env, 'declare');
        }
        return NORMAL;
      case 'export_statement': {
        const d = s.childForFieldName('declaration');
        if (d) return this.exec(d, env);
        for (const e of named(s)) if (e.type !== 'export_clause' && e.type !== 'string') this.eval(e, env);
        return NORMAL;
      }
      case 'function_declaration':
      case 'generator_function_declaration':
        return NORMAL; // hoisted
      case 'class_declaration': {
        const name = s.childForFieldName('name');
        if (name) env.vars.set(name.text, { value: { kind: 'class', node: s, env }, notes: [] });
        this.closeOverMethods(s, env);
        return NORMAL;
      }
      case 'statement_block':
        return this.block(s, env);
      case 'return_statement': {
        const e = named(s)[0];
        return { type: 'return', value: e ? this.eval(e, env) : UNDEFINED };
      }
      case 'if_statement':
        return this.execIf(s, env);
      case 'for_in_statement':
        return this.execForIn(s, env);
      case 'for_statement':
        return this.execFor(s, env);
      case 'while_statement':
      case 'do_statement':
        return this.execUnknownLoop(s, [s.childForFieldName('body')!], env);
      case 'try_statement': {
        const c = this.block(s.childForFieldName('body')!, env);
        const fin = s.childForFieldName('finalizer');
        if (fin) this.block(named(fin)[0] ?? fin, env);
        return c;
      }
      case 'switch_statement':
        return this.execSwitch(s, env);
      case 'break_statement':
        return { type: 'break' };
      case 'continue_statement':
        return { type: 'continue' };
      case 'labeled_statement': {
        const body = s.childForFieldName('body');
        return body ? this.exec(body, env) : NORMAL;
      }
      default:
        // imports, types, interfaces, throw, empty statements: nothing to follow
        return NORMAL;
    }
  }

  private execIf(s: Node, env: Env): Completion {
    const cond = this.eval(s.childForFieldName('condition')!, env);
    const t = truthy(cond);
    const cons = s.childForFieldName('consequence')!;
    const alt = s.childForFieldName('alternative');
    const altBody = alt ? (named(alt)[0] ?? null) : null;
    if (t === true) return this.block(cons, env);
    if (t === false) return altBody ? this.block(altBody, env) : NORMAL;
    const condNode = s.childForFieldName('condition')!;
    const shown = condNode.type === 'parenthesized_expression' ? (named(condNode)[0] ?? condNode) : condNode;
    return this.branches([cons, altBody], env, `the condition \`${short(shown)}\` at line ${line(s)} is not known`);
  }

  /**
   * Runs each branch from the same state and merges: a variable or a model that ends up different
   * becomes unknown (tensors of equal shape stay known). Returns inside a branch are remembered.
   */
  private branches(bodies: (Node | null)[], env: Env, why: string): Completion {
    const names = new Set<string>();
    for (const b of bodies) if (b) for (const n of assignedNames(b)) names.add(n);
    const before = new Map([...names].map((n) => [n, env.find(n)?.vars.get(n)]));
    const modelsBefore = this.models.map((m) => ({ m, layers: m.layers.length, output: m.output }));
    const ends: { vars: Map<string, Entry | undefined>; models: Map<ModelState, { extra: Instance[]; output: TensorValue | undefined }> }[] = [];
    const completions: Completion[] = [];
    this.uncertain.push(why);
    try {
      for (const body of bodies) {
        for (const [n, e] of before) if (e) env.find(n)?.vars.set(n, e);
        for (const s of modelsBefore) {
          s.m.layers.length = s.layers;
          s.m.output = s.output;
        }
        const c = body ? this.block(body, env) : NORMAL;
        completions.push(c);
        if (c.type === 'return') this.possibleReturns[this.possibleReturns.length - 1]?.push(c.value);
        ends.push({
          vars: new Map([...names].map((n) => [n, env.find(n)?.vars.get(n)])),
          models: new Map(this.models.map((m) => [m, { extra: m.layers.slice(modelsBefore.find((s) => s.m === m)?.layers ?? 0), output: m.output }])),
        });
      }
    } finally {
      this.uncertain.pop();
    }
    // a branch that returned does not reach the code after the if
    const live = ends.filter((_, i) => completions[i].type === 'normal');
    const merged = live.length ? live : ends;
    for (const n of names) {
      const vals = merged.map((e) => e.vars.get(n));
      const target = env.find(n);
      if (!target || vals.some((v) => !v)) continue;
      const first = vals[0]!;
      const all = vals.every((v) => sameValue(v!.value, first.value));
      target.vars.set(n, all ? first : { value: unknown(`\`${n}\` differs between branches: ${why}`), notes: [] });
    }
    for (const m of this.models) {
      const outs = merged.map((e) => e.models.get(m));
      if (outs.some((o) => !o)) continue;
      const start = modelsBefore.find((s) => s.m === m)?.layers ?? 0;
      m.layers.length = start;
      const extras = new Set(outs.flatMap((o) => o!.extra));
      m.layers.push(...extras);
      if (outs.some((o) => o!.extra.length !== outs[0]!.extra.length || o!.extra.some((x, i) => x !== outs[0]!.extra[i]))) m.uncertain ??= why;
      const o0 = outs[0]!.output;
      const same = outs.every((o) => o!.output === o0 || (o!.output && o0 && sameShape(o!.output.shape, o0.shape)));
      m.output = same ? o0 : { shape: { why: `channels unknown: the layers added depend on ${why.replace(/ is not known$/, '')}` }, history: o0?.history ?? [] };
    }
    if (completions.every((c) => c.type === 'return')) {
      return completions[0];
    }
    return NORMAL;
  }

  private execSwitch(s: Node, env: Env): Completion {
    const disc = this.eval(s.childForFieldName('value')!, env);
    const body = s.childForFieldName('body');
    const cases = named(body);
    const known = disc.kind === 'str' || disc.kind === 'num' || disc.kind === 'bool';
    if (known) {
      let start = cases.findIndex((c) => {
        if (c.type !== 'switch_case') return false;
        const v = this.eval(c.childForFieldName('value')!, env);
        return sameValue(v, disc);
      });
      if (start < 0) start = cases.findIndex((c) => c.type === 'switch_default');
      if (start < 0) return NORMAL;
      const inner = new Env(env);
      for (const c of cases.slice(start)) {
        const stmts = c.childrenForFieldName('body').filter((x): x is Node => x !== null);
        const r = this.execList(stmts.length ? stmts : named(c).filter((x) => x.id !== c.childForFieldName('value')?.id), inner);
        if (r.type === 'break') return NORMAL;
        if (r.type !== 'normal') return r;
      }
      return NORMAL;
    }
    // each case as a branch
    const why = `the switch on \`${short(s.childForFieldName('value')!)}\` at line ${line(s)} is not known`;
    this.uncertain.push(why);
    try {
      for (const c of cases) this.execList(named(c).filter((x) => x.id !== c.childForFieldName('value')?.id), new Env(env));
    } finally {
      this.uncertain.pop();
    }
    for (const n of assignedNames(s)) {
      const t = env.find(n);
      if (t) t.vars.set(n, { value: unknown(`\`${n}\` depends on ${why.replace(/ is not known$/, '')}`), notes: [] });
    }
    return NORMAL;
  }

  private execForIn(s: Node, env: Env): Completion {
    const left = s.childForFieldName('left')!;
    const right = s.childForFieldName('right')!;
    const body = s.childForFieldName('body')!;
    const op = s.childForFieldName('operator')?.text ?? (s.text.includes(' of ') ? 'of' : 'in');
    const coll = this.eval(right, env);
    let items: Value[] | undefined;
    if (op === 'of' && coll.kind === 'array' && !coll.open) items = coll.items;
    if (op === 'in' && coll.kind === 'object' && !coll.open) items = [...coll.props.keys()].map((k) => ({ kind: 'str', value: k }));
    if (op === 'in' && coll.kind === 'array' && !coll.open) items = coll.items.map((_, i) => ({ kind: 'str', value: String(i) }));
    if (!items || items.length > MAX_ITERATIONS) return this.execUnknownLoop(s, [body], env, left);
    for (const item of items) {
      const inner = new Env(env);
      this.bindPattern(left, item, [], inner, 'declare');
      const c = this.block(body, inner);
      if (c.type === 'break') break;
      if (c.type === 'return') return c;
    }
    return NORMAL;
  }

  private execFor(s: Node, env: Env): Completion {
    const loopEnv = new Env(env);
    const init = s.childForFieldName('initializer');
    if (init) {
      if (init.type === 'lexical_declaration' || init.type === 'variable_declaration') this.exec(init, loopEnv);
      else for (const e of named(init)) this.eval(e, loopEnv);
    }
    const cond = s.childForFieldName('condition');
    const inc = s.childForFieldName('increment');
    const body = s.childForFieldName('body')!;
    for (let i = 0; i <= MAX_ITERATIONS; i++) {
      const condNode = cond?.type === 'expression_statement' ? named(cond)[0] : cond;
      const c = condNode ? truthy(this.eval(condNode, loopEnv)) : undefined;
      if (c === false) return NORMAL;
      if (c === undefined || i === MAX_ITERATIONS) return this.execUnknownLoop(s, [body, ...(inc ? [inc] : [])], loopEnv);
      const r = this.block(body, new Env(loopEnv));
      if (r.type === 'break') return NORMAL;
      if (r.type === 'return') return r;
      if (inc) this.eval(inc, loopEnv);
    }
    return NORMAL;
  }

  /** A loop whose iterations are not known: what it assigns or adds to a model becomes unknown. */
  private execUnknownLoop(s: Node, bodies: Node[], env: Env, loopVar?: Node): Completion {
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
    this.uncertain.push(`the loop at ${why} runs an unknown number of times`);
    this.loops.push(why);
    try {
      const inner = new Env(env);
      if (loopVar) this.bindPattern(loopVar, unknown(`\`${loopVar.text}\` is the variable of the loop at ${why}`), [], inner, 'declare');
      for (const b of bodies) {
        if (b.type === 'statement_block' || b.type.endsWith('statement')) this.block(b, inner);
        else this.eval(b, inner);
      }
    } finally {
      this.uncertain.pop();
      this.loops.pop();
    }
    havoc();
    return NORMAL;
  }

  // ---------------------------------------------------------------- patterns

  private bindPattern(p: Node, value: Value, notes: string[], env: Env, mode: 'declare' | 'assign'): void {
    const set = (name: string, v: Value, n: string[]) => {
      if (mode === 'declare') env.vars.set(name, { value: v, notes: n });
      else this.assign(name, { value: v, notes: n }, env);
    };
    switch (p.type) {
      case 'identifier':
      case 'shorthand_property_identifier_pattern':
        set(p.text, value, notes);
        return;
      case 'object_pattern':
        for (const c of named(p)) {
          if (c.type === 'shorthand_property_identifier_pattern') set(c.text, this.member(value, c.text), notes);
          else if (c.type === 'object_assignment_pattern') {
            const left = c.childForFieldName('left')!;
            let v = this.member(value, left.text);
            if (v.kind === 'undefined') v = this.eval(c.childForFieldName('right')!, env);
            this.bindPattern(left, v, notes, env, mode);
          } else if (c.type === 'pair_pattern') {
            const key = c.childForFieldName('key')!;
            const k = key.type === 'computed_property_name' ? this.eval(named(key)[0], env) : { kind: 'str' as const, value: key.text.replace(/^['"]|['"]$/g, '') };
            const v = k.kind === 'str' ? this.member(value, k.value) : unknown(`computed key \`${key.text}\``);
            this.bindPattern(c.childForFieldName('value')!, v, notes, env, mode);
          } else if (c.type === 'rest_pattern') {
            const id = named(c)[0];
            if (id) this.bindPattern(id, value.kind === 'object' ? { kind: 'object', props: new Map(value.props), open: value.open } : unknown('rest of an object'), notes, env, mode);
          }
        }
        return;
      case 'array_pattern':
        named(p).forEach((c, i) => {
          const item = value.kind === 'array' && !value.open ? (value.items[i] ?? UNDEFINED) : unknown(`element ${i} of \`${short(p)}\``);
          if (c.type === 'rest_pattern') {
            const id = named(c)[0];
            if (id) this.bindPattern(id, value.kind === 'array' ? { kind: 'array', items: value.items.slice(i), open: value.open } : unknown('rest of an array'), notes, env, mode);
          } else this.bindPattern(c, item, notes, env, mode);
        });
        return;
      case 'assignment_pattern': {
        const v = value.kind === 'undefined' ? this.eval(p.childForFieldName('right')!, env) : value;
        this.bindPattern(p.childForFieldName('left')!, v, notes, env, mode);
        return;
      }
      case 'member_expression':
      case 'subscript_expression':
        this.assignMember(p, value, env);
        return;
      default:
        return;
    }
  }

  private assign(name: string, entry: Entry, env: Env): void {
    const target = env.find(name) ?? this.module;
    target.vars.set(name, entry);
  }

  /** Parameters of a function run on its own: user values, then defaults (noted), else symbols. */
  private bindSymbolicParam(p: Node, env: Env, fn: string): void {
    const declare = (name: string, v: Value, notes: string[] = []): void => {
      env.vars.set(name, { value: v, notes });
    };
    const sym = (name: string): Value => ({ kind: 'sym', name, why: `a parameter of ${fn}()` });
    const withDefault = (name: string, dflt: Node | null | undefined): void => {
      const user = this.withNotes(() => this.userValue(name));
      if (user.value) return declare(name, user.value, user.notes);
      if (!dflt) return declare(name, sym(name));
      const v = this.eval(dflt, env);
      declare(name, v, [`${name}=${dflt.text.replace(/\s+/g, ' ')} (default of ${fn}())`]);
    };
    // TypeScript wraps parameters: required_parameter / optional_parameter {pattern, value}
    const pattern = p.type === 'required_parameter' || p.type === 'optional_parameter' ? p.childForFieldName('pattern')! : p;
    const dflt = p.type === 'required_parameter' || p.type === 'optional_parameter' ? p.childForFieldName('value') : undefined;
    const target = pattern.type === 'assignment_pattern' ? pattern.childForFieldName('left')! : pattern;
    const dfltNode = pattern.type === 'assignment_pattern' ? pattern.childForFieldName('right') : dflt;
    if (target.type === 'identifier') return withDefault(target.text, dfltNode);
    if (target.type === 'object_pattern') {
      for (const c of named(target)) {
        if (c.type === 'shorthand_property_identifier_pattern') withDefault(c.text, undefined);
        else if (c.type === 'object_assignment_pattern') {
          const left = c.childForFieldName('left')!;
          if (left.type === 'shorthand_property_identifier_pattern' || left.type === 'identifier') withDefault(left.text, c.childForFieldName('right'));
        } else if (c.type === 'pair_pattern') {
          const value = c.childForFieldName('value')!;
          if (value.type === 'identifier') withDefault(value.text, undefined);
          else if (value.type === 'assignment_pattern' && value.childForFieldName('left')?.type === 'identifier') withDefault(value.childForFieldName('left')!.text, value.childForFieldName('right'));
        }
      }
      return;
    }
    if (target.type === 'rest_pattern') {
      const id = named(target)[0];
      if (id?.type === 'identifier') declare(id.text, unknown(`\`${id.text}\` collects the rest of the arguments of ${fn}()`));
    }
  }

  // ---------------------------------------------------------------- functions

  private closeOverMethods(cls: Node, env: Env): void {
    const body = cls.childForFieldName('body');
    for (const m of named(body)) if (m.type === 'method_definition') this.closures.set(m.id, env);
  }

  private callFunction(fn: Value & { kind: 'function' }, args: Entry[], thisValue: Value | undefined, at: Node): Value {
    if (this.depth >= MAX_DEPTH) return unknown(`calls nested too deeply at line ${line(at)}`);
    const node = fn.node;
    const env = new Env(fn.env as Env);
    const self = thisValue ?? fn.thisValue;
    if (node.type !== 'arrow_function') env.vars.set('this', { value: self ?? UNDEFINED, notes: [] });
    const params = node.childForFieldName('parameters') ?? node.childForFieldName('parameter');
    const list = params ? (params.type === 'formal_parameters' ? named(params) : [params]) : [];
    list.forEach((p, i) => {
      const pattern = p.type === 'required_parameter' || p.type === 'optional_parameter' ? p.childForFieldName('pattern')! : p;
      const dflt = p.type === 'required_parameter' || p.type === 'optional_parameter' ? p.childForFieldName('value') : undefined;
      if (pattern.type === 'rest_pattern') {
        const id = named(pattern)[0];
        if (id) this.bindPattern(id, { kind: 'array', items: args.slice(i).map((a) => a.value) }, args.slice(i).flatMap((a) => a.notes), env, 'declare');
        return;
      }
      let arg = args[i] ?? { value: UNDEFINED, notes: [] };
      if (arg.value.kind === 'undefined' && dflt) arg = { value: this.eval(dflt, env), notes: [] };
      this.bindPattern(pattern, arg.value, arg.notes, env, 'declare');
      if (isParameterProperty(p) && self?.kind === 'object' && pattern.type === 'identifier') self.props.set(pattern.text, arg.value);
    });
    this.depth++;
    try {
      return this.runBody(node, env);
    } finally {
      this.depth--;
    }
  }

  private runBody(node: Node, env: Env): Value {
    this.evaluated.add(node.id);
    const body = node.childForFieldName('body');
    if (!body) return UNDEFINED;
    if (body.type !== 'statement_block') return this.eval(body, env);
    this.possibleReturns.push([]);
    let c: Completion;
    let possible: Value[];
    try {
      c = this.block(body, env);
    } finally {
      possible = this.possibleReturns.pop()!;
    }
    const final = c.type === 'return' ? c.value : UNDEFINED;
    if (possible.length === 0) return final;
    const all = [...possible, final];
    return all.every((v) => sameValue(v, final)) ? final : unknown(`${fnName(node)}() returns different values depending on a condition`);
  }

  private construct(cls: Value & { kind: 'class' }, args: Entry[], at: Node): Value {
    const self: Value = { kind: 'object', props: new Map() };
    const body = cls.node.childForFieldName('body');
    for (const m of named(body)) {
      if (m.type !== 'method_definition') continue;
      const name = m.childForFieldName('name')?.text;
      if (!name || name === 'constructor') continue;
      self.props.set(name, { kind: 'function', node: m, env: cls.env, thisValue: self });
    }
    if (cls.node.childForFieldName('superclass') || named(cls.node).some((c) => c.type === 'class_heritage')) self.open = `\`${cls.node.childForFieldName('name')?.text ?? 'class'}\` extends another class`;
    const ctor = named(body).find((m) => m.type === 'method_definition' && m.childForFieldName('name')?.text === 'constructor');
    if (ctor) this.callFunction({ kind: 'function', node: ctor, env: cls.env }, args, self, at);
    return self;
  }

  // ---------------------------------------------------------------- expressions

  eval(node: Node, env: Env): Value {
    this.tick();
    if (TRANSPARENT.has(node.type)) {
      const inner = named(node)[node.type === 'type_assertion' ? named(node).length - 1 : 0];
      return inner ? this.eval(inner, env) : unknown('empty expression');
    }
    switch (node.type) {
      case 'number': {
        const v = Number(node.text.replace(/_/g, ''));
        if (Number.isSafeInteger(v)) return num(v);
        return { kind: 'float', value: v };
      }
      case 'string':
        return { kind: 'str', value: stringValue(node) };
      case 'template_string': {
        let out = '';
        for (const c of named(node)) {
          if (c.type === 'string_fragment' || c.type === 'escape_sequence') out += c.type === 'string_fragment' ? c.text : unescape(c.text);
          else if (c.type === 'template_substitution') {
            const v = this.eval(named(c)[0], env);
            const n = asNumber(v);
            if (v.kind === 'str') out += v.value;
            else if (n !== undefined) out += String(n);
            else return unknown(`template \`${short(node)}\``);
          }
        }
        return { kind: 'str', value: out };
      }
      case 'true':
        return { kind: 'bool', value: true };
      case 'false':
        return { kind: 'bool', value: false };
      case 'null':
        return { kind: 'null' };
      case 'undefined':
        return UNDEFINED;
      case 'this': {
        const e = env.find('this');
        return e ? e.vars.get('this')!.value : unknown('`this` outside a class');
      }
      case 'identifier':
        return this.lookup(node.text, env);
      case 'array':
        return this.evalArray(node, env);
      case 'object':
        return this.evalObject(node, env);
      case 'member_expression': {
        const obj = this.eval(node.childForFieldName('object')!, env);
        const prop = node.childForFieldName('property')!;
        return this.member(obj, prop.text);
      }
      case 'subscript_expression': {
        const obj = this.eval(node.childForFieldName('object')!, env);
        const idx = this.eval(node.childForFieldName('index')!, env);
        const i = asNumber(idx);
        if (obj.kind === 'array' && i !== undefined) {
          const k = i < 0 ? undefined : obj.items[i];
          return k ?? (obj.open ? unknown(obj.open) : UNDEFINED);
        }
        if (idx.kind === 'str' || i !== undefined) return this.member(obj, idx.kind === 'str' ? idx.value : String(i));
        return unknown(`\`${short(node)}\``);
      }
      case 'call_expression':
        return this.evalCall(node, env);
      case 'new_expression': {
        const ctor = this.eval(node.childForFieldName('constructor')!, env);
        const args = this.evalArgs(node.childForFieldName('arguments'), env);
        if (ctor.kind === 'class') return this.construct(ctor, args, node);
        return unknown(`\`new ${short(node.childForFieldName('constructor')!)}\` is not followed`);
      }
      case 'arrow_function':
      case 'function_expression':
      case 'function':
      case 'generator_function':
        this.closures.set(node.id, env);
        return { kind: 'function', node, env };
      case 'class':
        this.closeOverMethods(node, env);
        return { kind: 'class', node, env };
      case 'binary_expression':
        return this.binary(node, env);
      case 'unary_expression': {
        const op = node.childForFieldName('operator')!.text;
        const v = this.eval(node.childForFieldName('argument')!, env);
        if (op === '-') {
          const p = asPoly(v);
          if (p && v.kind !== 'float') return { kind: 'num', poly: p.neg() };
          if (v.kind === 'float') return { kind: 'float', value: -v.value };
          return unknown(`\`${short(node)}\``);
        }
        if (op === '+') return asNumber(v) !== undefined || v.kind === 'sym' ? v : unknown(`\`${short(node)}\``);
        if (op === '!') {
          const t = truthy(v);
          return t === undefined ? unknown(`\`${short(node)}\``) : { kind: 'bool', value: !t };
        }
        if (op === 'void') return UNDEFINED;
        return unknown(`\`${short(node)}\``);
      }
      case 'ternary_expression': {
        const c = truthy(this.eval(node.childForFieldName('condition')!, env));
        if (c !== undefined) return this.eval(node.childForFieldName(c ? 'consequence' : 'alternative')!, env);
        const a = this.eval(node.childForFieldName('consequence')!, env);
        const b = this.eval(node.childForFieldName('alternative')!, env);
        if (sameValue(a, b)) return a;
        return unknown(`the condition of \`${short(node)}\` is not known`);
      }
      case 'assignment_expression': {
        const { value, notes } = this.withNotes(() => this.eval(node.childForFieldName('right')!, env));
        this.bindPattern(node.childForFieldName('left')!, value, notes, env, 'assign');
        return value;
      }
      case 'augmented_assignment_expression': {
        const left = node.childForFieldName('left')!;
        const op = node.childForFieldName('operator')!.text.slice(0, -1);
        const cur = this.eval(left, env);
        const right = this.eval(node.childForFieldName('right')!, env);
        const v = op === '&&' || op === '||' || op === '??' ? this.logical(op, cur, () => right) : arith(op, cur, right, node);
        this.bindPattern(left, v, [], env, 'assign');
        return v;
      }
      case 'update_expression': {
        const arg = node.childForFieldName('argument')!;
        const cur = this.eval(arg, env);
        const op = node.text.includes('++') ? '+' : '-';
        const v = arith(op, cur, num(1), node);
        this.bindPattern(arg, v, [], env, 'assign');
        return node.text.trim().startsWith(op + op) ? v : cur;
      }
      case 'sequence_expression': {
        let v: Value = UNDEFINED;
        for (const c of named(node)) v = this.eval(c, env);
        return v;
      }
      case 'spread_element':
        return this.eval(named(node)[0], env);
      default:
        return unknown(`\`${short(node)}\` is not followed`);
    }
  }

  private lookup(name: string, env: Env): Value {
    const e = env.find(name)?.vars.get(name);
    if (e) {
      this.emit(e.notes);
      return e.value;
    }
    switch (name) {
      case 'undefined':
        return UNDEFINED;
      case 'NaN':
        return { kind: 'float', value: NaN };
      case 'Infinity':
        return { kind: 'float', value: Infinity };
      case 'Math':
      case 'Number':
      case 'parseInt':
      case 'parseFloat':
      case 'require':
      case 'Object':
        return { kind: 'builtin', name };
    }
    return this.userValue(name) ?? unknown(`\`${name}\` is not defined in this file`);
  }

  private evalArray(node: Node, env: Env): Value {
    const items: Value[] = [];
    let open: string | undefined;
    for (const c of named(node)) {
      if (c.type === 'spread_element') {
        const v = this.eval(named(c)[0], env);
        if (v.kind === 'array') {
          items.push(...v.items);
          open ??= v.open;
        } else open ??= `\`${short(c)}\` is not a known array`;
      } else items.push(this.eval(c, env));
    }
    return { kind: 'array', items, open };
  }

  private evalObject(node: Node, env: Env): Value {
    const props = new Map<string, Value>();
    let open: string | undefined;
    for (const c of named(node)) {
      switch (c.type) {
        case 'pair': {
          const key = c.childForFieldName('key')!;
          const k = key.type === 'computed_property_name' ? this.eval(named(key)[0], env) : { kind: 'str' as const, value: key.type === 'string' ? stringValue(key) : key.text };
          const v = this.eval(c.childForFieldName('value')!, env);
          const ks = k.kind === 'str' ? k.value : asNumber(k) !== undefined ? String(asNumber(k)) : undefined;
          if (ks === undefined) open ??= `the computed key \`${short(key)}\` is not known`;
          else {
            props.delete(ks);
            props.set(ks, v);
          }
          break;
        }
        case 'shorthand_property_identifier':
          props.delete(c.text);
          props.set(c.text, this.lookup(c.text, env));
          break;
        case 'spread_element': {
          const v = this.eval(named(c)[0], env);
          if (v.kind === 'object') {
            for (const [k, x] of v.props) {
              props.delete(k);
              props.set(k, x);
            }
            open ??= v.open;
          } else if (v.kind === 'null' || v.kind === 'undefined') {
            // spreading nothing
          } else {
            // keys written before an unknown spread may be overridden by it
            const why = `the keys of \`...${short(named(c)[0])}\` are not known (${whyNot(v, 'it')})`;
            for (const k of props.keys()) props.set(k, unknown(why));
            open = why;
          }
          break;
        }
        case 'method_definition': {
          const name = c.childForFieldName('name')?.text;
          this.closures.set(c.id, env);
          if (name) props.set(name, { kind: 'function', node: c, env });
          break;
        }
        default:
          break;
      }
    }
    return { kind: 'object', props, open };
  }

  /** `value.name` */
  member(obj: Value, name: string): Value {
    switch (obj.kind) {
      case 'object':
        return obj.props.get(name) ?? (obj.open ? unknown(obj.open) : UNDEFINED);
      case 'array':
        if (name === 'length') return obj.open ? unknown(obj.open) : num(obj.items.length);
        if (/^\d+$/.test(name)) return obj.items[Number(name)] ?? (obj.open ? unknown(obj.open) : UNDEFINED);
        return { kind: 'builtin', name: `Array.${name}`, receiver: obj };
      case 'str':
        return name === 'length' ? num(obj.value.length) : { kind: 'builtin', name: `String.${name}`, receiver: obj };
      case 'ns':
        return { kind: 'ns', path: obj.path ? `${obj.path}.${name}` : name };
      case 'builtin':
        if (obj.name === 'Math' && name === 'PI') return { kind: 'float', value: Math.PI };
        return { kind: 'builtin', name: `${obj.name}.${name}` };
      case 'tensor': {
        const s = obj.tensor.shape;
        if (name === 'shape') return s.shape ? { kind: 'array', items: [{ kind: 'null' }, ...s.shape.dims.map((d): Value => (d ? { kind: 'num', poly: d } : unknown('a dimension the model leaves open')))] } : unknown(s.why);
        if (name === 'rank') return s.shape ? num(s.shape.dims.length + 1) : unknown(s.why);
        return unknown(`tensor property \`${name}\``);
      }
      case 'model':
        if (name === 'layers') return { kind: 'array', items: obj.model.layers.map((inst) => ({ kind: 'layer', inst })), open: obj.model.uncertain };
        return { kind: 'builtin', name: `Model.${name}`, receiver: obj };
      case 'layer':
        return { kind: 'builtin', name: `Layer.${name}`, receiver: obj };
      case 'sym':
        return this.userValue(`${obj.name}.${name}`) ?? { kind: 'sym', name: `${obj.name}.${name}`, why: obj.why };
      case 'function':
        return { kind: 'builtin', name: `Function.${name}`, receiver: obj };
      case 'unknown':
        return obj;
      default:
        return unknown(`\`.${name}\` of ${obj.kind}`);
    }
  }

  private assignMember(target: Node, value: Value, env: Env): void {
    const objNode = target.childForFieldName('object')!;
    const obj = this.eval(objNode, env);
    let key: string | undefined;
    if (target.type === 'member_expression') key = target.childForFieldName('property')!.text;
    else {
      const idx = this.eval(target.childForFieldName('index')!, env);
      key = idx.kind === 'str' ? idx.value : asNumber(idx) !== undefined ? String(asNumber(idx)) : undefined;
    }
    const uncertain = this.uncertain[this.uncertain.length - 1];
    if (obj.kind === 'object') {
      if (key === undefined) {
        obj.open ??= `a key assigned at line ${line(target)} is not known`;
        return;
      }
      const prev = obj.props.get(key);
      obj.props.set(key, uncertain && prev && !sameValue(prev, value) ? unknown(`\`${short(target)}\` depends on ${uncertain}`) : value);
    } else if (obj.kind === 'array' && key !== undefined && /^\d+$/.test(key)) {
      obj.items[Number(key)] = uncertain ? unknown(`\`${short(target)}\` is set where ${uncertain}`) : value;
    }
  }

  private evalArgs(args: Node | null, env: Env): Entry[] {
    if (!args || args.type !== 'arguments') return [];
    const out: Entry[] = [];
    for (const a of named(args)) {
      const { value, notes } = this.withNotes(() => this.eval(a, env));
      if (a.type === 'spread_element' && value.kind === 'array' && !value.open) out.push(...value.items.map((v) => ({ value: v, notes })));
      else if (a.type === 'spread_element') out.push({ value: unknown(`\`${short(a)}\``), notes });
      else out.push({ value, notes });
    }
    return out;
  }

  private evalCall(node: Node, env: Env): Value {
    const fnNode = node.childForFieldName('function')!;
    const argsNode = node.childForFieldName('arguments');
    this.visited.add(node.id);
    const inner = TRANSPARENT.has(fnNode.type) ? (named(fnNode)[0] ?? fnNode) : fnNode;
    if (inner.type === 'member_expression') {
      const obj = this.eval(inner.childForFieldName('object')!, env);
      const name = inner.childForFieldName('property')!.text;
      const args = this.evalArgs(argsNode, env);
      return this.callMethod(obj, name, args, node, env);
    }
    if (inner.type === 'import') {
      const args = this.evalArgs(argsNode, env);
      const src = args[0]?.value;
      return src?.kind === 'str' && TFJS_PACKAGE.test(src.value) ? { kind: 'ns', path: '' } : unknown('a dynamic import');
    }
    const callee = this.eval(inner, env);
    const args = this.evalArgs(argsNode, env);
    return this.invoke(callee, args, node, undefined, env);
  }

  private invoke(callee: Value, args: Entry[], node: Node, thisValue: Value | undefined, env: Env): Value {
    switch (callee.kind) {
      case 'function':
        return this.callFunction(callee, args, thisValue, node);
      case 'ns':
        return this.callTfjs(callee.path, args, node, args.flatMap((a) => a.notes));
      case 'builtin':
        return this.builtin(callee, args, node, env);
      default:
        return unknown(`\`${short(node.childForFieldName('function') ?? node)}\` is not followed (${whyNot(callee, 'the callee')})`);
    }
  }

  private callMethod(obj: Value, name: string, args: Entry[], node: Node, env: Env): Value {
    if (obj.kind === 'object') {
      const f = obj.props.get(name);
      if (f) return this.invoke(f, args, node, obj, env);
    }
    return this.invoke(this.member(obj, name), args, node, obj, env);
  }

  private builtin(b: Value & { kind: 'builtin' }, args: Entry[], node: Node, env: Env): Value {
    const a = args.map((x) => x.value);
    const nums = a.map(asNumber);
    const allNums = nums.length > 0 && nums.every((n) => n !== undefined);
    const numOut = (v: number): Value => (Number.isSafeInteger(v) ? num(v) : { kind: 'float', value: v });
    switch (b.name) {
      case 'require': {
        const src = a[0];
        return src?.kind === 'str' && TFJS_PACKAGE.test(src.value) ? { kind: 'ns', path: '' } : unknown(`\`${short(node)}\` is not followed`);
      }
      case 'Math.floor':
      case 'Math.ceil':
      case 'Math.round':
      case 'Math.trunc':
      case 'Math.abs':
      case 'Math.sqrt':
        if (allNums) return numOut(Math[b.name.slice(5) as 'floor'](nums[0]));
        if (b.name !== 'Math.sqrt' && b.name !== 'Math.abs' && a[0] && asPoly(a[0]) && a[0].kind !== 'float') return a[0];
        break;
      case 'Math.max':
      case 'Math.min':
      case 'Math.pow':
        if (allNums) return numOut((Math[b.name.slice(5) as 'max'])(...(nums)));
        break;
      case 'Number':
      case 'parseInt':
      case 'parseFloat':
        if (a[0]?.kind === 'str') return numOut(Number(a[0].value));
        if (a[0] && (asNumber(a[0]) !== undefined || a[0].kind === 'sym')) return a[0];
        break;
      case 'Layer.apply':
        return b.receiver?.kind === 'layer' ? this.applyLayer(b.receiver.inst, a[0] ?? UNDEFINED, node) : unknown('apply');
      case 'Model.add':
        if (b.receiver?.kind === 'model') this.addToModel(b.receiver.model, a[0] ?? UNDEFINED, node);
        return UNDEFINED;
      case 'Model.apply': {
        // a model used as a layer: its output, when it was built for an input of the same shape
        const m = b.receiver?.kind === 'model' ? b.receiver.model : undefined;
        const x = a[0];
        const history = x?.kind === 'tensor' ? x.tensor.history : [];
        const fits = m?.output?.shape.shape && m.input && x?.kind === 'tensor' && (!m.input.shape.shape || sameShape(m.input.shape, x.tensor.shape));
        if (m && fits && !m.uncertain) return { kind: 'tensor', tensor: { shape: m.output!.shape, history: [...new Set([...history, ...m.layers])] } };
        return { kind: 'tensor', tensor: { shape: { why: `channels unknown after the model used as a layer at line ${line(node)} (${m?.uncertain ?? 'its input or output shape is not known'})` }, history } };
      }
      case 'Array.push':
        if (b.receiver?.kind === 'array') {
          const why = this.uncertain[this.uncertain.length - 1];
          b.receiver.items.push(...a.map((v) => (why ? unknown(`an item pushed at line ${line(node)}, where ${why}`) : v)));
          return num(b.receiver.items.length);
        }
        break;
      case 'Array.map':
      case 'Array.forEach':
        if (b.receiver?.kind === 'array' && !b.receiver.open && a[0]?.kind === 'function') {
          const f = a[0];
          const out = b.receiver.items.map((item, i) => this.callFunction(f, [{ value: item, notes: [] }, { value: num(i), notes: [] }], undefined, node));
          return b.name === 'Array.map' ? { kind: 'array', items: out } : UNDEFINED;
        }
        if (a[0]?.kind === 'function') {
          const recv = b.receiver;
          return this.withUnknownLoop(node, () => this.callFunction(a[0] as Value & { kind: 'function' }, [{ value: unknown(`an item of \`${recv ? short(node) : '?'}\``), notes: [] }], undefined, node), env);
        }
        break;
      case 'Array.concat':
        if (b.receiver?.kind === 'array') {
          const items = [...b.receiver.items];
          let open = b.receiver.open;
          for (const x of a) {
            if (x.kind === 'array') {
              items.push(...x.items);
              open ??= x.open;
            } else items.push(x);
          }
          return { kind: 'array', items, open };
        }
        break;
      case 'Array.slice':
        if (b.receiver?.kind === 'array' && !b.receiver.open && nums.every((n) => n !== undefined)) return { kind: 'array', items: b.receiver.items.slice(...(nums)) };
        break;
      case 'Array.fill':
      case 'Array.reverse':
        break;
      case 'Object.assign':
        if (a[0]?.kind === 'object') {
          for (const src of a.slice(1)) {
            if (src.kind === 'object') for (const [k, v] of src.props) a[0].props.set(k, v);
            else a[0].open ??= `\`${short(node)}\` copies unknown keys`;
          }
          return a[0];
        }
        break;
      default:
        break;
    }
    // tfjs methods that return nothing to follow (compile, summary, fit, predict, ...)
    return unknown(`\`${short(node.childForFieldName('function') ?? node)}(...)\` is not followed`);
  }

  private withUnknownLoop(node: Node, f: () => Value, _env: Env): Value {
    const why = `line ${line(node)}`;
    this.uncertain.push(`the callback at ${why} runs an unknown number of times`);
    this.loops.push(why);
    try {
      f();
    } finally {
      this.uncertain.pop();
      this.loops.pop();
    }
    return unknown(`the result of the callback at ${why}`);
  }

  private logical(op: string, left: Value, right: () => Value): Value {
    const t = truthy(left);
    if (op === '??') {
      if (left.kind === 'null' || left.kind === 'undefined') return right();
      if (left.kind === 'unknown' || left.kind === 'sym') return left;
      return left;
    }
    if (t === undefined) return left.kind === 'unknown' ? left : unknown('a condition is not known');
    if (op === '&&') return t ? right() : left;
    return t ? left : right();
  }

  private binary(node: Node, env: Env): Value {
    const op = node.childForFieldName('operator')!.text;
    const left = this.eval(node.childForFieldName('left')!, env);
    const rightNode = node.childForFieldName('right')!;
    if (op === '&&' || op === '||' || op === '??') return this.logical(op, left, () => this.eval(rightNode, env));
    const right = this.eval(rightNode, env);
    return arith(op, left, right, node);
  }

  // ---------------------------------------------------------------- tfjs

  private callTfjs(path: string, args: Entry[], node: Node, notes: string[]): Value {
    const a = args[0]?.value;
    if (path.startsWith('layers.') && path.split('.').length === 2) {
      const op = path.slice(7);
      const inst: Instance = {
        id: this.instances.length,
        site: this.host.siteOf(node),
        op,
        config: a ?? UNDEFINED,
        notes,
        built: false,
      };
      this.instances.push(inst);
      return { kind: 'layer', inst };
    }
    switch (path) {
      case 'sequential': {
        const model: ModelState = { kind: 'sequential', call: node, layers: [], output: undefined };
        this.models.push(model);
        const layers = a?.kind === 'object' ? a.props.get('layers') : undefined;
        if (layers?.kind === 'array') {
          for (const item of layers.items) this.addToModel(model, item, node);
          if (layers.open) {
            model.uncertain ??= layers.open;
            model.output = { shape: { why: `channels unknown: the layers array is not fully known (${layers.open})` }, history: model.output?.history ?? [] };
          }
        } else if (layers && layers.kind !== 'undefined') {
          model.uncertain = `its layers are not known (${whyNot(layers, 'layers')})`;
          model.output = { shape: { why: `channels unknown: the layers of the model at line ${line(node)} are not known` }, history: [] };
        }
        return { kind: 'model', model };
      }
      case 'model': {
        const outputs = a?.kind === 'object' ? a.props.get('outputs') : undefined;
        const inputs = a?.kind === 'object' ? a.props.get('inputs') : undefined;
        const outs = outputs?.kind === 'array' ? outputs.items : outputs ? [outputs] : [];
        const ins = inputs?.kind === 'array' ? inputs.items : inputs ? [inputs] : [];
        const tensors = outs.filter((o): o is Value & { kind: 'tensor' } => o.kind === 'tensor');
        const history = [...new Set(tensors.flatMap((t) => t.tensor.history))];
        const model: ModelState = {
          kind: 'functional',
          call: node,
          layers: history,
          output: tensors[0]?.tensor ?? { shape: { why: `the outputs of the model at line ${line(node)} are not known` }, history: [] },
          input: ins[0]?.kind === 'tensor' ? ins[0].tensor : undefined,
        };
        if (tensors.length !== outs.length || outs.length === 0) model.uncertain = 'its outputs are not all known';
        this.models.push(model);
        return { kind: 'model', model };
      }
      case 'input':
      case 'layers.input': {
        const cfg = configOf(a);
        const shape = cfg.get('shape');
        const batch = cfg.get('batchShape');
        const v = shape ?? batch;
        const dims = v?.kind === 'array' && !v.open ? (v === shape ? v.items : v.items.slice(1)) : undefined;
        const s: ShapeOrWhy = dims
          ? { shape: { dims: dims.map((d) => (d.kind === 'null' ? undefined : asPoly(d))), notes } }
          : { why: `the shape of the input at line ${line(node)} is not known (${whyNot(v, 'shape')})` };
        return { kind: 'tensor', tensor: { shape: s, history: [] } };
      }
      default:
        return unknown(`\`tf.${path}(...)\` is not followed`);
    }
  }

  /** Builds a layer on its input(s) the first time; returns the output tensor. */
  private applyLayer(inst: Instance, input: Value, at: Node): Value {
    const spec = OPS[inst.op];
    const tensors: Value[] = spec?.multi && input.kind === 'array' ? input.items : [input];
    const shapes: ShapeOrWhy[] = tensors.map((t) =>
      t.kind === 'tensor' ? t.tensor.shape : { why: `the input of \`${inst.op}\` at line ${line(at)} is not a tensor the tool follows (${whyNot(t, 'it')})` },
    );
    if (input.kind === 'array' && input.open) shapes.push({ why: input.open });
    const history = [...new Set(tensors.flatMap((t) => (t.kind === 'tensor' ? t.tensor.history : [])))];
    history.push(inst);
    const output = this.build(inst, shapes, at);
    return { kind: 'tensor', tensor: { shape: output, history } };
  }

  private build(inst: Instance, shapes: ShapeOrWhy[], at: Node): ShapeOrWhy {
    const spec = OPS[inst.op];
    const first = !inst.built;
    if (first) {
      inst.built = true;
      inst.input = shapes[0];
      inst.inputs = shapes;
    }
    const where = `${inst.position ? `layer ${inst.position} (\`${inst.op}\`, line ${line(at)})` : `\`${inst.op}\` at line ${line(at)}`}`;
    let out: ShapeOrWhy;
    if (!spec) {
      out = { why: `channels unknown after ${where}: tf.layers.${inst.op} is not followed` };
      if (first) inst.paramsWhy = `tf.layers.${inst.op} is not followed`;
    } else {
      const missing = shapes.find((s) => !s.shape);
      if (missing) {
        out = missing;
        if (first) inst.paramsWhy = 'its input is not known';
      } else {
        const r = spec.build(configOf(inst.config), shapes.map((s) => s.shape!), this.host.options);
        out = r.output.shape ? { shape: { dims: r.output.shape.dims, notes: [...new Set([...r.output.shape.notes, ...inst.notes])] } } : r.output;
        if (!r.output.shape && !/^channels unknown/.test(r.output.why)) out = { why: `channels unknown after ${where}: ${r.output.why}` };
        if (first) {
          inst.params = r.params;
          inst.paramsWhy = r.params ? undefined : r.paramsWhy;
          inst.assumedInput = r.assumed;
        }
      }
    }
    if (first) inst.output = out;
    return out;
  }

  private addToModel(model: ModelState, v: Value, at: Node): void {
    if (v.kind !== 'layer') {
      const why = v.kind === 'model' ? `a nested model added at line ${line(at)} is not followed` : `what is added at line ${line(at)} is not a layer the tool follows (${whyNot(v, 'it')})`;
      model.uncertain ??= why;
      model.output = { shape: { why: `channels unknown: ${why}` }, history: model.output?.history ?? [] };
      return;
    }
    const inst = v.inst;
    model.layers.push(inst);
    inst.position ??= model.layers.length;
    const loop = this.loops[this.loops.length - 1];
    if (loop) {
      model.uncertain ??= `layers are added in the loop at ${loop}`;
      model.output = { shape: { why: `channels unknown: layers are added to the model in the loop at ${loop}, which runs an unknown number of times` }, history: model.output?.history ?? [] };
    }
    if (model.output === undefined) {
      const declared = declaredInput(configOf(inst.config)) ?? { why: `the first layer of the model (\`${inst.op}\`, line ${line(at)}) has no inputShape` };
      model.input = { shape: declared, history: [] };
      const out = this.applyLayer(inst, { kind: 'tensor', tensor: model.input }, at);
      model.output = (out as Value & { kind: 'tensor' }).tensor;
      return;
    }
    const out = this.applyLayer(inst, { kind: 'tensor', tensor: model.output }, at);
    model.output = (out as Value & { kind: 'tensor' }).tensor;
  }
}

// ---------------------------------------------------------------- helpers

function isParameterProperty(p: Node): boolean {
  return (p.type === 'required_parameter' || p.type === 'optional_parameter') && p.children.some((c) => c?.type === 'accessibility_modifier' || c?.type === 'readonly' || c?.type === 'override_modifier');
}

function fnName(fn: Node): string {
  const n = fn.childForFieldName('name');
  if (n) return n.text;
  const p = fn.parent;
  if (p?.type === 'variable_declarator') return p.childForFieldName('name')?.text ?? 'function';
  if (p?.type === 'pair') return p.childForFieldName('key')?.text ?? 'function';
  if (p?.type === 'assignment_expression') return p.childForFieldName('left')?.text ?? 'function';
  return 'the function';
}

/** Globals whose use cannot reach TensorFlow.js or the file's own state. */
const PURE_GLOBALS = new Set(['Math', 'JSON', 'Object', 'Array', 'Number', 'String', 'Boolean', 'Date', 'Map', 'Set', 'WeakMap', 'WeakSet', 'Symbol', 'Error', 'TypeError', 'RangeError', 'Promise', 'RegExp', 'parseInt', 'parseFloat', 'isNaN', 'isFinite', 'undefined', 'NaN', 'Infinity', 'console']);

/** Where a pattern passes a name on to the node above it: the field of the parent that holds it. */
const PATTERN_FIELDS: Record<string, string | undefined> = {
  array_pattern: undefined, // every element
  object_pattern: undefined,
  rest_pattern: undefined,
  pair_pattern: 'value',
  assignment_pattern: 'left',
  required_parameter: 'pattern',
  optional_parameter: 'pattern',
};

/** Declaring nodes and the field that holds the declared name or pattern (undefined: any child). */
const DECLARING_FIELDS: Record<string, string | undefined> = {
  variable_declarator: 'name',
  formal_parameters: undefined,
  catch_clause: 'parameter',
  arrow_function: 'parameter',
  function_declaration: 'name',
  function_expression: 'name',
  function: 'name',
  generator_function_declaration: 'name',
  generator_function: 'name',
  class_declaration: 'name',
  class: 'name',
};

/** Whether identifier `id` is a name being declared (a variable, parameter, function or class name). */
function declares(id: Node): boolean {
  let n = id;
  for (let p = n.parent; p; n = p, p = p.parent) {
    if (p.type in PATTERN_FIELDS) {
      const field = PATTERN_FIELDS[p.type];
      if (field !== undefined && p.childForFieldName(field)?.id !== n.id) return false;
      continue;
    }
    if (p.type === 'for_in_statement') return p.childForFieldName('left')?.id === n.id && p.childForFieldName('kind') !== null;
    if (!(p.type in DECLARING_FIELDS)) return false;
    const field = DECLARING_FIELDS[p.type];
    return field === undefined || p.childForFieldName(field)?.id === n.id;
  }
  return false;
}

function enclosingClass(n: Node): Node | undefined {
  for (let c = n.parent; c; c = c.parent) if (c.type === 'class_declaration' || c.type === 'class') return c;
  return undefined;
}

function unescape(s: string): string {
  const m: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0' };
  return s.length === 2 ? (m[s[1]] ?? s[1]) : s;
}

export function stringValue(node: Node): string {
  return named(node)
    .map((c) => (c.type === 'escape_sequence' ? unescape(c.text) : c.text))
    .join('');
}

function arith(op: string, left: Value, right: Value, node: Node): Value {
  const ln = asNumber(left);
  const rn = asNumber(right);
  const lp = left.kind === 'float' ? undefined : asPoly(left);
  const rp = right.kind === 'float' ? undefined : asPoly(right);
  const numOut = (v: number): Value => (Number.isSafeInteger(v) ? num(v) : { kind: 'float', value: v });
  const opaque = (): Value => (left.kind === 'unknown' ? left : right.kind === 'unknown' ? right : { kind: 'num', poly: Poly.sym(node.text.replace(/\s+/g, ' ')) });
  if (op === '+' && (left.kind === 'str' || right.kind === 'str')) {
    const text = (v: Value) => (v.kind === 'str' ? v.value : asNumber(v) !== undefined ? String(asNumber(v)) : undefined);
    const a = text(left);
    const b = text(right);
    return a !== undefined && b !== undefined ? { kind: 'str', value: a + b } : unknown(`\`${short(node)}\``);
  }
  if (ln !== undefined && rn !== undefined) {
    switch (op) {
      case '+':
        return numOut(ln + rn);
      case '-':
        return numOut(ln - rn);
      case '*':
        return numOut(ln * rn);
      case '/':
        return numOut(ln / rn);
      case '%':
        return numOut(ln % rn);
      case '**':
        return numOut(ln ** rn);
      case '|':
        return numOut(ln | rn);
      case '<':
        return { kind: 'bool', value: ln < rn };
      case '>':
        return { kind: 'bool', value: ln > rn };
      case '<=':
        return { kind: 'bool', value: ln <= rn };
      case '>=':
        return { kind: 'bool', value: ln >= rn };
      case '===':
      case '==':
        return { kind: 'bool', value: ln === rn };
      case '!==':
      case '!=':
        return { kind: 'bool', value: ln !== rn };
    }
  }
  if (op === '===' || op === '==' || op === '!==' || op === '!=') {
    // null/undefined against something that exists (an object, a layer, a string, ...)
    const nullish = (v: Value) => v.kind === 'null' || v.kind === 'undefined';
    const exists = (v: Value) => v.kind !== 'null' && v.kind !== 'undefined' && v.kind !== 'unknown' && v.kind !== 'sym';
    if ((nullish(left) && exists(right)) || (exists(left) && nullish(right))) return { kind: 'bool', value: op.startsWith('!') };
    const known = (v: Value) => v.kind === 'str' || v.kind === 'bool' || v.kind === 'null' || v.kind === 'undefined' || asNumber(v) !== undefined;
    if (known(left) && known(right)) {
      const loose = op.length === 2 && (left.kind === 'null' || left.kind === 'undefined') && (right.kind === 'null' || right.kind === 'undefined');
      const eq = loose || sameValue(left, right);
      return { kind: 'bool', value: op.startsWith('=') ? eq : !eq };
    }
    return unknown(`the comparison \`${short(node)}\` is not known`);
  }
  if (lp && rp) {
    switch (op) {
      case '+':
        return { kind: 'num', poly: lp.add(rp) };
      case '-':
        return { kind: 'num', poly: lp.sub(rp) };
      case '*':
        return { kind: 'num', poly: lp.mul(rp) };
      case '/': {
        const q = lp.divBy(rp);
        return q ? { kind: 'num', poly: q } : opaque();
      }
      case '**': {
        const e = rp.constant;
        return e !== undefined && Number.isInteger(e) && e >= 0 && e <= 8 ? { kind: 'num', poly: lp.pow(e) } : opaque();
      }
      case '%':
      case '|':
        return opaque();
    }
  }
  if (left.kind === 'unknown') return left;
  if (right.kind === 'unknown') return right;
  return unknown(`\`${short(node)}\` is not known`);
}
