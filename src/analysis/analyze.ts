/** The core's entry point: text in, plain data out. */
import type { Tree } from 'web-tree-sitter';
import type { Span } from './model';
import type { AnalysisOptions } from './options';
import { parse, type LanguageId } from './parsing';
import { analyzePython, MAY_HOLD_CONV, type PythonAnalysis } from './python/analyze';
import { inferShapes, MAY_DEFINE_MODEL, type ShapeSources } from './python/shapes/index';
import { analyzeTfjs, emptyTfjsAnalysis, MAY_USE_TFJS, type TfjsAnalysis } from './tfjs/analyze';

export type AnyAnalysis = PythonAnalysis | TfjsAnalysis;

/**
 * Analyse `text` of language `id`. With `range`, only the layers whose call starts in it, statically,
 * without shape inference (PyTorch only for now): their savings ratios, which do not depend on the
 * input size, are what an editor's inlay hints show while the user types. Pass a tree you already have (the language server's cache) to
 * skip parsing; the tree is not deleted here.
 */
export function analyzeText(text: string, id: LanguageId, options: AnalysisOptions, tree?: Tree, range?: Span, sources?: ShapeSources): AnyAnalysis {
  // a file that cannot hold a conv is not parsed at all (most files of a repository), unless it may
  // define a model whose convs live in files it imports
  if (id === 'python' && !tree && !MAY_HOLD_CONV.test(text) && !(sources?.read && MAY_DEFINE_MODEL.test(text))) {
    return { framework: 'pytorch', layers: [], syntaxError: undefined, notes: [], imports: { bindings: new Map(), starModules: [], fromTorchNn: [] }, pragmaText: {} };
  }
  if (id !== 'python' && !tree && !MAY_USE_TFJS.test(text)) return emptyTfjsAnalysis();
  const own = tree ? undefined : parse(id, text);
  try {
    const t = tree ?? own!;
    if (id === 'python') {
      const analysis = analyzePython(text, t, options, range);
      // shape inference: the models of the file, exact shapes and MACs for the layers they run. A
      // range asks for the quick static view of a few layers (an editor's visible lines): no models.
      if (!range) inferShapes(analysis, text, t, options, sources);
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
