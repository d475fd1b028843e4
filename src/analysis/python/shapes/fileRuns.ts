/**
 * Runs of whole files kept per thread: a folder's model files import each other's blocks, and a
 * file of blocks is decided on the models of the files importing it (shapes/index.ts), which the
 * same run (a command over a folder, an editor's workspace) analyses on their own too.
 */
import type { Tree } from 'web-tree-sitter';
import type { AnalysisOptions } from '../../options';
import { run, type ModelShapes, type RunTrace } from './models';
import { plainFile, Program, sameAnswers, type Answers, type ShapeSources } from './program';

/**
 * The models of `file` at `text`, nothing requested: the thread's last run of it, while the text,
 * the options and all the run asked of its sources (`sameAnswers`: every file it read, the
 * environment, folder listings, the paths named) are the same. With `trace` (the editor's record of
 * what each class looked up, in a document's memo that keeps the run) the run is made, not kept.
 */
export function fileModels(
  file: string,
  text: string,
  tree: Tree | undefined,
  sources: ShapeSources,
  options: AnalysisOptions,
  trace?: RunTrace,
): ModelShapes[] {
  const key = JSON.stringify(options);
  const known = file ? fileRuns.get(file) : undefined;
  if (!trace && known && known.text === text && known.options === key && sameAnswers(known.answers, sources)) {
    fileRuns.delete(file);
    fileRuns.set(file, known);
    return known.models;
  }
  // a document's tree is its caller's (not kept: an editor makes versions by the thousand); a file read by path is kept
  const program = new Program(plainFile(file, text, tree, !tree), sources, options.python);
  const models = run(program, program.entry, options, {}, trace);
  if (file && !trace) {
    fileRuns.delete(file);
    if (fileRuns.size >= MAX_FILE_RUNS) fileRuns.delete(fileRuns.keys().next().value as string);
    fileRuns.set(file, { text, options: key, answers: program.answers(), models });
  }
  return models;
}

/** Files whose last run the thread keeps (a folder's blocks are imported by a few files at a time). */
const MAX_FILE_RUNS = 64;
const fileRuns = new Map<string, { text: string; options: string; answers: Answers; models: ModelShapes[] }>();
