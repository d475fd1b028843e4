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
import { num, UNDEFINED, type Instance, type ModelState, type Value } from './values';
import * as calls from './calls';
import * as expressions from './expressions';
import * as functions from './functions';
import * as library from './library';
import * as statements from './statements';
import { type Entry, Env } from './scope';
import type { Completion as Ending } from '../kernel/completion';
import { Budget, BudgetExceeded, TFJS_MAX_STEPS } from '../kernel/budget';
import { named, isParameterProperty, fnName, PURE_GLOBALS, declares, enclosingClass } from './syntax';

export interface Host {
  options: AnalysisOptions;
  /** `// sepconv: name=value` pragmas */
  pragmas: Record<string, number>;
  /** the site index of a `tf.layers.xxx(...)` call */
  siteOf(call: Node): number;
  /** module-level names bound to the tfjs namespace */
  globals: Map<string, string>;
}

/** How a statement ended (the kernel's; this interpreter never stops: its budget throws `BudgetExceeded`). */
export type Completion = Ending<Value>;

export class TfjsInterpreter {
  readonly instances: Instance[] = [];
  readonly models: ModelState[] = [];
  /** function nodes whose body ran at least once */
  readonly evaluated = new Set<number>();
  /** call expressions evaluated at least once */
  readonly visited = new Set<number>();
  /** the environment each function closed over, by node id */
  readonly closures = new Map<number, Env>();
  readonly classThis = new Map<number, Value>();
  /** the kernel's budget, one for the whole file (steps only; `tick()` throws when it is spent) */
  readonly budget = new Budget({ steps: TFJS_MAX_STEPS });
  depth = 0;
  /** notes collected while evaluating the current expression */
  noteFrames: Set<string>[] = [new Set()];
  /** reasons why the code running now may or may not run (unknown conditions, loops) */
  uncertain: string[] = [];
  loops: string[] = [];
  possibleReturns: Value[][] = [];
  exhausted: string | undefined;
  readonly module: Env;

  constructor(readonly host: Host) {
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
        if (isParameterProperty(p) && self?.kind === 'object' && id?.type === 'identifier')
          self.props.set(id.text, env.vars.get(id.text)?.value ?? UNDEFINED);
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

  thisOfClass(cls: Node): Value {
    let v = this.classThis.get(cls.id);
    if (!v) {
      v = { kind: 'object', props: new Map() };
      this.classThis.set(cls.id, v);
    }
    return v;
  }

  guard(f: () => void): void {
    if (this.exhausted) return;
    try {
      f();
    } catch (e) {
      if (!(e instanceof BudgetExceeded)) throw e;
      this.exhausted = `shapes unknown (${e.message}: the file is too large or its loops too long to follow)`;
    }
  }

  tick(): void {
    const why = this.budget.spent();
    if (why) throw new BudgetExceeded(why);
  }

  // ---------------------------------------------------------------- notes

  emit(notes: Iterable<string>): void {
    const top = this.noteFrames[this.noteFrames.length - 1];
    for (const n of notes) top.add(n);
  }

  withNotes<T>(f: () => T): { value: T; notes: string[] } {
    this.noteFrames.push(new Set());
    try {
      const value = f();
      return { value, notes: [...this.noteFrames[this.noteFrames.length - 1]] };
    } finally {
      this.emit(this.noteFrames.pop()!);
    }
  }

  userValue(name: string): Value | undefined {
    const given = this.host.options.assumptions[name];
    const v = given ?? this.host.pragmas[name];
    if (v === undefined) return undefined;
    this.emit([`${name}=${v} (${given !== undefined ? '--assume' : 'pragma'})`]);
    return num(v);
  }

  // ---------------------------------------------------------------- statements

  // ---------------------------------------------------------------- patterns

  // ---------------------------------------------------------------- functions

  // ---------------------------------------------------------------- expressions

  // ---------------------------------------------------------------- tfjs

  // ---------------------------------------------------------------------------------------------
  // the parts: one entry each that other files call

  hoist(stmts: Node[], env: Env): void {
    return statements.hoist(this, stmts, env);
  }

  execList(stmts: Node[], env: Env): Completion {
    return statements.execList(this, stmts, env);
  }

  block(node: Node, env: Env): Completion {
    return statements.block(this, node, env);
  }

  exec(s: Node, env: Env): Completion {
    return statements.execute(this, s, env);
  }

  bindPattern(p: Node, value: Value, notes: string[], env: Env, mode: 'declare' | 'assign'): void {
    return functions.bindPattern(this, p, value, notes, env, mode);
  }

  bindSymbolicParam(p: Node, env: Env, fn: string): void {
    return functions.bindSymbolicParam(this, p, env, fn);
  }

  closeOverMethods(cls: Node, env: Env): void {
    return functions.closeOverMethods(this, cls, env);
  }

  callFunction(fn: Value & { kind: 'function' }, args: Entry[], thisValue: Value | undefined, at: Node): Value {
    return functions.callFunction(this, fn, args, thisValue, at);
  }

  runBody(node: Node, env: Env): Value {
    return functions.runBody(this, node, env);
  }

  construct(cls: Value & { kind: 'class' }, args: Entry[], at: Node): Value {
    return functions.construct(this, cls, args, at);
  }

  eval(node: Node, env: Env): Value {
    return expressions.evaluate(this, node, env);
  }

  member(obj: Value, name: string): Value {
    return expressions.member(this, obj, name);
  }

  assignMember(target: Node, value: Value, env: Env): void {
    return expressions.assignMember(this, target, value, env);
  }

  evalArgs(args: Node | null, env: Env): Entry[] {
    return calls.evalArgs(this, args, env);
  }

  evalCall(node: Node, env: Env): Value {
    return calls.evalCall(this, node, env);
  }

  callTfjs(path: string, args: Entry[], node: Node, notes: string[]): Value {
    return library.callTfjs(this, path, args, node, notes);
  }

  applyLayer(inst: Instance, input: Value, at: Node): Value {
    return library.applyLayer(this, inst, input, at);
  }

  addToModel(model: ModelState, v: Value, at: Node): void {
    return library.addToModel(this, model, v, at);
  }
}
