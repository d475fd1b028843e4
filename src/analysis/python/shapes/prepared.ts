/**
 * A document's top level run ahead of its models (the editor's newly opened file, the worker's
 * `prepare` job), and the interpreter that run leaves, kept per thread for the next run: a first
 * hover's run starts after the top level instead of running it again (models.ts `inferModels`).
 */
import type { AnalysisOptions } from '../../options';
import { newInterp, type Interp } from './interpreter';
import { Program, type ShapeSources } from './program';
import type { SourceFile } from './values';

/**
 * Runs the file's top level alone (its imports read, parsed and run; no model built): what every
 * later run of its models starts with, done ahead of them (an editor's newly opened file). The
 * interpreter it leaves is kept for the thread's next run, if that is of the same file (the same
 * copy of its text), options and answers of its sources (`takePrepared`): that run, a hover's,
 * starts after the top level instead of running it again.
 */
export function runTopLevel(entry: SourceFile, sources: ShapeSources, options: AnalysisOptions): void {
  dropPrepared();
  const program = new Program(entry, sources, options.python);
  const interp = newInterp(program, options);
  const touched = new Set<string>();
  interp.recordLookups(touched);
  try {
    interp.moduleEnv(entry);
  } catch (e) {
    program.dispose();
    throw e;
  }
  interp.recordLookups(undefined);
  prepared = { entry, options: withoutEnvironment(options), program, interp, touched };
}

/** An interpreter that has run a file's top level and nothing else, and the names that looked up. */
export interface Prepared {
  entry: SourceFile;
  options: string;
  program: Program;
  interp: Interp;
  touched: Set<string>;
}

/** The thread's last `runTopLevel`, until a run takes it. */
let prepared: Prepared | undefined;

/** Runs that started from a prepared top level (for tests). */
export const preparedRuns = { taken: 0 };

/** Lets go of the prepared interpreter (an idle worker: the run it was kept for did not come). */
export function dropPrepared(): void {
  prepared?.program.dispose();
  prepared = undefined;
}

/** The options but the Python environment, which the program compares itself (a top level may not have needed it). */
const withoutEnvironment = (options: AnalysisOptions): string => JSON.stringify({ ...options, python: undefined });

/**
 * The prepared interpreter for a run of `entry`, taken (a run changes it), if it was made for this
 * text, these options and these answers. Any run ends the preparation: the next run was not this one.
 */
export function takePrepared(entry: SourceFile, sources: ShapeSources, options: AnalysisOptions): Prepared | undefined {
  const p = prepared;
  if (!p) return undefined;
  prepared = undefined;
  if (p.entry !== entry || p.options !== withoutEnvironment(options) || !p.program.adopt(sources, options.python)) {
    p.program.dispose();
    return undefined;
  }
  // the file's deadline counts from this run's start, as a fresh interpreter's does
  p.interp.startFileClock();
  preparedRuns.taken++;
  return p;
}
