/**
 * What every feature handler works with: the documents, the tree cache, the settings for a document
 * and the current view of a document (its unit, the core's analysis, the placed layers).
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { diskSources, type ShapeSources } from '../analysis/files';
import type { CancellationToken } from 'vscode-languageserver';
import type { AnyAnalysis } from '../analysis/analyze';
import type { PythonEnvironment } from '../analysis/environment';
import type { AnalysisOptions } from '../analysis/options';
import type { RewriteOptions } from '../refactor/index';
import { emptyAnalysis, frameworkFor } from '../frameworks/index';
import { LARGE_DOCUMENT, type Analyses, type PendingEnvironment } from './analyses';
import type { DocumentStore, Position, Range, Unit } from './documents';
import { placeLayers, unitOffset, type PlacedLayer } from './layers';
import { analysisOptions, type Settings } from './settings';
import type { TreeCache } from './trees';
import type { WeightsCache } from './weights';
import { Dropped } from './worker';

export interface ClientCapabilities {
  /** code actions may leave `edit` to `codeAction/resolve` */
  resolveEdits: boolean;
  /** WorkspaceEdit.documentChanges with document versions */
  documentChanges: boolean;
  inlayHintRefresh: boolean;
  codeLensRefresh: boolean;
  /** textDocument.publishDiagnostics: documents are analysed when opened, for their diagnostics */
  diagnostics: boolean;
}

export interface View {
  unit: Unit;
  settings: Settings;
  options: AnalysisOptions;
  rewriteOptions: RewriteOptions & { minSavings: number };
  analysis: AnyAnalysis;
  placed: PlacedLayer[];
}

export interface ServerContext {
  store: DocumentStore;
  trees: TreeCache;
  capabilities: ClientCapabilities;
  settingsFor(uri: string): Promise<Settings>;
  /** the Python environment installed packages are read from, for these settings */
  pythonFor(settings: Settings): Promise<PythonEnvironment | undefined>;
  analyses: Analyses;
  /**
   * the analysis of the document (or notebook) `uri` is in, as it is now; undefined when not
   * analysed; rejects with `Dropped` when `token` is cancelled
   */
  view(uri: string, token?: CancellationToken): Promise<View | undefined>;
  /** the same for the layers in `range` of `uri` only, cheap while the user types (inlay hints) */
  rangeView(uri: string, range: Range, token?: CancellationToken): Promise<View | undefined>;
  /** the layers around `position` of `uri`, with the numbers the full analysis gives them (hovers) */
  pointView(uri: string, position: Position, token?: CancellationToken): Promise<View | undefined>;
  warn(message: string): void;
  /** the checkpoint of `sepconv.weights.checkpoint`, read off this thread, and the plans hovers show */
  weights: WeightsCache;
}

export function rewriteOptions(s: Settings): RewriteOptions & { minSavings: number } {
  return { depthMultiplier: s.depthMultiplier, norm: s.normalization, lineLength: s.lineLength, minSavings: s.minSavings };
}

/**
 * The path of a document that is a file: shape inference reads its neighbours on disk (open
 * documents' unsaved texts laid over them, `AnalysisWorker.setOverlay`). Notebooks and documents
 * that are not files have no neighbours.
 */
export function filePath(unit: Pick<Unit, 'uri' | 'notebook'>): string | undefined {
  if (unit.notebook || !unit.uri.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(unit.uri);
  } catch {
    return undefined;
  }
}

/**
 * What shape inference of a Python document may read on this thread (a command's own analysis):
 * its neighbours on disk, with open documents' unsaved texts laid over them.
 */
export function shapeSources(store: DocumentStore, unit: Unit): ShapeSources {
  return diskSources(filePath(unit), [], (f) => store.get(pathToFileURL(f).href)?.getText());
}

/** How far above a range a multi-line call that ends in it may start. */
const CALL_LINES_ABOVE = 12;

/**
 * Builds a view once the settings are known. With `range` (a document range of `uri`), only the
 * layers there: from the cache's quick analysis, or with `exact`, with the shapes and MACs of the
 * full analysis (`Analyses.focused`; `pendingPython`: the environment the interpreter has not given
 * yet, `python` then undefined). An analysis that waits for the worker is dropped when the
 * document changes meanwhile: a request (`token`) then analyses the new text, the warm-up stops.
 */
export async function makeView(
  store: DocumentStore,
  analyses: Analyses,
  uri: string,
  settings: Settings,
  range?: Range,
  exact = false,
  token?: CancellationToken,
  python?: PythonEnvironment,
  pendingPython?: PendingEnvironment,
): Promise<View | undefined> {
  for (;;) {
    const unit = store.unitFor(uri);
    if (!unit) return undefined;
    const options = { ...analysisOptions(settings), python };
    const file = frameworkFor(unit.languageId).readsNeighbours ? filePath(unit) : undefined;
    let analysis: AnyAnalysis;
    const large = unit.text.length > LARGE_DOCUMENT;
    try {
      if (large && !range) {
        analysis = emptyAnalysis(unit.languageId, [
          {
            message: `the document is larger than ${LARGE_DOCUMENT / 1024} KB: only the hints and hovers of its lines are analysed`,
            span: { start: 0, end: 0 },
          },
        ]);
      } else if (range) {
        // a call whose first line is above the range may end in it, where its hint sits
        const start = unitOffset(unit, uri, { line: Math.max(0, range.start.line - CALL_LINES_ABOVE), character: 0 });
        const end = unitOffset(unit, uri, range.end);
        if (start === undefined || end === undefined) return undefined;
        const span = { start, end };
        // a hover's line (the range a point view asks for): what its models are run for first
        const at = { start: unitOffset(unit, uri, range.start) ?? start, end };
        if (large) analysis = await analyses.range(unit, options, span, token);
        else
          analysis = exact
            ? await analyses.focused(unit, options, span, file, token, at, pendingPython)
            : analyses.trees.quickAnalysis(unit, options, span);
      } else {
        analysis = await analyses.full(unit, options, file, token);
      }
    } catch (e) {
      if (e instanceof Dropped && e.why === 'superseded' && token && !token.isCancellationRequested) continue;
      throw e;
    }
    // the unit's documents are updated in place: a view of a text that is gone is never made
    if (store.unitFor(uri)?.version !== unit.version) {
      if (token && !token.isCancellationRequested) continue;
      return undefined;
    }
    return { unit, settings, options, rewriteOptions: rewriteOptions(settings), analysis, placed: placeLayers(unit, analysis) };
  }
}
