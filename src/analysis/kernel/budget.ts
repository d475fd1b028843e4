/**
 * The interpreters' budgets, one mechanism for both: a `Budget` counts steps (and modules built)
 * against its limits and a wall-time deadline, and says why it ran out in one wording,
 * "budget: ...". The Python interpreter checks it at every statement and loop step and stops with
 * "shape unknown after line N: `code` (budget: ...)"; the TensorFlow.js interpreter checks it at every
 * node and, having no stop at expression level, throws `BudgetExceeded` with the same reason up to
 * its entry point, which notes "shapes unknown (budget: ...)" for the file.
 */
import { grouped } from '../digits';

export const MAX_DEPTH = 64;

/** Steps one Python model's build or run may take. */
export const MAX_STEPS = 400_000;

/** Wall time for one model's build or run, and for a file's whole shape inference (milliseconds). */
export const MODEL_MS = 15_000;

export const FILE_MS = 60_000;

/** Modules one model may build (the largest torchvision model builds under 2,000). */
export const MAX_MODULES = 20_000;

/**
 * Thrown out of an analysis whose result nobody wants any more (an editor's background run after
 * an edit): `ShapeSources.interrupted` said so at a budget check. Unlike a budget stop it is no
 * answer: the caller drops the analysis and keeps nothing of it.
 */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

let modelsRun = 0;

/** An interpreter ran one model (its forward pass on an input). */
export function countModelRun(): void {
  modelsRun++;
}

/** Models this thread's interpreters ran so far: how much work an analysis took (the editor's job log). */
export function modelRuns(): number {
  return modelsRun;
}

/** A stop reason that says a budget ran out (`Budget.spent()` words them all so). */
export const isBudgetStop = (why: string): boolean => why.includes('(budget: ');

/** undecidable conditions explored inside one another (each doubles the work) */
export const MAX_EXPLORE = 6;

export interface BudgetLimits {
  /** steps per run (between two `start()`s) */
  steps: number;
  /** wall time per run (ms); none when absent */
  runMs?: number;
  /** wall time for the whole file, from `startFile()` (ms); none when absent */
  fileMs?: number;
}

const count = (n: number): string => grouped(n);

/** What one run may spend; `spent()` says why it is over ("budget: ..."), once and for good until `start()`. */
export class Budget {
  steps = 0;
  /** modules built in this run (the Python interpreter counts them against MAX_MODULES) */
  modules = 0;
  exhausted: string | undefined;
  private deadline = Infinity;
  private fileDeadline = Infinity;

  constructor(readonly limits: BudgetLimits) {}

  /** The file's own deadline starts now; every run's keeps under it. */
  startFile(): void {
    if (this.limits.fileMs !== undefined) this.fileDeadline = performance.now() + this.limits.fileMs;
  }

  /** A fresh run: steps and modules from zero, its own deadline. */
  start(): void {
    this.steps = 0;
    this.modules = 0;
    this.exhausted = undefined;
    this.deadline = Math.min(this.limits.runMs === undefined ? Infinity : performance.now() + this.limits.runMs, this.fileDeadline);
  }

  /** Charges one step (and `extra` more: work done in bulk) and says why the budget is spent, if it is. */
  spent(extra = 0): string | undefined {
    if (this.exhausted) return this.exhausted;
    this.steps += 1 + extra;
    if (this.steps > this.limits.steps) return (this.exhausted = `budget: more than ${count(this.limits.steps)} steps`);
    if ((this.steps & 1023) === 0 && performance.now() > this.deadline) {
      return (this.exhausted =
        this.deadline === this.fileDeadline
          ? `budget: the file's ${(this.limits.fileMs ?? 0) / 1000} s of shape inference were used up`
          : `budget: more than ${(this.limits.runMs ?? 0) / 1000} s for one model`);
    }
    return undefined;
  }

  /** Marks the budget spent from a place that cannot stop by itself (a module or an item too many). */
  over(why: string): void {
    this.exhausted ??= `budget: ${why}`;
  }
}

// the TensorFlow.js interpreter's limits (one Budget for the whole file: no wall time, no fresh runs)

/** Thrown by the TensorFlow.js interpreter when its `Budget` is spent; the message is the budget's reason. */
export class BudgetExceeded extends Error {}

/** Evaluated nodes per file before the interpreter gives up (a pathological or generated file). */
export const TFJS_MAX_STEPS = 20_000;

/** Iterations of one loop that are unrolled. */
export const TFJS_MAX_ITERATIONS = 1_000;

export const TFJS_MAX_DEPTH = 40;
