/** The core's entry point: text in, plain data out. */
import type { Tree } from 'web-tree-sitter';
import type { Span } from './model';
import type { AnalysisOptions } from './options';
import { parse, type LanguageId } from './parsing';
import { analyzePython, MAY_HOLD_CONV, type PythonAnalysis } from './python/analyze';
import type { LayerMemo } from './python/incremental';
import { inferShapes, MAY_DEFINE_MODEL, type ShapeSources } from './python/shapes/index';
import { analyzeTfjs, emptyTfjsAnalysis, MAY_USE_TFJS, type TfjsAnalysis } from './tfjs/analyze';

export type AnyAnalysis = PythonAnalysis | TfjsAnalysis;

/** What a caller may add to a text: all optional. */
export interface AnalyzeInputs {
  /** the text's tree, already parsed (the language server's cache); not deleted here */
  tree?: Tree;
  /**
   * only the layers whose call starts on the lines of this span, statically, without shape inference
   * (PyTorch only for now): what an editor's visible lines show while the user types
   */
  range?: Span;
  /** other files, for the models whose parts the file imports */
  sources?: ShapeSources;
  /** static layer results kept from the previous version of the same document (PyTorch) */
  memo?: LayerMemo;
}

/** Analyse `text` of language `id`. */
export function analyzeText(text: string, id: LanguageId, options: AnalysisOptions, inputs: AnalyzeInputs = {}): AnyAnalysis {
  const { tree, range, sources, memo } = inputs;
  if (id === 'python' && !tree && !MAY_HOLD_CONV.test(text) && !(sources?.read && MAY_DEFINE_MODEL.test(text))) {
    return { framework: 'pytorch', layers: [], syntaxError: undefined, notes: [], imports: { bindings: new Map(), starModules: [], fromTorchNn: [] }, pragmaText: {} };
  }
  if (id !== 'python' && !tree && !MAY_USE_TFJS.test(text)) return emptyTfjsAnalysis();
  const own = tree ? undefined : parse(id, text);
  try {
    const t = tree ?? own!;
    if (id === 'python') {
      const analysis = analyzePython(text, t, options, range, memo);
      // shape inference: the models of the file, exact shapes and MACs for the layers they run. A
      // range asks for the quick static view of a few layers (an editor's visible lines): no models.
      if (!range) inferShapes(analysis, text, t, options, sources, {}, memo);
      return refuseOnSyntaxError(analysis);
    }
    return refuseOnSyntaxError(analyzeTfjs(text, t, id, options));
  } finally {
    own?.delete();
  }
}

/** A file that does not parse is never rewritten: say so on every layer that would otherwise be. */
function refuseOnSyntaxError<T extends AnyAnalysis>(analysis: T): T {
  if (!analysis.syntaxError) return analysis;
  for (const l of analysis.layers) {
    if (!l.convertible) continue;
    l.convertible = false;
    l.reason = `the file does not parse (${analysis.syntaxError.message}); fix it first`;
  }
  return analysis;
}
