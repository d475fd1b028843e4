/**
 * The messages between the language server's thread (`worker.ts`) and its analysis worker
 * (`analysisWorker.ts`): plain data, structured-cloned by `postMessage`.
 */
import type { Span } from '../analysis/model';
import type { AnyAnalysis } from '../analysis/analyze';
import type { AnalysisOptions } from '../analysis/options';
import type { LanguageId } from '../analysis/parsing';

/**
 * - `full`: the whole analysis with shape inference (lenses, actions, and hovers once typing paused)
 * - `focused`: the layers in `range` with the shapes of the full analysis, running again only the
 *   models an edit can have changed (`TreeCache.focusedAnalysis`); may turn into `full`
 * - `static`: every layer without shape inference (what is left when `full` ran out of budget)
 * - `range`: the layers in `range` without shape inference (a large document's hints and hovers)
 */
export type JobKind = 'full' | 'focused' | 'static' | 'range';

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
  /** the document's path on disk (shape inference reads its neighbours), if it is a file */
  file?: string;
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
  | { type: 'done'; id: number; analysis: AnyAnalysis; full: boolean }
  | { type: 'failed'; id: number; error: string };
