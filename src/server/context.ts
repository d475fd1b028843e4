/**
 * What every feature handler works with: the documents, the tree cache, the settings for a document
 * and the current view of a document (its unit, the core's analysis, the placed layers).
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnyAnalysis } from '../analysis/analyze';
import type { AnalysisOptions } from '../analysis/options';
import { diskSources } from '../analysis/files';
import type { ShapeSources } from '../analysis/python/shapes/index';
import type { RewriteOptions } from '../refactor/index';
import type { DocumentStore, Position, Range, Unit } from './documents';
import { placeLayers, unitOffset, type PlacedLayer } from './layers';
import { analysisOptions, type Settings } from './settings';
import type { TreeCache } from './trees';

export interface ClientCapabilities {
  /** code actions may leave `edit` to `codeAction/resolve` */
  resolveEdits: boolean;
  /** WorkspaceEdit.documentChanges with document versions */
  documentChanges: boolean;
  inlayHintRefresh: boolean;
  codeLensRefresh: boolean;
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
  /** the analysis of the document (or notebook) `uri` is in, as it is now; undefined when not analysed */
  view(uri: string): Promise<View | undefined>;
  /** the same for the layers in `range` of `uri` only, cheap while the user types (inlay hints) */
  rangeView(uri: string, range: Range): Promise<View | undefined>;
  /** the layers around `position` of `uri`, with the numbers the full analysis gives them (hovers) */
  pointView(uri: string, position: Position): Promise<View | undefined>;
  warn(message: string): void;
}

export function rewriteOptions(s: Settings): RewriteOptions & { minSavings: number } {
  return { depthMultiplier: s.depthMultiplier, norm: s.normalization, lineLength: s.lineLength, minSavings: s.minSavings };
}

/**
 * What shape inference of a Python document may read: its neighbours on disk, with open documents'
 * unsaved texts laid over them. Notebooks and documents that are not files have no neighbours.
 */
export function shapeSources(store: DocumentStore, unit: Unit): ShapeSources {
  let file: string | undefined;
  if (!unit.notebook && unit.uri.startsWith('file:')) {
    try {
      file = fileURLToPath(unit.uri);
    } catch {
      file = undefined;
    }
  }
  return diskSources(file, [], (f) => store.get(pathToFileURL(f).href)?.getText());
}

/** How far above a range a multi-line call that ends in it may start. */
const CALL_LINES_ABOVE = 12;

/**
 * Builds a view synchronously, once the settings are known: the unit cannot change under it. With
 * `range` (a document range of `uri`), only the layers there: from the cache's quick analysis, or
 * with `exact`, with the shapes and MACs of the full analysis (`TreeCache.focusedAnalysis`).
 */
export function makeView(store: DocumentStore, trees: TreeCache, uri: string, settings: Settings, range?: Range, exact = false): View | undefined {
  const unit = store.unitFor(uri);
  if (!unit) return undefined;
  const options = analysisOptions(settings);
  let analysis;
  if (range) {
    // a call whose first line is above the range may end in it, where its hint sits
    const start = unitOffset(unit, uri, { line: Math.max(0, range.start.line - CALL_LINES_ABOVE), character: 0 });
    const end = unitOffset(unit, uri, range.end);
    if (start === undefined || end === undefined) return undefined;
    const span = { start, end };
    analysis = exact ? trees.focusedAnalysis(unit, options, span, unit.languageId === 'python' ? shapeSources(store, unit) : undefined) : trees.quickAnalysis(unit, options, span);
  } else {
    analysis = trees.analysis(unit, options, unit.languageId === 'python' ? shapeSources(store, unit) : undefined);
  }
  return { unit, settings, options, rewriteOptions: rewriteOptions(settings), analysis, placed: placeLayers(unit, analysis) };
}
