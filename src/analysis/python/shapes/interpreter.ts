/**
 * An abstract interpreter for the Python that model code is written in: it runs `__init__` with
 * concrete arguments (assignments, `for` over range/lists/zip/enumerate, `if`, helper functions
 * and methods, user classes, containers) and then `forward` over tensors that carry only their
 * shape. Library calls go to `builtins.ts` (Python) and `torch/` (PyTorch, through the narrow `Host`). Whatever it cannot
 * follow becomes an `unknown` value with the reason, and a branch or loop that depends on one
 * stops the function it is in (recorded in `stops`): nothing is guessed.
 */
import type { Node } from 'web-tree-sitter';
import type { SeparableOptions } from '../../cost';
import type { AnalysisOptions } from '../../options';
import type { Host } from './host';
import type { Frame, MismatchFact, RecordedMismatch } from './mismatch';
import { snippet } from './nodes';
import { dropData } from './tensorData';
import { type Program } from './program';
import {
  intV,
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
import { Budget, FILE_MS, MAX_STEPS, MODEL_MS } from '../../kernel/budget';
import type { Completion as Ending } from '../../kernel/completion';
import { readPragmas, type Pragmas } from '../../kernel/pragmas';
import * as attributes from './attributes';
import { BuildMemo } from './buildMemo';
import * as calls from './calls';
import * as classes from './classes';
import * as expressions from './expressions';
import * as imports from './imports';
import * as statements from './statements';

export type Phase = 'module' | 'discover' | 'init' | 'forward';

export type Completion = Ending<V>;

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

/** A fresh interpreter for a run of `program` under `options`, the file's deadline starting now. */
export function newInterp(program: Program, options: AnalysisOptions): Interp {
  const cost: SeparableOptions = { depthMultiplier: options.depthMultiplier, norm: options.norm, countBiasAdds: options.countBiasAdds };
  const interp = new Interp(program, cost, options.assumptions);
  interp.startFileClock();
  return interp;
}

export class Interp implements Host {
  phase: Phase = 'module';
  /**
   * The budget one model's build or run gets (`startBudget`), whatever the source does: steps,
   * wall time (never past the file's own deadline) and modules made; past one, the next statement
   * stops with "budget: ...", and what the model built so far is unknown with that reason.
   */
  readonly budget = new Budget({ steps: MAX_STEPS, runMs: MODEL_MS, fileMs: FILE_MS });
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
  depth = 0;
  /**
   * Where discovery went otherwise than a build goes (a module called is not run; a call with
   * arguments that do not bind fails without a stop): a function discovery called without any is
   * built as a build would build it (models.ts keeps that module for its candidate).
   */
  discoveryDetours = 0;
  /** undecidable conditions being explored, innermost last */
  exploring = 0;
  /** per running user function: values returned on one side of an undecidable condition */
  readonly pendingReturns: V[][] = [];
  nextId = 1;
  readonly envs = new Map<string, ModuleEnv>();
  /** the file whose top-level statements run now (imports run theirs in turn) */
  topLevelOf: SourceFile | undefined;
  /** the user functions running in `forward`, outermost first: the chain of a mismatch */
  readonly frames: Frame[] = [];
  /** the mismatches the current run proved (`mismatch`), reset by the run's driver (models.ts) */
  mismatches: RecordedMismatch[] = [];
  /** builds of user module classes remembered by class and arguments (buildMemo.ts) */
  readonly memo = new BuildMemo();
  /** the outermost user call that returned each module, for naming models built in examples */
  readonly origins = new Map<ModuleObj, { callee: V; at: Node; stops: string[] }>();

  constructor(
    readonly program: Program,
    readonly costOptions: SeparableOptions,
    /** `--assume name=N`: overrides parameter defaults, as for the static evaluation of arguments */
    readonly assumptions: Record<string, number> = {},
  ) {}

  readonly pragmaCache = new Map<SourceFile, Pragmas>();

  /**
   * A value the user gave for a parameter left at its default: `--assume`, a pragma on the line of
   * the innermost enclosing `def` or `class` that has one (the function's own, its class), or a
   * file-wide pragma (kernel/pragmas.ts; the static evaluator reads them alike).
   */
  userValue(f: FunctionObj, name: string): V | undefined {
    if (name in this.assumptions) return intV(this.assumptions[name]);
    const file = f.env.file;
    let p = this.pragmaCache.get(file);
    if (!p) this.pragmaCache.set(file, (p = readPragmas(file.root, file.text, 'python')));
    let v: number | undefined;
    if (p.definitions.size) {
      // the plain tree's nodes know their parent (ancestry.ts walks web-tree-sitter trees only)
      for (let n: Node | null = f.node; n && v === undefined; n = n.parent) {
        if (n.type === 'function_definition' || n.type === 'class_definition') v = p.definitions.get(n.startPosition.row)?.ints[name];
      }
    }
    v ??= p.file.ints[name];
    return v === undefined ? undefined : intV(v);
  }

  // ---------------------------------------------------------------------------------------------
  // modules (files)

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

  /** A failed check with both sides known: kept (in `forward`, outside an explored branch), then `fail`. */
  mismatch(at: Node, fact: MismatchFact, detail: string): V {
    if (this.phase === 'forward' && this.exploring === 0) this.mismatches.push({ ...fact, at, frames: this.frames.slice() });
    return this.fail(at, detail);
  }

  stopAt(at: Node, detail: string): Completion & { type: 'stop' } {
    const why = `shape unknown after line ${at.startPosition.row + 1}: ${snippet(at)} (${detail})`;
    this.stops.push({ phase: this.phase, why });
    return { type: 'stop', why };
  }

  /** A call the interpreter cannot enter: in `forward`, modules handed to it may run unseen. */
  opaque(at: Node, a: CallArgs, detail: string): V {
    const v = this.fail(at, detail);
    // it may change tensors handed to it
    for (const x of [...a.args, ...a.kwargs.values()]) dropData(x);
    if (
      this.phase === 'forward' &&
      [...a.args, ...a.kwargs.values()].some((x) => x.kind === 'module' || (x.kind === 'bound' && x.self.kind === 'module'))
    ) {
      this.stops.push({ phase: this.phase, why: (v as { why: string }).why + ' — modules passed to it may run unseen' });
    }
    return v;
  }

  // ---------------------------------------------------------------------------------------------
  // driving a run (models.ts): phases, budgets, what was looked up

  /** The file's own deadline for shape inference starts now (FILE_MS); each model's budget keeps under it. */
  startFileClock(): void {
    this.budget.startFile();
  }

  /** The entry file's plain definitions run when first looked up (see `lazyDefinitions`). */
  runDefinitionsOnLookup(): void {
    this.lazyDefinitions = true;
  }

  /** Every name looked up from now on goes into `into` (none when undefined). */
  recordLookups(into: Set<string> | undefined): void {
    this.touched = into;
  }

  /**
   * Starts discovery, a model's build (`init`: the user code it calls recorded anew) or its run
   * (`forward`) with a fresh budget; returns the mark `stopsSince` counts from.
   */
  beginPhase(phase: Exclude<Phase, 'module'>): number {
    if (phase === 'init') this.invoked = new Set();
    this.startBudget();
    this.phase = phase;
    return this.stops.length;
  }

  /** Why the code stopped since `mark` (only the stops of `phase` when given). */
  stopsSince(mark: number, phase?: Phase): string[] {
    return this.stops
      .slice(mark)
      .filter((s) => phase === undefined || s.phase === phase)
      .map((s) => s.why);
  }

  /** A fresh budget for one model's build, run or discovery. */
  startBudget(): void {
    this.budget.start();
  }

  /** Why the current budget is spent, if it is (checked at every statement and loop step; `extra`: work done in bulk). */
  spent(extra = 0): string | undefined {
    const why = this.budget.spent(extra);
    // an edit may have made this run's result unwanted (the editor's background run): asked as often as the clock
    if ((this.budget.steps & 1023) === 0) this.program.checkInterrupt();
    return why;
  }

  /** Marks the budget spent from a place that cannot stop by itself (a module or an item too many). */
  overBudget(why: string): void {
    this.budget.over(why);
  }

  tick(at: Node): Completion | undefined {
    const why = this.spent();
    return why ? this.stopAt(at, why) : undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // statements

  // ---------------------------------------------------------------------------------------------
  // assignment

  // ---------------------------------------------------------------------------------------------
  // definitions

  // ---------------------------------------------------------------------------------------------
  // imports

  // ---------------------------------------------------------------------------------------------
  // expressions

  // ---------------------------------------------------------------------------------------------
  // operators

  // ---------------------------------------------------------------------------------------------
  // attributes and items

  // ---------------------------------------------------------------------------------------------
  // calls

  // ---------------------------------------------------------------------------------------------
  // the parts (statements.ts, expressions.ts, ...): one entry each that other files call

  moduleEnv(file: SourceFile): ModuleEnv {
    return imports.moduleEnv(this, file);
  }

  execBlock(block: Node | null, scope: Scope): Completion {
    return statements.execBlock(this, block, scope);
  }

  execStmt(stmt: Node, scope: Scope): Completion {
    return statements.execStmt(this, stmt, scope);
  }

  explore(cond: Node, scope: Scope, nodes: (Node | null | undefined)[], sides: (() => Completion)[]): Completion {
    return statements.explore(this, cond, scope, nodes, sides);
  }

  assignTarget(target: Node, v: V, scope: Scope): void {
    return statements.assignTarget(this, target, v, scope);
  }

  setName(name: string, v: V, scope: Scope): void {
    return statements.setName(this, name, v, scope);
  }

  setAttr(obj: V, name: string, v: V): void {
    return statements.setAttr(this, obj, name, v);
  }

  defineFunction(node: Node, scope: Scope, decorators: string[]): void {
    return classes.defineFunction(this, node, scope, decorators);
  }

  defaults(params: Node | null, scope: Scope): Map<string, V> {
    return classes.defaults(this, params, scope);
  }

  defineClass(node: Node, scope: Scope, dataclass = false): void {
    return classes.defineClass(this, node, scope, dataclass);
  }

  importStatement(stmt: Node, scope: Scope): void {
    return imports.importStatement(this, stmt, scope);
  }

  importFrom(stmt: Node, scope: Scope): void {
    return imports.importFrom(this, stmt, scope);
  }

  eval(node: Node, scope: Scope): V {
    return expressions.evaluate(this, node, scope);
  }

  subscriptKey(node: Node, scope: Scope): V {
    return expressions.subscriptKey(this, node, scope);
  }

  truthy(v: V): boolean | undefined {
    return expressions.truthy(v);
  }

  binop(op: string, l: V, r: V, at: Node): V {
    return expressions.binop(this, op, l, r, at);
  }

  compare(op: string, a: V, b: V, at: Node): V {
    return expressions.compare(this, op, a, b, at);
  }

  getAttr(obj: V, name: string, at: Node): V {
    return attributes.getAttr(this, obj, name, at);
  }

  mro(c: ClassObj): readonly (ClassObj | string)[] {
    return classes.mro(c);
  }

  nnBase(c: ClassObj): string | undefined {
    return classes.nnBase(c);
  }

  classMember(c: ClassObj, name: string, self: V | undefined, at: Node, _instance = false, after?: ClassObj): V | undefined {
    return classes.classMember(this, c, name, self, at, _instance, after);
  }

  superAttr(s: V & { kind: 'super' }, name: string, at: Node): V {
    return classes.superAttr(this, s, name, at);
  }

  getItem(obj: V, key: V, at: Node): V {
    return attributes.getItem(this, obj, key, at);
  }

  setItem(obj: V, key: V, v: V, at: Node): void {
    return attributes.setItem(obj, key, v, at);
  }

  iterate(v: V, at: Node): V[] | Unknown {
    return attributes.iterate(this, v, at);
  }

  evalCall(node: Node, scope: Scope): V {
    return calls.evalCall(this, node, scope);
  }

  makeSuper(argsNode: Node | null, scope: Scope, at: Node): V {
    return classes.makeSuper(this, argsNode, scope, at);
  }

  call(fn: V, a: CallArgs, at: Node): V {
    return calls.call(this, fn, a, at);
  }

  callFunction(f: FunctionObj, a: CallArgs, at: Node): V {
    return calls.callFunction(this, f, a, at);
  }

  newModule(cls: ClassObj | undefined, native: ModuleObj['native'], site: Node | undefined): ModuleObj {
    return classes.newModule(this, cls, native, site);
  }

  fileOf(node: Node): string {
    return calls.fileOf(this, node);
  }

  instantiate(c: ClassObj, a: CallArgs, at: Node): V {
    return classes.instantiate(this, c, a, at);
  }

  dataclassInit(c: ClassObj, o: { attrs: Map<string, V> }, a: CallArgs, at: Node): string | undefined {
    return classes.dataclassInit(this, c, o, a, at);
  }

  callModule(m: ModuleObj, a: CallArgs, at: Node): V {
    return calls.callModule(this, m, a, at);
  }
}
