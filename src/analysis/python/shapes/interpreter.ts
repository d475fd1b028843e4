/**
 * An abstract interpreter for the Python that model code is written in: it runs `__init__` with
 * concrete arguments (assignments, `for` over range/lists/zip/enumerate, `if`, helper functions
 * and methods, user classes, containers) and then `forward` over tensors that carry only their
 * shape. Library calls go to `builtins.ts` (Python) and `torch.ts` (PyTorch). Whatever it cannot
 * follow becomes an `unknown` value with the reason, and a branch or loop that depends on one
 * stops the function it is in (recorded in `stops`): nothing is guessed.
 */
import * as path from 'node:path';
import type { Node } from 'web-tree-sitter';
import { binary, truthy as scalarTruthy } from '../evaluate';
import { canonical } from '../imports';
import { builtinValue, callBuiltin, formatPercent, methodValue, pyStr, valuesEqual } from './builtins';
import { HeapSnapshot, joinValues, type HeapState } from './branches';
import { MAX_FILES, type Program } from './program';
import { callModuleMethod, callTorch, forwardNative, initNative, isNnClass, nativeModuleAttribute, tensorAttribute, tensorBinary, tensorCompare, tensorItem, tensorUnary } from './torch';
import { carryDtype, carryOperatorDtype, integerIndex, torchName } from './dtypes';
import { dataOperator, dataUnary, dropData } from './tensorData';
import {
  describe,
  fromValue,
  intOf,
  intV,
  NONE,
  strV,
  toValue,
  unknown,
  type CallArgs,
  type ClassObj,
  type FunctionObj,
  type ModuleEnv,
  type ModuleObj,
  type Scope,
  type SourceFile,
  type Unknown,
  type V,
} from './values';
import type { SeparableOptions } from '../../cost';

export type Phase = 'module' | 'discover' | 'init' | 'forward';

type Completion =
  | { type: 'normal' }
  | { type: 'return'; value: V }
  | { type: 'break' }
  | { type: 'continue' }
  /** `raised`: the code raises here (a path the model cannot have taken, when it builds) */
  | { type: 'stop'; why: string; raised?: boolean };

const NORMAL: Completion = { type: 'normal' };

export interface Stop {
  phase: Phase;
  why: string;
}

/** An example input: a module called with a tensor made by `torch.randn(...)` and friends. */
export interface Example {
  m: ModuleObj;
  input: number[];
  line: number;
}

export function named(node: Node | null | undefined): Node[] {
  return node ? (node.namedChildren.filter((n) => n !== null && n.type !== 'comment') as Node[]) : [];
}

/** A short quote of the code at `node` for messages. */
export function snippet(node: Node): string {
  const first = node.text.split('\n')[0].trim();
  const more = node.text.includes('\n') || first.length > 60;
  return `\`${first.length > 60 ? first.slice(0, 57) : first}${more ? '…' : ''}\``;
}

/** `if __name__ == "__main__":` */
export function isMainGuard(stmt: Node): boolean {
  if (stmt.type !== 'if_statement') return false;
  const cond = stmt.childForFieldName('condition')?.text.replace(/\s+/g, '') ?? '';
  return /^__name__==["']__main__["']$|^["']__main__["']==__name__$/.test(cond);
}

const MAX_DEPTH = 64;
/** Wall time for one model's build or run, and for a file's whole shape inference (milliseconds). */
export const MODEL_MS = 15_000;
export const FILE_MS = 60_000;
/** Modules one model may build (the largest torchvision model builds under 2,000). */
const MAX_MODULES = 20_000;

/** A stop reason that says a budget ran out (`spent()` words them all so). */
export const isBudgetStop = (why: string): boolean => why.includes('(budget: ');

/** undecidable conditions explored inside one another (each doubles the work) */
const MAX_EXPLORE = 6;

export class Interp {
  phase: Phase = 'module';
  steps = 0;
  budget = 400_000;
  /**
   * The budgets one model's build or run gets (`startBudget`), whatever the source does: steps,
   * wall time (never past the file's own deadline) and modules made; past one, the next statement
   * stops with "budget: ...", and what the model built so far is unknown with that reason.
   */
  private deadline = Infinity;
  fileDeadline = Infinity;
  private modulesMade = 0;
  private exhausted: string | undefined;
  stops: Stop[] = [];
  examples: Example[] = [];
  /** user functions and classes called since the last reset, for telling factories from helpers */
  invoked = new Set<FunctionObj | ClassObj>();
  /** when set, every name looked up (what a run depends on, for re-running only what an edit touches) */
  touched: Set<string> | undefined;
  /**
   * The entry file's plain `def` and `class` statements are run when their name is first looked up
   * (a run of one model in a file of hundreds of classes). Set before the first `moduleEnv`; only
   * where no top-level name is bound twice (`lazyUnsafe` says so), as then order cannot matter.
   */
  lazyDefinitions = false;
  lazyUnsafe = false;
  /**
   * A build or a forward pass wrote to a global, a class or a plain object: what one model does may
   * then change what the next one finds, and a model cannot be run again alone.
   */
  sharedWrites = false;
  private depth = 0;
  /** undecidable conditions being explored, innermost last */
  private exploring = 0;
  /** per running user function: values returned on one side of an undecidable condition */
  private readonly pendingReturns: V[][] = [];
  private nextId = 1;
  private readonly envs = new Map<string, ModuleEnv>();
  /** the file whose top-level statements run now (imports run theirs in turn) */
  private topLevelOf: SourceFile | undefined;
  /** the outermost user call that returned each module, for naming models built in examples */
  readonly origins = new Map<ModuleObj, { callee: V; at: Node; stops: string[] }>();

  constructor(
    readonly program: Program,
    readonly costOptions: SeparableOptions,
    /** `--assume name=N`: overrides parameter defaults, as for the static evaluation of arguments */
    readonly assumptions: Record<string, number> = {},
  ) {}

  private readonly pragmaCache = new Map<SourceFile, ReturnType<typeof intPragmas>>();

  /**
   * A value the user gave for a parameter left at its default: `--assume`, a pragma on the line of
   * the class the function belongs to, or a file-wide pragma (as the static evaluator reads them).
   */
  private userValue(f: FunctionObj, name: string): V | undefined {
    if (name in this.assumptions) return intV(this.assumptions[name]);
    const file = f.env.file;
    let p = this.pragmaCache.get(file);
    if (!p) this.pragmaCache.set(file, (p = intPragmas(file.text)));
    const own = f.owner ? p.byRow.get(f.owner.node.startPosition.row) : undefined;
    const v = own?.[name] ?? p.file[name];
    return v === undefined ? undefined : intV(v);
  }

  // ---------------------------------------------------------------------------------------------
  // modules (files)

  /** Runs a file's top level once (the `__main__` guard is left for discovery) and returns its namespace. */
  moduleEnv(file: SourceFile): ModuleEnv {
    const key = file.path || '<buffer>';
    const known = this.envs.get(key);
    if (known) return known;
    const env: ModuleEnv = { file, globals: new Map(), name: file === this.program.entry ? '__main__' : path.basename(file.path, '.py') };
    this.envs.set(key, env);
    env.globals.set('__name__', strV(env.name));
    const saved = this.phase;
    const savedFile = this.topLevelOf;
    this.phase = 'module';
    this.topLevelOf = file;
    const scope = this.moduleScope(env);
    const lazy = this.lazyDefinitions && file === this.program.entry;
    const bound = new Set<string>();
    const opaque: Node[] = [];
    const deferred: string[] = [];
    const assigned = new Set<string>();
    for (const stmt of named(file.root)) {
      // a statement that starts with `class X` or `def X` defines X (read off the text: in a file of
      // hundreds of classes a node query per statement costs more than the run of one model)
      const name = lazy ? definedAt(file.text, stmt.startIndex) : undefined;
      if (name) {
        // a plain definition: run when first looked up
        if (bound.has(name)) this.lazyUnsafe = true;
        bound.add(name);
        env.globals.set(name, this.lazyDefinition(stmt, name, scope, file));
        deferred.push(name);
        continue;
      }
      if (isMainGuard(stmt)) continue;
      if (lazy) {
        const names = topLevelNames(stmt);
        if (!names) opaque.push(stmt);
        for (const n of names ?? []) {
          if (bound.has(n)) this.lazyUnsafe = true;
          bound.add(n);
          if (!stmt.type.startsWith('import')) assigned.add(n);
        }
        // `CFG.update(...)` after a definition whose body may have read CFG: order matters
        const mutated = mutatedName(stmt);
        if (mutated && assigned.has(mutated) && deferred.length) this.lazyUnsafe = true;
      }
      this.execStmt(stmt, scope);
    }
    // a name bound both by a definition and inside an `if` or `try` at the top level: order matters
    if (lazy && opaque.some((stmt) => deferred.some((name) => new RegExp(`\\b${name}\\b`).test(stmt.text)))) this.lazyUnsafe = true;
    this.phase = saved;
    this.topLevelOf = savedFile;
    return env;
  }

  /** A `def` or `class` statement run on the first lookup of its name, as the module's top level would. */
  private lazyDefinition(stmt: Node, name: string, scope: Scope, file: SourceFile): V {
    let done: V | undefined;
    return {
      kind: 'lazy',
      get: () => {
        if (done) return done;
        done = unknown(`\`${name}\` is defined in terms of itself`);
        const [phase, top] = [this.phase, this.topLevelOf];
        this.phase = 'module';
        this.topLevelOf = file;
        try {
          this.execStmt(stmt, scope);
        } finally {
          this.phase = phase;
          this.topLevelOf = top;
        }
        const v = scope.env.globals.get(name);
        done = v && v.kind !== 'lazy' ? v : done;
        return done;
      },
    };
  }

  moduleScope(env: ModuleEnv): Scope {
    return { vars: env.globals, parent: undefined, env, fn: undefined, self: undefined };
  }

  newId(): number {
    return this.nextId++;
  }

  // ---------------------------------------------------------------------------------------------
  // failures

  /** An unknown value that says where and why: "shape unknown after line N: `code` (detail)". */
  fail(at: Node, detail?: string): V {
    return unknown(`shape unknown after line ${at.startPosition.row + 1}: ${snippet(at)}${detail ? ` (${detail})` : ''}`);
  }

  private stopAt(at: Node, detail: string): Completion & { type: 'stop' } {
    const why = `shape unknown after line ${at.startPosition.row + 1}: ${snippet(at)} (${detail})`;
    this.stops.push({ phase: this.phase, why });
    return { type: 'stop', why };
  }

  /** A call the interpreter cannot enter: in `forward`, modules handed to it may run unseen. */
  opaque(at: Node, a: CallArgs, detail: string): V {
    const v = this.fail(at, detail);
    // it may change tensors handed to it
    for (const x of [...a.args, ...a.kwargs.values()]) dropData(x);
    if (this.phase === 'forward' && [...a.args, ...a.kwargs.values()].some((x) => x.kind === 'module' || (x.kind === 'bound' && x.self.kind === 'module'))) {
      this.stops.push({ phase: this.phase, why: (v as { why: string }).why + ' — modules passed to it may run unseen' });
    }
    return v;
  }

  /** A fresh budget for one model's build, run or discovery. */
  startBudget(): void {
    this.steps = 0;
    this.modulesMade = 0;
    this.exhausted = undefined;
    this.deadline = Math.min(performance.now() + MODEL_MS, this.fileDeadline);
  }

  /** Why the current budget is spent, if it is (checked at every statement and loop step). */
  private spent(): string | undefined {
    if (this.exhausted) return this.exhausted;
    if (++this.steps > this.budget) return (this.exhausted = `budget: more than ${this.budget.toLocaleString('en-US')} steps`);
    if ((this.steps & 1023) === 0 && performance.now() > this.deadline) {
      return (this.exhausted = this.deadline === this.fileDeadline ? `budget: the file's ${FILE_MS / 1000} s of shape inference were used up` : `budget: more than ${MODEL_MS / 1000} s for one model`);
    }
    return undefined;
  }

  /** Marks the budget spent from a place that cannot stop by itself (a module or an item too many). */
  overBudget(why: string): void {
    this.exhausted ??= `budget: ${why}`;
  }

  private tick(at: Node): Completion | undefined {
    const why = this.spent();
    return why ? this.stopAt(at, why) : undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // statements

  execBlock(block: Node | null, scope: Scope): Completion {
    if (!block) return NORMAL;
    for (const stmt of named(block)) {
      const c = this.execStmt(stmt, scope);
      if (c.type !== 'normal') return c;
    }
    return NORMAL;
  }

  execStmt(stmt: Node, scope: Scope): Completion {
    const over = this.tick(stmt);
    if (over) return over;
    switch (stmt.type) {
      case 'expression_statement':
        for (const e of named(stmt)) {
          if (e.type === 'assignment') this.assignment(e, scope);
          else if (e.type === 'augmented_assignment') this.augmented(e, scope);
          else this.eval(e, scope);
        }
        return NORMAL;
      case 'if_statement':
        return this.ifStatement(stmt, scope);
      case 'for_statement':
        return this.forStatement(stmt, scope);
      case 'while_statement':
        return this.whileStatement(stmt, scope);
      case 'return_statement': {
        const e = named(stmt)[0];
        return { type: 'return', value: e ? this.eval(e, scope) : NONE };
      }
      case 'pass_statement':
        return NORMAL;
      case 'break_statement':
        return { type: 'break' };
      case 'continue_statement':
        return { type: 'continue' };
      case 'raise_statement':
        return this.phase === 'module' ? NORMAL : { ...this.stopAt(stmt, 'the code raises here'), raised: true };
      case 'with_statement': {
        for (const item of stmt.descendantsOfType('with_item')) {
          if (!item) continue;
          const value = item.childForFieldName('value');
          if (value?.type === 'as_pattern') {
            const v = this.eval(named(value)[0], scope);
            const target = value.descendantsOfType('as_pattern_target')[0];
            const t = target ? named(target)[0] : undefined;
            if (t) this.assignTarget(t, v.kind === 'unknown' ? v : this.fail(value, 'context manager value'), scope);
          } else if (value) this.eval(value, scope);
        }
        return this.execBlock(stmt.childForFieldName('body'), scope);
      }
      case 'try_statement': {
        const c = this.execBlock(stmt.childForFieldName('body'), scope);
        if (c.type !== 'normal') return c;
        for (const clause of named(stmt)) {
          if (clause.type === 'else_clause' || clause.type === 'finally_clause') {
            const r = this.execBlock(clause.childForFieldName('body') ?? named(clause).find((n) => n.type === 'block') ?? null, scope);
            if (r.type !== 'normal') return r;
          }
        }
        return NORMAL;
      }
      case 'function_definition':
        this.defineFunction(stmt, scope, []);
        return NORMAL;
      case 'class_definition':
        this.defineClass(stmt, scope);
        return NORMAL;
      case 'decorated_definition': {
        const def = stmt.childForFieldName('definition')!;
        const decorators = named(stmt)
          .filter((d) => d.type === 'decorator')
          .map((d) => d.text.replace(/^@\s*/, '').replace(/\s+/g, ''));
        if (def.type === 'function_definition') this.defineFunction(def, scope, decorators);
        else if (def.type === 'class_definition') this.defineClass(def, scope, decorators.some((d) => /^(dataclasses\.)?dataclass\b/.test(d)));
        return NORMAL;
      }
      case 'import_statement':
        this.importStatement(stmt, scope);
        return NORMAL;
      case 'import_from_statement':
        this.importFrom(stmt, scope);
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
        return this.deleteStatement(stmt, scope);
      case 'assert_statement': {
        const t = this.truthy(this.eval(named(stmt)[0], scope));
        return t === false && this.phase !== 'module' ? { ...this.stopAt(stmt, 'the assertion fails'), raised: true } : NORMAL;
      }
      case 'future_import_statement':
      case 'type_alias_statement':
        return NORMAL;
      default:
        // a statement the interpreter does not follow could change anything after it
        return this.stopAt(stmt, `\`${stmt.type.replace(/_statement$/, '')}\` is not followed`);
    }
  }

  /** `del x`, `del d[k]`, `del self.block`: what PyTorch's `__delattr__` and the containers do. */
  private deleteStatement(stmt: Node, scope: Scope): Completion {
    const targets = named(stmt).flatMap((t) => (t.type === 'expression_list' ? named(t) : [t]));
    for (const t of targets) {
      if (t.type === 'identifier') {
        const owner = scope.globals?.has(t.text) ? scope.env.globals : scope.vars;
        owner.delete(t.text);
        continue;
      }
      if (t.type === 'attribute') {
        const obj = this.eval(t.childForFieldName('object')!, scope);
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
        const obj = this.eval(t.childForFieldName('value')!, scope);
        const key = this.subscriptKey(t, scope);
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
      return this.stopAt(t, '`del` of this is not followed');
    }
    return NORMAL;
  }

  private ifStatement(stmt: Node, scope: Scope): Completion {
    const arms: { cond: Node | undefined; body: Node | null }[] = [{ cond: stmt.childForFieldName('condition')!, body: stmt.childForFieldName('consequence') }];
    for (const alt of named(stmt)) {
      if (alt.type === 'elif_clause') arms.push({ cond: alt.childForFieldName('condition')!, body: alt.childForFieldName('consequence') });
      else if (alt.type === 'else_clause') arms.push({ cond: undefined, body: alt.childForFieldName('body') ?? named(alt).find((n) => n.type === 'block') ?? null });
    }
    return this.ifArms(arms, 0, scope);
  }

  /** The arms of an `if`/`elif`/`else` from arm `i` on; a condition that cannot be decided explores both sides. */
  private ifArms(arms: { cond: Node | undefined; body: Node | null }[], i: number, scope: Scope): Completion {
    for (; i < arms.length; i++) {
      const { cond, body } = arms[i];
      if (!cond) return this.execBlock(body, scope);
      const t = this.truthy(this.eval(cond, scope));
      if (t === true) return this.execBlock(body, scope);
      if (t === undefined) {
        const rest = i + 1;
        const nodes = arms.slice(i).flatMap((arm) => [arm.cond, arm.body]);
        return this.explore(cond, scope, nodes, [() => this.execBlock(body, scope), () => this.ifArms(arms, rest, scope)]);
      }
    }
    return NORMAL;
  }

  /**
   * Runs each side of an undecidable condition from the same state and joins them (branches.ts):
   * a side that raises is a path the model did not take; values the sides agree on stay known.
   */
  private explore(cond: Node, scope: Scope, nodes: (Node | null | undefined)[], sides: (() => Completion)[]): Completion {
    if (this.exploring >= MAX_EXPLORE) return this.stopAt(cond, `the condition cannot be decided (${MAX_EXPLORE} undecidable conditions nested)`);
    // what the sides can reach: the values of the names they read
    const roots: V[] = [];
    const names = new Set<string>();
    for (const n of nodes) for (const id of n ? n.descendantsOfType('identifier') : []) if (id) names.add(id.text);
    for (const name of names) {
      let found: V | undefined;
      for (let s: Scope | undefined = scope; s && found === undefined; s = s.parent) found = s.vars.get(name);
      found ??= scope.env.globals.get(name);
      if (found && found.kind !== 'lazy') roots.push(found);
    }
    const snap = new HeapSnapshot(scope, roots);
    this.steps += snap.size;
    const spent = this.spent();
    if (spent) return this.stopAt(cond, spent);
    const why = `${snippet(cond)} (line ${cond.startPosition.row + 1})`;
    const from = this.stops.length;
    const ends: { c: Completion; state: HeapState; stops: Stop[] }[] = [];
    this.exploring++;
    try {
      for (const side of sides) {
        snap.restore();
        const c = side();
        ends.push({ c, state: snap.capture(), stops: this.stops.splice(from) });
      }
    } finally {
      this.exploring--;
    }
    const live = ends.filter((e) => !(e.c.type === 'stop' && e.c.raised));
    const only = live.length === 0 ? ends[0] : (live.find((e) => e.c.type === 'stop') ?? (live.length === 1 ? live[0] : undefined));
    if (only) {
      snap.apply(only.state);
      this.stops.push(...only.stops);
      return only.c;
    }
    const { structural } = snap.join(
      live.map((e) => e.state),
      why,
    );
    const seen = new Set<string>();
    for (const s of live.flatMap((e) => e.stops)) if (!seen.has(s.why) && seen.add(s.why)) this.stops.push(s);
    for (const s of structural) this.stops.push({ phase: this.phase, why: `shape unknown after line ${cond.startPosition.row + 1}: ${s}` });
    const types = new Set(live.map((e) => e.c.type));
    const returned = live.flatMap((e) => (e.c.type === 'return' ? [e.c.value] : []));
    if (types.size === 1 && types.has('return')) return { type: 'return', value: joinValues(returned, why) };
    if (types.size === 1) return live[0].c;
    if ([...types].every((t) => t === 'normal' || t === 'return') && this.pendingReturns.length) {
      // one side returns, the other goes on: the function's result is the join of both
      this.pendingReturns[this.pendingReturns.length - 1].push(...returned);
      return NORMAL;
    }
    return this.stopAt(cond, 'the condition cannot be decided and its sides leave differently');
  }

  private forStatement(stmt: Node, scope: Scope): Completion {
    const right = stmt.childForFieldName('right')!;
    const items = this.iterate(this.eval(right, scope), right);
    if (!Array.isArray(items)) return this.stopAt(right, `cannot iterate: ${items.why}`);
    const left = stmt.childForFieldName('left')!;
    const body = stmt.childForFieldName('body');
    for (const item of items) {
      const over = this.tick(stmt);
      if (over) return over;
      this.assignTarget(left, item, scope);
      const c = this.execBlock(body, scope);
      if (c.type === 'break') return NORMAL;
      if (c.type === 'continue' || c.type === 'normal') continue;
      return c;
    }
    return this.loopElse(stmt, scope);
  }

  /** The `else:` of a loop that ran to its end without `break`. */
  private loopElse(stmt: Node, scope: Scope): Completion {
    const alt = stmt.childForFieldName('alternative');
    return alt ? this.execBlock(alt.childForFieldName('body') ?? named(alt).find((n) => n.type === 'block') ?? null, scope) : NORMAL;
  }

  private whileStatement(stmt: Node, scope: Scope): Completion {
    const cond = stmt.childForFieldName('condition')!;
    const body = stmt.childForFieldName('body');
    for (;;) {
      const over = this.tick(stmt);
      if (over) return over;
      const t = this.truthy(this.eval(cond, scope));
      if (t === undefined) return this.stopAt(cond, 'the loop condition cannot be decided');
      if (!t) break;
      const c = this.execBlock(body, scope);
      if (c.type === 'break') return NORMAL;
      if (c.type === 'continue' || c.type === 'normal') continue;
      return c;
    }
    return this.loopElse(stmt, scope);
  }

  // ---------------------------------------------------------------------------------------------
  // assignment

  private assignment(node: Node, scope: Scope): void {
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
    const v = this.eval(r, scope);
    for (const t of targets) this.assignTarget(t, v, scope);
  }

  private augmented(node: Node, scope: Scope): void {
    const left = node.childForFieldName('left')!;
    const op = node.childForFieldName('operator')!.text.replace(/=$/, '');
    const cur = this.eval(left, scope);
    const rhs = this.eval(node.childForFieldName('right')!, scope);
    // a ModuleList += iterable extends it in place (maxvit's `self.layers += [...]`)
    if (op === '+' && cur.kind === 'module' && cur.m.native?.type === 'ModuleList') {
      callModuleMethod(this, cur, 'extend', { args: [rhs], kwargs: new Map() }, node);
      return;
    }
    // list += iterable extends in place (VGG's `layers += [conv, relu]`)
    if (op === '+' && cur.kind === 'list') {
      const items = this.iterate(rhs, node);
      if (Array.isArray(items)) {
        cur.items.push(...items);
        return;
      }
    }
    const result = this.binop(op, cur, rhs, node);
    // `x += 1` changes the tensor in place: its aliases no longer hold the values it had
    dropData(cur);
    this.assignTarget(left, result, scope);
  }

  assignTarget(target: Node, v: V, scope: Scope): void {
    switch (target.type) {
      case 'identifier':
        this.setName(target.text, v, scope);
        return;
      case 'attribute': {
        const obj = this.eval(target.childForFieldName('object')!, scope);
        this.setAttr(obj, target.childForFieldName('attribute')!.text, v);
        return;
      }
      case 'subscript': {
        const obj = this.eval(target.childForFieldName('value')!, scope);
        const key = this.subscriptKey(target, scope);
        this.setItem(obj, key, v, target);
        return;
      }
      case 'parenthesized_expression': {
        const inner = named(target)[0];
        if (inner) this.assignTarget(inner, v, scope);
        return;
      }
      case 'pattern_list':
      case 'tuple_pattern':
      case 'list_pattern':
      case 'tuple':
      case 'list':
      case 'expression_list': {
        const parts = named(target);
        const items = this.iterate(v, target);
        const star = parts.findIndex((p) => p.type === 'list_splat_pattern' || p.type === 'list_splat');
        if (!Array.isArray(items)) {
          for (const p of parts) this.assignTarget(star >= 0 && p === parts[star] ? named(p)[0] : p, items, scope);
          return;
        }
        if (star < 0) {
          if (items.length !== parts.length) {
            const bad = this.fail(target, `unpacking ${items.length} values into ${parts.length} names`);
            for (const p of parts) this.assignTarget(p, bad, scope);
            return;
          }
          parts.forEach((p, i) => this.assignTarget(p, items[i], scope));
          return;
        }
        const after = parts.length - star - 1;
        parts.slice(0, star).forEach((p, i) => this.assignTarget(p, items[i] ?? this.fail(target), scope));
        this.assignTarget(named(parts[star])[0], { kind: 'list', items: items.slice(star, items.length - after) }, scope);
        parts.slice(star + 1).forEach((p, i) => this.assignTarget(p, items[items.length - after + i] ?? this.fail(target), scope));
        return;
      }
      default:
        return;
    }
  }

  private setName(name: string, v: V, scope: Scope): void {
    if (scope.globals?.has(name)) {
      if (this.phase !== 'module') this.sharedWrites = true;
      scope.env.globals.set(name, v);
    } else if (scope.nonlocals?.has(name)) {
      let s = scope.parent;
      while (s && !s.vars.has(name)) s = s.parent;
      (s ?? scope).vars.set(name, v);
    } else scope.vars.set(name, v);
  }

  setAttr(obj: V, name: string, v: V): void {
    if (obj.kind === 'module') {
      const m = obj.m;
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
        if (v.kind === 'unknown' && (m.modules.has(name) || this.phase !== 'forward')) {
          // an unknown value may be a module or a parameter: the count can no longer be trusted
          m.modules.delete(name);
          m.params.set(name, `\`${name}\` may hold parameters: ${v.why}`);
        } else if (typeof m.params.get(name) === 'string') m.params.delete(name);
        m.attrs.set(name, v);
      }
    } else if (obj.kind === 'object') {
      if (this.phase !== 'module') this.sharedWrites = true;
      obj.o.attrs.set(name, v);
    } else if (obj.kind === 'class') {
      if (this.phase !== 'module') this.sharedWrites = true;
      obj.c.attrs.set(name, v);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // definitions

  private defineFunction(node: Node, scope: Scope, decorators: string[]): void {
    const name = node.childForFieldName('name')!.text;
    const f: FunctionObj = {
      name,
      node,
      env: scope.env,
      closure: scope.classOf ? scope.parent : scope,
      defaults: this.defaults(node.childForFieldName('parameters'), scope),
      owner: scope.classOf,
      kind: decorators.includes('staticmethod') ? 'staticmethod' : decorators.includes('classmethod') ? 'classmethod' : decorators.includes('property') ? 'property' : 'function',
    };
    this.setName(name, { kind: 'function', f }, scope);
  }

  private defaults(params: Node | null, scope: Scope): Map<string, V> {
    const out = new Map<string, V>();
    for (const p of named(params)) {
      if (p.type === 'default_parameter' || p.type === 'typed_default_parameter') {
        out.set(p.childForFieldName('name')!.text, this.eval(p.childForFieldName('value')!, scope));
      }
    }
    return out;
  }

  private defineClass(node: Node, scope: Scope, dataclass = false): void {
    const name = node.childForFieldName('name')!.text;
    const bases = named(node.childForFieldName('superclasses'))
      .filter((b) => b.type !== 'keyword_argument')
      .map((b) => this.eval(b, scope));
    const c: ClassObj = { id: this.newId(), name, node, env: scope.env, bases, attrs: new Map() };
    c.attrs.set('__name__', strV(name));
    const classScope: Scope = { vars: c.attrs, parent: scope, env: scope.env, fn: undefined, self: undefined, classOf: c };
    this.execBlock(node.childForFieldName('body'), classScope);
    if (this.mro(c).some((x) => typeof x === 'string' && /^enum\.(Enum|IntEnum|StrEnum|Flag|IntFlag)$/.test(x))) this.enumMembers(c);
    if (dataclass) {
      // fields: the annotated names of the body, in order (`width: int = 16`)
      c.fields = named(node.childForFieldName('body'))
        .map((st) => (st.type === 'expression_statement' ? named(st)[0] : undefined))
        .filter((a): a is Node => a?.type === 'assignment' && !!a.childForFieldName('type') && a.childForFieldName('left')?.type === 'identifier')
        .map((a) => a.childForFieldName('left')!.text);
    }
    this.setName(name, { kind: 'class', c }, scope);
  }

  /**
   * An Enum's plain class attributes are its members: instances of the class with `name` and
   * `value` (torchvision's weights enums: `ResNet50_Weights.IMAGENET1K_V1`, checked with isinstance).
   */
  private enumMembers(c: ClassObj): void {
    for (const [name, v] of c.attrs) {
      if (name.startsWith('_') || ['function', 'bound', 'class', 'native'].includes(v.kind)) continue;
      const attrs = new Map<string, V>([
        ['name', strV(name)],
        ['_name_', strV(name)],
        ['value', v],
        ['_value_', v],
      ]);
      c.attrs.set(name, { kind: 'object', o: { cls: c, attrs } });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // imports

  private importStatement(stmt: Node, scope: Scope): void {
    for (const n of named(stmt)) {
      if (n.type === 'aliased_import') {
        const dotted = n.childForFieldName('name')!.text.replace(/\s+/g, '');
        this.setName(n.childForFieldName('alias')!.text, this.lazyImport(scope.env, 0, dotted, undefined), scope);
      } else if (n.type === 'dotted_name') {
        const dotted = n.text.replace(/\s+/g, '');
        const head = dotted.split('.')[0];
        this.setName(head, this.lazyImport(scope.env, 0, head, undefined), scope);
      }
    }
  }

  private importModule(env: ModuleEnv, dots: number, dotted: string): V {
    const file = this.program.resolve(env.file.path, dots, dotted);
    if (file) return { kind: 'pymodule', env: this.moduleEnv(file) };
    if (dots > 0) return unknown(`\`from ${'.'.repeat(dots)}${dotted} import\`: ${this.program.limited ? `not read, ${MAX_FILES} files were read already` : 'file not found'}`);
    return { kind: 'lib', path: dotted };
  }

  /** An imported name whose file runs only when the name is first read: most imports go unused. */
  private lazyImport(env: ModuleEnv, dots: number, dotted: string, name: string | undefined): V {
    let done: V | undefined;
    return {
      kind: 'lazy',
      get: () => {
        if (done) return done;
        done = unknown(`shape unknown after importing \`${name ?? dotted}\` (an import cycle)`);
        const from = this.importModule(env, dots, dotted);
        if (name === undefined || from.kind !== 'pymodule') done = from;
        else done = force(from.env.globals.get(name) ?? this.importModule(env, dots, dotted ? `${dotted}.${name}` : name));
        return done;
      },
    };
  }

  private importFrom(stmt: Node, scope: Scope): void {
    const moduleNode = stmt.childForFieldName('module_name')!;
    let dots = 0;
    let dotted = moduleNode.text.replace(/\s+/g, '');
    if (moduleNode.type === 'relative_import') {
      const prefix = named(moduleNode).find((n) => n.type === 'import_prefix');
      dots = prefix ? prefix.text.length : 0;
      dotted = dotted.slice(dots);
    }
    // a user file is only run when one of its names is read (or for `import *`)
    const local = dots > 0 || this.program.resolve(scope.env.file.path, dots, dotted) !== null;
    const star = named(stmt).some((n) => n.type === 'wildcard_import');
    const from: V = local && !star ? NONE : this.importModule(scope.env, dots, dotted);
    const bind = (name: string, alias: string) => {
      let v: V;
      if (local && !star) {
        v = this.lazyImport(scope.env, dots, dotted, name);
      } else if (from.kind === 'pymodule') {
        v = from.env.globals.get(name) ?? this.importModule(scope.env, dots, dotted ? `${dotted}.${name}` : name);
      } else if (from.kind === 'lib') {
        v = { kind: 'lib', path: `${dotted}.${name}` };
      } else {
        v = from;
      }
      this.setName(alias, v, scope);
    };
    for (const n of named(stmt)) {
      if (n.id === moduleNode.id) continue;
      if (n.type === 'aliased_import') bind(n.childForFieldName('name')!.text, n.childForFieldName('alias')!.text);
      else if (n.type === 'dotted_name') bind(n.text, n.text);
      else if (n.type === 'wildcard_import' && from.kind === 'pymodule') {
        for (const [k, v] of from.env.globals) if (!k.startsWith('_')) this.setName(k, v, scope);
      } else if (n.type === 'wildcard_import' && from.kind === 'lib' && canonical(dotted) === 'torch.nn') {
        scope.env.globals.set('__star_torch_nn__', { kind: 'lib', path: 'torch.nn' });
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // expressions

  eval(node: Node, scope: Scope): V {
    switch (node.type) {
      case 'integer': {
        const t = node.text.replace(/_/g, '').toLowerCase();
        if (t.endsWith('j')) return this.fail(node, 'complex number');
        const n = Number(t);
        return Number.isSafeInteger(n) ? intV(n) : this.fail(node, 'integer too large');
      }
      case 'float': {
        const t = node.text.replace(/_/g, '');
        return /j$/i.test(t) ? this.fail(node, 'complex number') : { kind: 'float', value: Number(t) };
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
        return this.string(node, scope);
      case 'concatenated_string': {
        let s = '';
        for (const part of named(node)) {
          const v = this.string(part, scope);
          if (v.kind !== 'str') return v;
          s += v.value;
        }
        return strV(s);
      }
      case 'identifier':
        return this.lookup(node.text, scope, node);
      case 'attribute':
        return this.getAttr(this.eval(node.childForFieldName('object')!, scope), node.childForFieldName('attribute')!.text, node);
      case 'subscript':
        return this.getItem(this.eval(node.childForFieldName('value')!, scope), this.subscriptKey(node, scope), node);
      case 'call':
        return this.evalCall(node, scope);
      case 'binary_operator':
        return this.binop(node.childForFieldName('operator')!.text, this.eval(node.childForFieldName('left')!, scope), this.eval(node.childForFieldName('right')!, scope), node);
      case 'unary_operator': {
        const op = node.childForFieldName('operator')!.text;
        const v = this.eval(node.childForFieldName('argument')!, scope);
        if (v.kind === 'unknown') return v;
        if (v.kind === 'tensor') return (op === '-' ? dataUnary('neg', v) : undefined) ?? tensorUnary(v);
        if (op === '+') return v;
        if (op === '-') return this.binop('*', v, intV(-1), node);
        if (op === '~' && intOf(v) !== undefined) return intV(~intOf(v)!);
        return this.fail(node, `\`${op}\` on ${describe(v)}`);
      }
      case 'not_operator': {
        const t = this.truthy(this.eval(node.childForFieldName('argument')!, scope));
        return t === undefined ? this.fail(node, 'cannot decide the condition') : { kind: 'bool', value: !t };
      }
      case 'boolean_operator': {
        const op = node.childForFieldName('operator')!.text;
        const left = this.eval(node.childForFieldName('left')!, scope);
        const t = this.truthy(left);
        if (t === undefined) return left.kind === 'unknown' ? left : this.fail(node, 'cannot decide the condition');
        if (op === 'and') return t ? this.eval(node.childForFieldName('right')!, scope) : left;
        return t ? left : this.eval(node.childForFieldName('right')!, scope);
      }
      case 'comparison_operator':
        return this.comparison(node, scope);
      case 'conditional_expression': {
        const [a, cond, b] = named(node);
        const t = this.truthy(this.eval(cond, scope));
        if (t === undefined) {
          const c = this.explore(cond, scope, [a, b], [a, b].map((e) => () => ({ type: 'return', value: this.eval(e, scope) })));
          return c.type === 'return' ? c.value : c.type === 'stop' ? unknown(c.why) : this.fail(cond, 'cannot decide the condition');
        }
        return this.eval(t ? a : b, scope);
      }
      case 'parenthesized_expression': {
        const inner = named(node)[0];
        return inner ? this.eval(inner, scope) : { kind: 'tuple', items: [] };
      }
      case 'tuple':
      case 'expression_list':
        return this.sequence(node, scope, 'tuple');
      case 'list':
      case 'set':
        return this.sequence(node, scope, 'list');
      case 'dictionary':
        return this.dictionary(node, scope);
      case 'list_comprehension':
      case 'set_comprehension':
      case 'generator_expression':
      case 'dictionary_comprehension':
        return this.comprehension(node, scope);
      case 'lambda':
        return {
          kind: 'function',
          f: { name: '<lambda>', node, env: scope.env, closure: scope, defaults: this.defaults(node.childForFieldName('parameters'), scope), owner: undefined, kind: 'function' },
        };
      case 'named_expression': {
        const v = this.eval(node.childForFieldName('value')!, scope);
        this.setName(node.childForFieldName('name')!.text, v, scope);
        return v;
      }
      case 'slice':
        return this.slice(node, scope);
      default:
        return this.fail(node, `${node.type.replace(/_/g, ' ')} is not followed`);
    }
  }

  private string(node: Node, scope: Scope): V {
    if (node.type !== 'string') return this.eval(node, scope);
    const start = named(node).find((c) => c.type === 'string_start')?.text ?? '';
    const raw = /r/i.test(start);
    if (/b/i.test(start)) return this.fail(node, 'bytes');
    let s = '';
    for (const part of named(node)) {
      if (part.type === 'string_content') s += part.text;
      else if (part.type === 'escape_sequence') s += raw ? part.text : unescape(part.text);
      else if (part.type === 'interpolation') {
        const e = part.childForFieldName('expression') ?? named(part)[0];
        const v = this.eval(e, scope);
        const spec = named(part).find((c) => c.type === 'format_specifier')?.text.replace(/^:/, '');
        const text = spec ? formatPercent(`%${spec.replace(/^([<>^]?)(\d*)([a-z]?)$/, '$2$3') || 's'}`, v) : pyStr(v);
        if (text === undefined) return this.fail(part, 'cannot format this value');
        s += text;
      }
    }
    return strV(s);
  }

  private sequence(node: Node, scope: Scope, kind: 'tuple' | 'list'): V {
    const items: V[] = [];
    for (const c of named(node)) {
      if (c.type === 'list_splat' || c.type === 'parenthesized_list_splat') {
        const inner = this.iterate(this.eval(named(c)[0], scope), c);
        if (!Array.isArray(inner)) return inner;
        items.push(...inner);
      } else items.push(this.eval(c, scope));
    }
    return { kind, items };
  }

  private dictionary(node: Node, scope: Scope): V {
    const entries: [V, V][] = [];
    for (const c of named(node)) {
      if (c.type === 'pair') {
        putEntry(entries, this.eval(c.childForFieldName('key')!, scope), this.eval(c.childForFieldName('value')!, scope));
      } else if (c.type === 'dictionary_splat') {
        const d = this.eval(named(c)[0], scope);
        if (d.kind !== 'dict') return d.kind === 'unknown' ? d : this.fail(c, '`**` of a non-dict');
        for (const [k, v] of d.entries) putEntry(entries, k, v);
      }
    }
    return { kind: 'dict', entries };
  }

  private comprehension(node: Node, scope: Scope): V {
    const inner: Scope = { vars: new Map(), parent: scope, env: scope.env, fn: scope.fn, self: scope.self };
    const body = node.childForFieldName('body')!;
    const clauses = named(node).filter((c) => c.type === 'for_in_clause' || c.type === 'if_clause');
    const out: V[] = [];
    const entries: [V, V][] = [];
    let failure: V | undefined;
    const run = (i: number): void => {
      if (failure) return;
      const spent = this.spent();
      if (spent) {
        failure = unknown(this.stopAt(node, spent).why);
        return;
      }
      if (i === clauses.length) {
        if (body.type === 'pair') putEntry(entries, this.eval(body.childForFieldName('key')!, inner), this.eval(body.childForFieldName('value')!, inner));
        else out.push(this.eval(body, inner));
        return;
      }
      const clause = clauses[i];
      if (clause.type === 'if_clause') {
        const t = this.truthy(this.eval(named(clause)[0], inner));
        if (t === undefined) failure = this.fail(clause, 'cannot decide the condition');
        else if (t) run(i + 1);
        return;
      }
      const right = clause.childForFieldName('right')!;
      const items = this.iterate(this.eval(right, inner), right);
      if (!Array.isArray(items)) {
        failure = items;
        return;
      }
      for (const item of items) {
        this.assignTarget(clause.childForFieldName('left')!, item, inner);
        run(i + 1);
      }
    };
    run(0);
    if (failure) return failure;
    return node.type === 'dictionary_comprehension' ? { kind: 'dict', entries } : { kind: 'list', items: out };
  }

  private slice(node: Node, scope: Scope): V {
    // children in order: [start] ':' [stop] [':' [step]]
    const parts: (Node | undefined)[] = [undefined];
    for (let i = 0; i < node.childCount; i++) {
      const c = node.child(i)!;
      if (c.type === ':') parts.push(undefined);
      else if (c.isNamed && c.type !== 'comment') parts[parts.length - 1] = c;
    }
    const at = (i: number) => (parts[i] ? this.eval(parts[i], scope) : NONE);
    return { kind: 'slice', start: at(0), stop: at(1), step: at(2) };
  }

  private subscriptKey(node: Node, scope: Scope): V {
    const subs = node.childrenForFieldName('subscript').filter((n) => n !== null);
    if (subs.length === 1) return this.eval(subs[0], scope);
    return { kind: 'tuple', items: subs.map((s) => this.eval(s, scope)) };
  }

  lookup(name: string, scope: Scope, at: Node): V {
    this.touched?.add(name);
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      const v = s.vars.get(name);
      if (v !== undefined) return v.kind === 'lazy' ? resolved(s.vars, name, v) : v;
    }
    const g = scope.env.globals.get(name);
    if (g !== undefined) return g.kind === 'lazy' ? resolved(scope.env.globals, name, g) : g;
    if (scope.env.globals.has('__star_torch_nn__') && isNnClass(`torch.nn.${name}`)) return { kind: 'lib', path: `torch.nn.${name}` };
    // like the core's detection, a snippet's `torch`, `nn` and `F` are PyTorch's when nothing binds them
    const implicit: Record<string, string> = { torch: 'torch', nn: 'torch.nn', F: 'torch.nn.functional' };
    if (implicit[name]) return { kind: 'lib', path: implicit[name] };
    return builtinValue(name) ?? this.fail(at, `\`${name}\` is not defined`);
  }

  truthy(v: V): boolean | undefined {
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

  // ---------------------------------------------------------------------------------------------
  // operators

  binop(op: string, l: V, r: V, at: Node): V {
    if (l.kind === 'unknown') return l;
    if (r.kind === 'unknown') return r;
    if (l.kind === 'tensor' || r.kind === 'tensor') return dataOperator(op, l, r) ?? carryOperatorDtype(op, l, r, tensorBinary(this, op, l, r, at));
    if (op === '+' && l.kind === r.kind && (l.kind === 'list' || l.kind === 'tuple')) {
      return { kind: l.kind, items: [...l.items, ...(r as { items: V[] }).items] };
    }
    if (op === '*' && (l.kind === 'list' || l.kind === 'tuple') && intOf(r) !== undefined) {
      return { kind: l.kind, items: Array.from({ length: Math.max(0, intOf(r)!) }, () => l.items).flat() };
    }
    if (op === '*' && (r.kind === 'list' || r.kind === 'tuple') && intOf(l) !== undefined) return this.binop(op, r, l, at);
    if (l.kind === 'str') {
      if (op === '+' && r.kind === 'str') return strV(l.value + r.value);
      if (op === '*' && intOf(r) !== undefined) return strV(l.value.repeat(Math.max(0, intOf(r)!)));
      if (op === '%') {
        const s = formatPercent(l.value, r);
        return s === undefined ? this.fail(at, 'string formatting') : strV(s);
      }
    }
    if (op === '/' && intOf(r) === 0) return this.fail(at, 'division by zero');
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
    if (v.kind === 'unknown') return this.fail(at, v.why);
    if (v.kind === 'int' && !v.poly.isConstant) return this.fail(at, 'symbolic value');
    return v;
  }

  private comparison(node: Node, scope: Scope): V {
    const operands = named(node);
    const ops = node.childrenForFieldName('operators').filter((n) => n !== null);
    let left = this.eval(operands[0], scope);
    let result: V = { kind: 'bool', value: true };
    for (let i = 0; i < ops.length; i++) {
      const right = this.eval(operands[i + 1], scope);
      const r = this.compare(ops[i].type, left, right, node);
      if (r.kind !== 'bool') return r;
      if (!r.value) return r;
      result = r;
      left = right;
    }
    return result;
  }

  compare(op: string, a: V, b: V, at: Node): V {
    const bool = (x: boolean): V => ({ kind: 'bool', value: x });
    if (op === 'is' || op === 'is not') {
      const same = identical(a, b);
      if (same === undefined) return a.kind === 'unknown' ? a : b.kind === 'unknown' ? b : this.fail(at, 'identity of these values');
      return bool(op === 'is' ? same : !same);
    }
    if (op === 'in' || op === 'not in') {
      const found = this.contains(b, a);
      if (found === undefined) return b.kind === 'unknown' ? b : a.kind === 'unknown' ? a : this.fail(at, `\`in\` on ${describe(b)}`);
      return bool(op === 'in' ? found : !found);
    }
    if (a.kind === 'unknown') return a;
    if (b.kind === 'unknown') return b;
    if (a.kind === 'tensor' || b.kind === 'tensor') return dataOperator(op, a, b) ?? tensorCompare(this, a, b, at);
    if (op === '==' || op === '!=') {
      const eq = valuesEqual(a, b);
      if (eq === undefined) return this.fail(at, 'comparison');
      return bool(op === '==' ? eq : !eq);
    }
    const x = a.kind === 'float' ? a.value : intOf(a);
    const y = b.kind === 'float' ? b.value : intOf(b);
    if (x === undefined || y === undefined) {
      if (a.kind === 'str' && b.kind === 'str') {
        const r: Record<string, boolean> = { '<': a.value < b.value, '>': a.value > b.value, '<=': a.value <= b.value, '>=': a.value >= b.value };
        if (op in r) return bool(r[op]);
      }
      return this.fail(at, 'comparison');
    }
    const r: Record<string, boolean> = { '<': x < y, '>': x > y, '<=': x <= y, '>=': x >= y, '<>': x !== y };
    return op in r ? bool(r[op]) : this.fail(at, `operator ${op}`);
  }

  private contains(container: V, item: V): boolean | undefined {
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

  // ---------------------------------------------------------------------------------------------
  // attributes and items

  getAttr(obj: V, name: string, at: Node): V {
    switch (obj.kind) {
      case 'unknown':
        return obj;
      case 'module':
        return this.moduleAttr(obj, name, at);
      case 'object': {
        const own = obj.o.attrs.get(name);
        if (own !== undefined) return own;
        const member = this.classMember(obj.o.cls, name, obj, at);
        if (member !== undefined) return member;
        // a class's own `__getattr__` answers what is not found
        const fallback = name.startsWith('__') ? undefined : this.classMember(obj.o.cls, '__getattr__', obj, at);
        return fallback ? this.call(fallback, { args: [strV(name)], kwargs: new Map() }, at) : this.fail(at, `${obj.o.cls.name} has no attribute \`${name}\``);
      }
      case 'class':
        return this.classMember(obj.c, name, undefined, at) ?? this.fail(at, `class ${obj.c.name} has no attribute \`${name}\``);
      case 'super':
        return this.superAttr(obj, name, at);
      case 'lib':
        return libAttr(obj.path, name);
      case 'pymodule': {
        const v = obj.env.globals.get(name);
        if (v !== undefined) return v.kind === 'lazy' ? resolved(obj.env.globals, name, v) : v;
        const file = this.program.resolve(obj.env.file.path, 1, name);
        return file ? { kind: 'pymodule', env: this.moduleEnv(file) } : this.fail(at, `module ${obj.env.name} has no \`${name}\``);
      }
      case 'tensor':
        return tensorAttribute(this, obj, name, at);
      case 'native':
        // `object.__getattribute__(obj, name)` (an enum's `__getattr__` reading its value's fields)
        if (obj.name === 'builtins.object' && name === '__getattribute__') return { kind: 'native', name: 'builtins.getattr' };
        return this.fail(at, `${describe(obj)} has no attribute \`${name}\``);
      default:
        return methodValue(obj, name) ?? this.fail(at, `${describe(obj)} has no attribute \`${name}\``);
    }
  }

  private moduleAttr(obj: V & { kind: 'module' }, name: string, at: Node): V {
    const m = obj.m;
    if (m.modules.has(name)) {
      const sub = m.modules.get(name);
      return sub ? { kind: 'module', m: sub } : NONE;
    }
    const own = m.attrs.get(name);
    if (own !== undefined) return own;
    if (m.cls) {
      const member = this.classMember(m.cls, name, obj, at, true);
      if (member !== undefined) return member;
    }
    if (name === 'training') return { kind: 'bool', value: false };
    if (name === '__class__') return m.cls ? { kind: 'class', c: m.cls } : { kind: 'lib', path: `torch.nn.${m.native?.type ?? 'Module'}` };
    return nativeModuleAttribute(this, obj, name, at);
  }

  /** The class order: the class, then its bases depth-first left to right, each class once (its last place). */
  mro(c: ClassObj): (ClassObj | string)[] {
    const out: (ClassObj | string)[] = [];
    const visit = (x: ClassObj | string, depth: number) => {
      if (depth > 30) return;
      out.push(x);
      if (typeof x === 'string') return;
      for (const b of x.bases) {
        if (b.kind === 'class') visit(b.c, depth + 1);
        else if (b.kind === 'lib') visit(canonical(b.path), depth + 1);
      }
    };
    visit(c, 0);
    return out.filter((x, i) => out.lastIndexOf(x) === i);
  }

  /** The torch.nn class a user class derives from (`torch.nn.Module`, `torch.nn.Sequential`, ...), if any. */
  nnBase(c: ClassObj): string | undefined {
    for (const x of this.mro(c)) if (typeof x === 'string' && isNnClass(x)) return x;
    return undefined;
  }

  /**
   * A class member seen from an instance (`self`) or the class: user methods are bound, static
   * methods not, properties are called. With `inheritedOnly` lookups stop at torch.nn bases.
   */
  private classMember(c: ClassObj, name: string, self: V | undefined, at: Node, _instance = false, after?: ClassObj): V | undefined {
    let started = after === undefined;
    for (const x of this.mro(c)) {
      if (!started) {
        started = x === after;
        continue;
      }
      if (typeof x === 'string') continue;
      const v = x.attrs.get(name);
      if (v === undefined) continue;
      if (v.kind === 'function') {
        if (v.f.kind === 'staticmethod') return v;
        if (v.f.kind === 'classmethod') return { kind: 'bound', self: { kind: 'class', c }, f: v.f };
        if (v.f.kind === 'property') return self ? this.callFunction(v.f, { args: [self], kwargs: new Map() }, at) : v;
        return self ? { kind: 'bound', self, f: v.f } : v;
      }
      return v;
    }
    return undefined;
  }

  private superAttr(s: V & { kind: 'super' }, name: string, at: Node): V {
    const self = s.self;
    const cls = self.kind === 'module' ? self.m.cls : self.kind === 'object' ? self.o.cls : self.kind === 'class' ? self.c : undefined;
    if (!cls) return this.fail(at, '`super()` outside a method');
    const member = this.classMember(cls, name, self.kind === 'class' ? undefined : self, at, true, s.after);
    if (member !== undefined) return member;
    // past the user classes: the torch.nn base
    const base = this.nnBase(cls);
    if (base && self.kind === 'module') {
      if (name === '__init__') return { kind: 'native', name: 'nn.__init__', self, partial: { args: [{ kind: 'lib', path: base }], kwargs: new Map() } };
      return nativeModuleAttribute(this, self, name, at, true);
    }
    if (name === '__init__') {
      // a @dataclass base: its generated __init__
      const order = this.mro(cls);
      const data = order.slice(order.indexOf(s.after) + 1).find((x): x is ClassObj => typeof x !== 'string' && !!x.fields);
      if (data && self.kind === 'object') return { kind: 'native', name: 'dataclass.__init__', self, partial: { args: [{ kind: 'class', c: data }], kwargs: new Map() } };
      return { kind: 'native', name: 'builtins.noop' };
    }
    return this.fail(at, `super() has no attribute \`${name}\``);
  }

  getItem(obj: V, key: V, at: Node): V {
    if (obj.kind === 'unknown') return obj;
    if (key.kind === 'unknown') return key;
    switch (obj.kind) {
      case 'tuple':
      case 'list':
      case 'str': {
        const items: V[] = obj.kind === 'str' ? [...obj.value].map(strV) : obj.items;
        if (key.kind === 'slice') {
          const idx = sliceIndices(key, items.length);
          if (!idx) return this.fail(at, 'slice bounds');
          const picked = idx.map((i) => items[i]);
          if (obj.kind === 'str') return strV(picked.map((p) => (p as { value: string }).value).join(''));
          return { kind: obj.kind, items: picked };
        }
        const i = intOf(key);
        if (i === undefined) return this.fail(at, 'index is not an integer');
        const item = items[i < 0 ? items.length + i : i];
        return item ?? this.fail(at, `index ${i} out of range`);
      }
      case 'dict': {
        const hit = obj.entries.find(([k]) => valuesEqual(k, key) === true);
        return hit ? hit[1] : this.fail(at, `key ${pyStr(key) ?? '?'} not found`);
      }
      case 'module': {
        const t = obj.m.native?.type;
        const children = [...obj.m.modules.entries()].filter(([, m]) => m !== null) as [string, ModuleObj][];
        if (t === 'ModuleDict') {
          if (key.kind !== 'str') return this.fail(at, 'ModuleDict key');
          const m = obj.m.modules.get(key.value);
          return m ? { kind: 'module', m } : this.fail(at, `no module \`${key.value}\``);
        }
        if (t === 'Sequential' || t === 'ModuleList') {
          if (key.kind === 'slice') {
            const idx = sliceIndices(key, children.length);
            if (!idx) return this.fail(at, 'slice bounds');
            const m = this.newModule(undefined, { type: t, params: 0, attrs: new Map(), data: {} }, undefined);
            // a slice keeps the original names (PyTorch's OrderedDict slice)
            for (const i of idx) m.modules.set(children[i][0], children[i][1]);
            return { kind: 'module', m };
          }
          const i = intOf(key);
          if (i === undefined) return this.fail(at, 'index is not an integer');
          const hit = children[i < 0 ? children.length + i : i];
          return hit ? { kind: 'module', m: hit[1] } : this.fail(at, `index ${i} out of range`);
        }
        return this.fail(at, `${describe(obj)} is not subscriptable`);
      }
      case 'tensor':
        {
          // an integer tensor key gathers (`table[index]`); a mask or an untyped tensor is left to tensorItem
          const gathered = integerIndex(obj, key);
          return carryDtype('getitem', [obj], undefined, gathered ? { kind: 'tensor', shape: gathered.shape } : tensorItem(this, obj, key, at));
        }
      case 'lib':
        return obj; // typing.List[int] and friends
      case 'class':
        return obj; // Generic[T]
      default:
        return this.fail(at, `${describe(obj)} is not subscriptable`);
    }
  }

  private setItem(obj: V, key: V, v: V, at: Node): void {
    dropData(obj);
    if (obj.kind === 'list') {
      const i = intOf(key);
      if (i !== undefined && obj.items[i < 0 ? obj.items.length + i : i] !== undefined) obj.items[i < 0 ? obj.items.length + i : i] = v;
    } else if (obj.kind === 'dict') {
      putEntry(obj.entries, key, v);
    } else if (obj.kind === 'module' && v.kind === 'module') {
      if (key.kind === 'str') obj.m.modules.set(key.value, v.m);
      else if (intOf(key) !== undefined) {
        const names = [...obj.m.modules.keys()];
        const i = intOf(key)!;
        const name = names[i < 0 ? names.length + i : i];
        if (name !== undefined) obj.m.modules.set(name, v.m);
      }
    }
    void at;
  }

  /** The items a `for` walks over, or an unknown value saying why not. */
  iterate(v: V, at: Node): V[] | Unknown {
    switch (v.kind) {
      case 'unknown':
        return v;
      case 'list':
      case 'tuple':
        return [...v.items];
      case 'str':
        return [...v.value].map(strV);
      case 'dict':
        return v.entries.map(([k]) => k);
      case 'module': {
        const t = v.m.native?.type;
        if (t === 'ModuleDict') return [...v.m.modules.keys()].map(strV);
        if (t === 'Sequential' || t === 'ModuleList') return [...v.m.modules.values()].filter((m) => m !== null).map((m) => ({ kind: 'module', m: m }));
        return this.fail(at, `${describe(v)} is not iterable`) as Unknown;
      }
      case 'tensor': {
        const n = typeof v.shape[0] === 'number' ? v.shape[0] : undefined;
        if (n === undefined || n > 4096) return this.fail(at, 'iterating over a tensor') as Unknown;
        return Array.from({ length: n }, () => ({ kind: 'tensor', shape: v.shape.slice(1) }));
      }
      default:
        return this.fail(at, `${describe(v)} is not iterable`) as Unknown;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // calls

  private evalCall(node: Node, scope: Scope): V {
    const fnNode = node.childForFieldName('function')!;
    const argsNode = node.childForFieldName('arguments');
    if (fnNode.type === 'identifier' && fnNode.text === 'super' && !scope.vars.has('super') && !scope.env.globals.has('super')) {
      return this.makeSuper(argsNode, scope, node);
    }
    let fn = this.eval(fnNode, scope);
    // a callee that is not defined (`lib.op`): say so about the call, not the name alone
    const own = fn.kind === 'unknown' ? /^shape unknown after line (\d+): `([^`]*)` \((.*)\)$/s.exec(fn.why) : null;
    if (own && Number(own[1]) === fnNode.startPosition.row + 1 && fnNode.text.startsWith(own[2])) fn = this.fail(node, own[3]);
    const a = this.evalArgs(argsNode, scope);
    if (!('args' in a)) return a;
    const before = this.stops.length;
    const v = this.call(fn, a, node);
    // remember the outermost user call that returned a module (a model built in an example)
    if (v.kind === 'module' && (fn.kind === 'class' || fn.kind === 'function')) {
      this.origins.set(v.m, { callee: fn, at: node, stops: this.stops.slice(before).map((s) => s.why) });
    }
    return v;
  }

  private makeSuper(argsNode: Node | null, scope: Scope, at: Node): V {
    const args = named(argsNode);
    if (args.length === 2) {
      const cls = this.eval(args[0], scope);
      const self = this.eval(args[1], scope);
      if (cls.kind === 'class') return { kind: 'super', self, after: cls.c };
      return this.fail(at, '`super()` of a non-class');
    }
    let s: Scope | undefined = scope;
    while (s && !s.fn) s = s.parent;
    const owner = s?.fn?.owner;
    if (!owner || !s?.self) return this.fail(at, '`super()` outside a method');
    return { kind: 'super', self: s.self, after: owner };
  }

  evalArgs(node: Node | null, scope: Scope): CallArgs | Unknown {
    const out: CallArgs = { args: [], kwargs: new Map() };
    if (!node) return out;
    if (node.type === 'generator_expression') {
      out.args.push(this.eval(node, scope));
      return out;
    }
    for (const a of named(node)) {
      if (a.type === 'list_splat') {
        const items = this.iterate(this.eval(named(a)[0], scope), a);
        if (!Array.isArray(items)) return items;
        out.args.push(...items);
      } else if (a.type === 'dictionary_splat') {
        const d = this.eval(named(a)[0], scope);
        if (d.kind !== 'dict') return (d.kind === 'unknown' ? d : this.fail(a, '`**` of a non-dict')) as Unknown;
        for (const [k, v] of d.entries) if (k.kind === 'str') out.kwargs.set(k.value, v);
      } else if (a.type === 'keyword_argument') {
        out.kwargs.set(a.childForFieldName('name')!.text, this.eval(a.childForFieldName('value')!, scope));
      } else {
        out.args.push(this.eval(a, scope));
      }
    }
    return out;
  }

  call(fn: V, a: CallArgs, at: Node): V {
    switch (fn.kind) {
      case 'function':
        return this.callFunction(fn.f, a, at);
      case 'bound':
        return this.callFunction(fn.f, { args: [fn.self, ...a.args], kwargs: a.kwargs }, at);
      case 'class':
        return this.instantiate(fn.c, a, at);
      case 'native':
        return callBuiltin(this, fn, a, at);
      case 'lib':
        {
          const p = canonical(fn.path);
          const short = torchName(p);
          const r = callTorch(this, p, undefined, a, at);
          return short ? carryDtype(short, a.args, a, r) : r;
        }
      case 'module':
        return this.callModule(fn.m, a, at);
      case 'object': {
        const call = this.classMember(fn.o.cls, '__call__', fn, at);
        return call ? this.call(call, a, at) : this.fail(at, `${fn.o.cls.name} is not callable`);
      }
      case 'unknown':
        // the first cause is the reason; modules handed to it may run unseen
        this.opaque(at, a, 'a call of an unknown function');
        return fn;
      default:
        return this.fail(at, `${describe(fn)} is not callable`);
    }
  }

  callFunction(f: FunctionObj, a: CallArgs, at: Node): V {
    // a body that does not run at all is a stop: what it would have built or run is missing
    if (this.depth >= MAX_DEPTH) return unknown(this.stopAt(at, 'calls nested too deeply').why);
    this.invoked.add(f);
    const scope: Scope = { vars: new Map(), parent: f.closure, env: f.env, fn: f, self: undefined };
    const err = this.bind(f, a, scope);
    if (err) return this.phase === 'module' || this.phase === 'discover' ? this.fail(at, `${f.name}(): ${err}`) : unknown(this.stopAt(at, `${f.name}(): ${err}`).why);
    const body = f.node.childForFieldName('body')!;
    if (isGenerator(f.node)) return this.fail(at, `${f.name}() is a generator, which is not followed`);
    this.depth++;
    try {
      if (f.node.type === 'lambda') return this.eval(body, scope);
      this.pendingReturns.push([]);
      const c = this.execBlock(body, scope);
      const pending = this.pendingReturns.pop()!;
      if (c.type === 'stop') return unknown(c.why);
      const value = c.type === 'return' ? c.value : NONE;
      return pending.length ? joinValues([value, ...pending], `the conditions of ${f.name}()`) : value;
    } finally {
      this.depth--;
    }
  }

  /** Binds call arguments to a function's parameters; a message when they do not fit. */
  private bind(f: FunctionObj, a: CallArgs, scope: Scope): string | undefined {
    const params = named(f.node.childForFieldName('parameters'));
    const kw = new Map(a.kwargs);
    let i = 0;
    let keywordOnly = false;
    let first = true;
    for (const p of params) {
      let kind = p.type;
      let inner = p;
      if (kind === 'typed_parameter' && named(p)[0] && named(p)[0].type !== 'identifier') {
        inner = named(p)[0]!;
        kind = inner.type;
      }
      if (kind === 'list_splat_pattern') {
        scope.vars.set(named(inner)[0].text, { kind: 'tuple', items: a.args.slice(i) });
        i = a.args.length;
        keywordOnly = true;
        continue;
      }
      if (kind === 'dictionary_splat_pattern') {
        scope.vars.set(named(inner)[0].text, { kind: 'dict', entries: [...kw].map(([k, v]) => [strV(k), v]) });
        kw.clear();
        continue;
      }
      if (kind === 'keyword_separator') {
        keywordOnly = true;
        continue;
      }
      if (kind === 'positional_separator') continue;
      const name = p.type === 'identifier' ? p.text : (p.childForFieldName('name')?.text ?? named(p)[0]?.text);
      if (!name) continue;
      let v: V | undefined;
      if (!keywordOnly && i < a.args.length) {
        v = a.args[i++];
        if (kw.has(name)) return `got multiple values for \`${name}\``;
      } else if (kw.has(name)) {
        v = kw.get(name);
        kw.delete(name);
      } else if (f.defaults.has(name)) {
        v = this.userValue(f, name) ?? f.defaults.get(name);
      } else {
        return `missing argument \`${name}\``;
      }
      scope.vars.set(name, v!);
      if (first) scope.self = v;
      first = false;
    }
    if (i < a.args.length) return 'too many positional arguments';
    if (kw.size > 0) return `unexpected keyword argument \`${[...kw.keys()][0]}\``;
    return undefined;
  }

  newModule(cls: ClassObj | undefined, native: ModuleObj['native'], site: Node | undefined): ModuleObj {
    if (++this.modulesMade > MAX_MODULES) this.overBudget(`more than ${MAX_MODULES.toLocaleString('en-US')} modules built for one model`);
    return {
      id: this.newId(),
      cls,
      native,
      attrs: new Map(),
      modules: new Map(),
      params: new Map(),
      site: site ? { file: this.fileOf(site), start: site.startIndex, end: site.endIndex, line: site.startPosition.row } : undefined,
      calls: [],
    };
  }

  /** The file a node belongs to (nodes of every loaded file share no tree, so compare roots). */
  fileOf(node: Node): string {
    if (node.tree === this.program.entry.root.tree) return this.program.entry.path;
    for (const env of this.envs.values()) if (env.file.root.tree === node.tree) return env.file.path;
    return '';
  }

  instantiate(c: ClassObj, a: CallArgs, at: Node): V {
    this.invoked.add(c);
    const base = this.nnBase(c);
    if (base) {
      const m = this.newModule(c, undefined, at);
      const self: V = { kind: 'module', m };
      const init = this.classMember(c, '__init__', self, at);
      if (init) this.call(init, a, at);
      else if (base !== 'torch.nn.Module') initNative(this, m, base, a, at);
      return self;
    }
    // enum, NamedTuple, exceptions and other plain classes: attributes only
    const o: V = { kind: 'object', o: { cls: c, attrs: new Map() } };
    const init = this.classMember(c, '__init__', o, at);
    if (init) this.call(init, a, at);
    else if (c.fields) {
      const err = this.dataclassInit(c, o.o, a, at);
      if (err) return this.fail(at, `${c.name}(): ${err}`);
      const post = this.classMember(c, '__post_init__', o, at);
      if (post) this.call(post, { args: [], kwargs: new Map() }, at);
    }
    return o;
  }

  /** The `__init__` a `@dataclass` gets: fields by position or keyword, else their defaults. */
  dataclassInit(c: ClassObj, o: { attrs: Map<string, V> }, a: CallArgs, at: Node): string | undefined {
    const fields = c.fields!;
    if (a.args.length > fields.length) return 'too many positional arguments';
    for (const k of a.kwargs.keys()) if (!fields.includes(k)) return `unexpected keyword argument \`${k}\``;
    for (const [i, f] of fields.entries()) {
      let v = i < a.args.length ? a.args[i] : a.kwargs.get(f);
      if (v === undefined) {
        const dflt = this.classMember(c, f, undefined, at);
        if (dflt === undefined) return `missing argument \`${f}\``;
        if (dflt.kind === 'native' && dflt.name === 'dataclasses.field') {
          const factory = dflt.partial?.kwargs.get('default_factory');
          v = factory ? this.call(factory, { args: [], kwargs: new Map() }, at) : dflt.partial?.kwargs.get('default');
          if (v === undefined) return `missing argument \`${f}\``;
        } else v = dflt;
      }
      o.attrs.set(f, v);
    }
    return undefined;
  }

  /** `module(x, ...)`: the user's forward, or the library module's shape rule. */
  callModule(m: ModuleObj, a: CallArgs, at: Node): V {
    // an example run: in `__main__`, a function that makes a tensor, or top-level script or notebook
    // code of the analysed file (`print(model(torch.randn(1, 3, 32, 32)).shape)`)
    if (this.phase === 'discover' || (this.phase === 'module' && this.topLevelOf === this.program.entry)) {
      const x = a.args[0];
      if (x?.kind === 'tensor' && x.example) {
        const shape = x.shape.every((d) => typeof d === 'number') ? (x.shape) : undefined;
        if (shape) this.examples.push({ m, input: shape, line: x.example.line });
      }
      return unknown('not run during discovery');
    }
    if (m.cls) {
      const call = this.classMember(m.cls, '__call__', { kind: 'module', m }, at);
      if (call) return this.call(call, a, at);
      const fwd = this.classMember(m.cls, 'forward', { kind: 'module', m }, at);
      if (fwd) return this.call(fwd, a, at);
    }
    if (m.native) return forwardNative(this, m, a, at);
    // nothing ran: a stop, or the convs it would have run would look unused
    return unknown(this.stopAt(at, `${describe({ kind: 'module', m })} has no forward()`).why);
  }
}

const generators = new WeakMap<Node, boolean>();

/** A function whose own body (not a nested function's) yields. */
function isGenerator(fn: Node): boolean {
  let known = generators.get(fn);
  if (known === undefined) {
    known = fn.type === 'function_definition' && fn.descendantsOfType('yield').some((y) => {
      for (let p = y?.parent; p; p = p.parent) {
        if (p.type === 'function_definition' || p.type === 'lambda') return p.id === fn.id;
      }
      return false;
    });
    generators.set(fn, known);
  }
  return known;
}

/** A line that opens a class or a function: a pragma on it is that definition's, not the file's. */
export const DEFINITION_LINE = /^\s*(class|def|async\s+def)\s/;

/** Integer `# sepconv: name=N` pragmas: on a class or def line (by row), or file-wide. */
export function intPragmas(text: string): { byRow: Map<number, Record<string, number>>; file: Record<string, number> } {
  const byRow = new Map<number, Record<string, number>>();
  const file: Record<string, number> = {};
  for (const { line, row } of pragmaLines(text)) {
    const body = /#\s*sepconv:(.*)$/.exec(line)?.[1];
    if (!body) continue;
    const values: Record<string, number> = {};
    for (const m of body.matchAll(/([A-Za-z_][\w.]*)=(-?\d+)(?![\dxX×])/g)) values[m[1]] = Number(m[2]);
    if (DEFINITION_LINE.test(line)) byRow.set(row, values);
    else Object.assign(file, values);
  }
  return { byRow, file };
}

let lastPragmaLines: { text: string; lines: { line: string; row: number }[] } | undefined;

/**
 * The lines that mention `sepconv:`, with their 0-based rows: found by a text search, not a split of
 * every line; the last text's are kept (a run reads them for input and for integer pragmas).
 */
export function pragmaLines(text: string): { line: string; row: number }[] {
  if (lastPragmaLines?.text === text) return lastPragmaLines.lines;
  const out: { line: string; row: number }[] = [];
  let row = 0;
  let counted = 0;
  for (let at = text.indexOf('sepconv:'); at >= 0; at = text.indexOf('sepconv:', at + 1)) {
    const start = text.lastIndexOf('\n', at) + 1;
    for (let i = text.indexOf('\n', counted); i >= 0 && i < start; i = text.indexOf('\n', i + 1)) row++;
    counted = start;
    const end = text.indexOf('\n', at);
    if (out[out.length - 1]?.row !== row) out.push({ line: text.slice(start, end < 0 ? text.length : end), row });
  }
  lastPragmaLines = { text, lines: out };
  return out;
}

/**
 * The names a top-level statement binds: `def`/`class` names, assignment targets, imported names;
 * undefined for a compound statement (`if`, `try`, loops), whose bindings do not show.
 */
function topLevelNames(stmt: Node): string[] | undefined {
  const def = stmt.type === 'decorated_definition' ? stmt.childForFieldName('definition') : stmt;
  if (def && (def.type === 'class_definition' || def.type === 'function_definition')) return [def.childForFieldName('name')?.text ?? ''];
  if (stmt.type === 'import_statement' || stmt.type === 'import_from_statement') {
    return stmt.text.replace(/^[\s\S]*?\bimport\b/, '').split(',').map((part) => /(\w+)\s*\)?\s*$/.exec(part)?.[1] ?? '').filter(Boolean);
  }
  if (stmt.type !== 'expression_statement') return stmt.type.endsWith('_statement') && !['if_statement', 'for_statement', 'while_statement', 'try_statement', 'with_statement', 'match_statement'].includes(stmt.type) ? [] : undefined;
  const inner = named(stmt)[0];
  if (inner?.type === 'assignment' || inner?.type === 'augmented_assignment') {
    return (inner.childForFieldName('left')?.text ?? '').split(/[^\w]+/).filter((n) => /^[A-Za-z_]\w*$/.test(n));
  }
  return [];
}

const DEFINITION = /(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)/y;

/** The name a `def` or `class` statement starting at `offset` defines. */
function definedAt(text: string, offset: number): string | undefined {
  DEFINITION.lastIndex = offset;
  return DEFINITION.exec(text)?.[1];
}

/** `X` of a top-level `X.method(...)` statement (which may change what X holds). */
function mutatedName(stmt: Node): string | undefined {
  const call = stmt.type === 'expression_statement' ? named(stmt)[0] : undefined;
  const fn = call?.type === 'call' ? call.childForFieldName('function') : undefined;
  const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : undefined;
  return obj?.type === 'identifier' ? obj.text : undefined;
}

/** The value of a lazy import or definition, loaded now. */
function force(v: V): V {
  return v.kind === 'lazy' ? v.get() : v;
}

function resolved(vars: Map<string, V>, name: string, v: V): V {
  const r = force(v);
  vars.set(name, r);
  return r;
}

function unescape(seq: string): string {
  const map: Record<string, string> = { '\\n': '\n', '\\t': '\t', '\\\\': '\\', "\\'": "'", '\\"': '"', '\\r': '\r', '\\0': '\0' };
  return map[seq] ?? seq;
}

function putEntry(entries: [V, V][], k: V, v: V): void {
  const i = entries.findIndex(([x]) => valuesEqual(x, k) === true);
  if (i >= 0) entries[i] = [entries[i][0], v];
  else entries.push([k, v]);
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

/** Index list of a Python slice over `n` items. */
export function sliceIndices(s: V & { kind: 'slice' }, n: number): number[] | undefined {
  const get = (v: V) => (v.kind === 'none' ? undefined : intOf(v));
  if ((s.step.kind !== 'none' && get(s.step) === undefined) || (s.start.kind !== 'none' && get(s.start) === undefined) || (s.stop.kind !== 'none' && get(s.stop) === undefined)) {
    return undefined;
  }
  const step = get(s.step) ?? 1;
  if (step === 0) return undefined;
  const norm = (v: number | undefined, dflt: number, lo: number, hi: number) => {
    if (v === undefined) return dflt;
    const x = v < 0 ? v + n : v;
    return Math.min(Math.max(x, lo), hi);
  };
  const out: number[] = [];
  if (step > 0) {
    const start = norm(get(s.start), 0, 0, n);
    const stop = norm(get(s.stop), n, 0, n);
    for (let i = start; i < stop; i += step) out.push(i);
  } else {
    const start = norm(get(s.start), n - 1, -1, n - 1);
    const stop = norm(get(s.stop), -1, -1, n - 1);
    for (let i = start; i > stop; i += step) out.push(i);
  }
  return out;
}

function libAttr(base: string, name: string): V {
  const p = `${base}.${name}`;
  if (p === 'math.pi') return { kind: 'float', value: Math.PI };
  if (p === 'math.e') return { kind: 'float', value: Math.E };
  if (p === 'math.inf' || p === 'float.inf') return { kind: 'float', value: Infinity };
  return { kind: 'lib', path: p };
}

export function tensorNumel(t: V & { kind: 'tensor' }): number | string {
  let n = 1;
  for (const d of t.shape) {
    const v = typeof d === 'number' ? d : d.value;
    if (v === undefined) return 'a parameter whose size depends on the input';
    n *= v;
  }
  return n;
}

