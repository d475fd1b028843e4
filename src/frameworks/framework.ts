/**
 * What the rest of SepConv needs of a framework (PyTorch, TensorFlow.js, the next one): which files
 * are its, a cheap test before parsing, its analysis, its rewrite, what it keeps between versions of
 * a document, and the few facts the front ends show. The front ends (src/cli, src/server,
 * src/extension) and the core's dispatchers (`analyzeText`, `planRewrite`) go through the registry
 * (`./index.ts`) and never name a framework; a framework's own code lives in src/analysis/<name>/ and
 * src/refactor/<name>.ts and is wired here, one file per framework.
 */
import type { Node, Tree } from 'web-tree-sitter';
import type { ShapeSources } from '../analysis/files';
import type { FileAnalysis, FrameworkId, Layer, ModelSummary, Span } from '../analysis/model';
import type { AnalysisOptions } from '../analysis/options';
import type { LanguageId } from '../analysis/parsing';
import type { LayerJson } from '../analysis/report';
import type { TextEdit } from '../refactor/edits';
import type { RewriteOptions } from '../refactor/pytorch';

/** What every analysis has; a framework's own analysis extends it. */
export interface AnalysisBase extends FileAnalysis {
  /** the models it found and ran, with their totals (the report's `models`) */
  models?: ModelSummary[];
}

/** What a framework's analysis keeps from one version of a document for the next (`TreeCache` holds one per document). */
export interface IncrementalMemo {
  readonly stats: { kept: number };
}

/** What a caller may add to a text: all optional. */
export interface AnalyzeInputs {
  /** the text's tree, already parsed (the language server's cache); not deleted here */
  tree?: Tree;
  /**
   * only the layers whose call starts on the lines of this span, statically, without running the
   * file's models: what an editor's visible lines show while the user types
   */
  range?: Span;
  /** other files, for the models whose parts the file imports (frameworks with `readsNeighbours`) */
  sources?: ShapeSources;
  /** what the previous analysis of the same document left (from this framework's `newMemo`) */
  memo?: IncrementalMemo;
}

/** The edits that convert the chosen layers, and the layers it converted or skipped (why). */
export interface RewritePlan {
  edits: TextEdit[];
  converted: Layer[];
  skipped: { layer: Layer; reason: string }[];
}

/** What holds a layer in the editor (the CodeLens line): a model class, a builder function, a `const model`. */
export interface Container {
  node: Node;
  kind: 'class' | 'function' | 'const';
  name: string | undefined;
}

/** A checkpoint format: a torch.save state dict (or .safetensors), or a TensorFlow.js layers model (model.json). */
export type CheckpointFormat = 'state-dict' | 'layers-model';

export interface Framework<A extends AnalysisBase = AnalysisBase> {
  /** what its layers and analyses carry in `framework` */
  id: FrameworkId;
  /** for messages: `PyTorch` */
  name: string;
  /** the grammars whose files are its (src/analysis/parsing.ts maps file extensions to grammars) */
  languages: readonly LanguageId[];
  /** the code fence language of its code in Markdown (hovers) */
  fence: string;
  /** the analysis reads other files (relative imports, libraries): callers pass `sources` */
  readsNeighbours: boolean;
  /**
   * its full analysis may run for seconds (it runs the file's models without a budget of its own):
   * the language server runs it in the analysis worker, never on its own thread
   */
  offThread: boolean;
  /**
   * Its weights (`sepconv apply --weights`, the weights hover): the checkpoint format its code goes
   * with (src/weights/apply.ts converts each format its own way), what to say when another is given,
   * and the models whose module paths a checkpoint's keys are matched against (none where the
   * format names its layers).
   */
  checkpoint: { format: CheckpointFormat; goesWith: string; models(analysis: A): ModelSummary[] };
  /**
   * A cheap test on the text before parsing: false when the file cannot hold anything to report
   * (`analyze` then answers `empty()` without parsing). `sources`: whether other files may be read.
   */
  mayHold(text: string, sources: ShapeSources | undefined): boolean;
  /** an analysis with no layers */
  empty(): A;
  /**
   * A parse of `text` this thread already holds for the file at `path` (read by path for another
   * file's analysis: a command over a folder parses each file once), to be read, never deleted;
   * `holder` keeps it alive while referenced. Absent or undefined: the caller parses.
   */
  heldParse?(path: string, text: string): { tree: Tree; holder: object } | undefined;
  /** the analysis of `text` (already parsed to `tree`, in grammar `id`); `range` and `memo` as in `AnalyzeInputs` */
  analyze(text: string, tree: Tree, id: LanguageId, options: AnalysisOptions, inputs: AnalyzeInputs): A;
  /** a fresh memo for a document, when the framework keeps anything between versions */
  newMemo?(): IncrementalMemo;
  /**
   * A hover's layers (`range` analysis `quick`) given the numbers the full analysis would give them,
   * running again only what an edit can have changed; false when it cannot tell (then the full
   * analysis runs). Absent: the full analysis.
   */
  focus?(quick: A, text: string, tree: Tree, options: AnalysisOptions, sources: ShapeSources, memo: IncrementalMemo | undefined): boolean;
  /**
   * A hover's layers (`quick`) given the numbers of the models that build the calls on the hovered
   * line `at` (a span of the text), running only those: the first hover of a document, before its
   * full analysis. False when it cannot tell (then the full analysis runs). Absent: the full analysis.
   * `memo`: the document's (what a full run left, which later hovers may need the full run to renew).
   */
  reach?(
    quick: A,
    text: string,
    tree: Tree,
    options: AnalysisOptions,
    sources: ShapeSources,
    at: Span,
    memo: IncrementalMemo | undefined,
  ): boolean;
  /** Work every later analysis of this text starts with, done ahead of them (a document just opened): caches only, no result. */
  prepare?(text: string, tree: Tree, options: AnalysisOptions, sources: ShapeSources): void;
  /** Lets go of what `prepare` keeps for the next analysis (an idle worker: it did not come soon). */
  unprepare?(): void;
  /** the edits that convert `layers` of `analysis`, unchecked */
  planRewrite(text: string, analysis: A, layers: Layer[], opts: RewriteOptions): RewritePlan;
  /** the outermost node that holds the layer at `offset` in the editor (a CodeLens line), if any */
  container(tree: Tree, offset: number): Container | undefined;
  /** the layer's call as the framework writes it, every argument resolved (the hover's first line) */
  signature(layer: Layer, json: LayerJson): string;
}
