/**
 * The messages between the language server's thread (`worker.ts`) and its analysis worker
 * (`analysisWorker.ts`): plain data, structured-cloned by `postMessage`.
 */
import type { Span } from '../analysis/model';
import type { AnyAnalysis } from '../analysis/analyze';
import type { MessagePort } from 'node:worker_threads';
import type { PythonEnvironment } from '../analysis/environment';
import type { AnalysisOptions } from '../analysis/options';
import type { LanguageId } from '../analysis/parsing';

/**
 * - `full`: the whole analysis with shape inference (lenses, actions, and hovers once typing paused)
 * - `focused`: the layers in `range` with the shapes of the full analysis, running again only the
 *   models an edit can have changed (`TreeCache.focusedAnalysis`), or with `at` (the hovered line)
 *   only the models that build its calls; may turn into `full`
 * - `static`: every layer without shape inference (what is left when `full` ran out of budget)
 * - `range`: the layers in `range` without shape inference (a large document's hints and hovers)
 * - `prepare`: what the others start with, done ahead (a document just opened): the parse, the
 *   static layers, the file's imports read and run; its answer is an empty analysis
 */
export type JobKind = 'full' | 'focused' | 'static' | 'range' | 'prepare';

export interface JobMessage {
  type: 'job';
  id: number;
  kind: JobKind;
  /** the document's (or notebook's) key and version, as the server's `Source` */
  key: string;
  version: string;
  /** the grammar of the text (of a framework that runs off the server's thread, `Framework.offThread`) */
  languageId: LanguageId;
  text: string;
  options: AnalysisOptions;
  range?: Span;
  /** a focused job's hovered line: without a full run to start from, only the models that build its calls run */
  at?: Span;
  /** the document's path on disk (shape inference reads its neighbours), if it is a file */
  file?: string;
  /**
   * the interpreter whose Python environment the server is still asking for (`options` has none):
   * a run that needs it (an import found neither beside the file nor among the modelled libraries)
   * waits for its answer (`WorkerData.environments`) a moment, else stops with `needs-environment`
   * and the server runs the job again with it; a run that ends without needing it, or with the
   * answer it waited for, is the one it would have made with it
   */
  environmentPending?: string;
}

export type ToWorker =
  | JobMessage
  /** unsaved texts of open files, by path (null: closed, read the disk again) */
  | { type: 'overlay'; files: Record<string, string | null> }
  /** a closed document: free its tree */
  | { type: 'drop'; key: string }
  /** the server is idle: compact the heap */
  | { type: 'collect' };

export type FromWorker =
  | { type: 'ready' }
  /** `full`: the analysis is the document's full one (cacheable as such) */
  | { type: 'done'; id: number; analysis: AnyAnalysis; full: boolean; models: number }
  | { type: 'failed'; id: number; error: string }
  /** the job was interrupted (the server set the shared flag to its id): nothing of it is kept */
  | { type: 'interrupted'; id: number }
  /** the job needed the Python environment it was run without (`JobMessage.environmentPending`): nothing of it is kept */
  | { type: 'needs-environment'; id: number };

/**
 * What the server's thread gives a new worker (`workerData`): `interrupt`, one 32-bit slot the
 * server sets to the id of a running job nobody waits for any more (0: none); the worker's analysis
 * reads it at its budget checks and stops with `Interrupted` (kernel/budget.ts).
 */
export interface WorkerData {
  interrupt: Int32Array;
  /**
   * the Python environments the server learns (`EnvironmentMessage`), read by a running job that
   * waits for one (`receiveMessageOnPort`); `environmentsSent` counts them (the job waits on it)
   */
  environments: MessagePort;
  environmentsSent: Int32Array;
}

/** An interpreter's answer, sent to the worker as soon as the server has it. */
export interface EnvironmentMessage {
  interpreter: string;
  environment: PythonEnvironment | undefined;
}
