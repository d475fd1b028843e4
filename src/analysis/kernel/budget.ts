/** The interpreters' budgets: what one model's build or run may spend before it stops with "budget: ...". */

export const MAX_DEPTH = 64;

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

/** A stop reason that says a budget ran out (`spent()` words them all so). */
export const isBudgetStop = (why: string): boolean => why.includes('(budget: ');

/** undecidable conditions explored inside one another (each doubles the work) */
export const MAX_EXPLORE = 6;

// the TensorFlow.js interpreter's (it stops the file's evaluation by throwing `BudgetExceeded`)

/** Thrown when the TensorFlow.js interpreter's steps run out. */
export class BudgetExceeded extends Error {}

/** Evaluated nodes per file before the interpreter gives up (a pathological or generated file). */
export const TFJS_MAX_STEPS = 20_000;

/** Iterations of one loop that are unrolled. */
export const TFJS_MAX_ITERATIONS = 1_000;

export const TFJS_MAX_DEPTH = 40;
