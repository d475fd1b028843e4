/** The core's entry point: text in, plain data out. */
import { frameworkFor, type AnalyzeInputs, type AnyAnalysis } from '../frameworks/index';
import type { AnalysisOptions } from './options';
import { parse, type LanguageId } from './parsing';

export type { AnalyzeInputs, AnyAnalysis } from '../frameworks/index';

/** Analyse `text` of language `id` with the framework whose files it is (src/frameworks). */
export function analyzeText(text: string, id: LanguageId, options: AnalysisOptions, inputs: AnalyzeInputs = {}): AnyAnalysis {
  const framework = frameworkFor(id);
  const { tree } = inputs;
  if (!tree && !framework.mayHold(text, inputs.sources)) return framework.empty() as AnyAnalysis;
  const path = inputs.sources?.path;
  const held = tree || !path ? undefined : framework.heldParse?.(path, text);
  const own = tree || held ? undefined : parse(id, text);
  try {
    return refuseOnSyntaxError(framework.analyze(text, tree ?? held?.tree ?? own!, id, options, inputs) as AnyAnalysis);
  } finally {
    own?.delete();
    // the holder is reachable until here: its tree is not deleted under the analysis
    void held?.holder;
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
