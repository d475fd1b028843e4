/** Rewrites a whole file: chooses layers, plans the edits, applies them and checks the result parses. */
import { savings } from '../analysis/cost';
import type { Layer } from '../analysis/model';
import { parse, type LanguageId } from '../analysis/parsing';
import { firstSyntaxError } from '../analysis/syntax';
import { frameworkOf, type AnyAnalysis } from '../frameworks/index';
import { applyEdits, type TextEdit } from './edits';
import type { RewriteOptions } from './pytorch';

export type { RewriteOptions } from './pytorch';
export type { TextEdit } from './edits';

export interface FileRewrite {
  newText: string;
  edits: TextEdit[];
  converted: Layer[];
  skipped: { layer: Layer; reason: string }[];
  /** set when nothing may be written: the input or the result does not parse */
  error: string | undefined;
}

/** Does a convertible layer pass the savings threshold? A reason when it does not. */
export function belowThreshold(layer: Layer, minSavings: number): string | undefined {
  if (minSavings <= 0) return undefined;
  const s = savings(layer.cost.params.before, layer.cost.params.after);
  if (s === undefined)
    return `parameter savings depend on ${layer.cost.params.before?.symbols().join(', ') ?? 'unknown values'}; give them with --assume or a pragma to apply a threshold`;
  return s < minSavings ? `saves ${(s * 100).toFixed(1)}% of parameters, below the ${(minSavings * 100).toFixed(1)}% threshold` : undefined;
}

/**
 * The edits that would convert `layers`, unchecked: what a preview shows (a hover's "Becomes").
 * Writing goes through `rewrite`, which refuses a result that does not parse.
 */
export function planRewrite(
  text: string,
  analysis: AnyAnalysis,
  layers: Layer[],
  opts: RewriteOptions,
): Pick<FileRewrite, 'edits' | 'converted' | 'skipped'> {
  return frameworkOf(analysis).planRewrite(text, analysis, layers, opts);
}

export function rewrite(
  text: string,
  id: LanguageId,
  analysis: AnyAnalysis,
  select: (layer: Layer) => boolean,
  opts: RewriteOptions & { minSavings: number },
): FileRewrite {
  const none: FileRewrite = { newText: text, edits: [], converted: [], skipped: [], error: undefined };
  if (analysis.syntaxError) return { ...none, error: `not rewritten: ${analysis.syntaxError.message}` };
  const chosen: Layer[] = [];
  const skipped: FileRewrite['skipped'] = [];
  for (const l of (analysis.layers as Layer[]).filter(select)) {
    const low = l.convertible ? belowThreshold(l, opts.minSavings) : undefined;
    if (low) skipped.push({ layer: l, reason: low });
    else chosen.push(l);
  }
  const plan = planRewrite(text, analysis, chosen, opts);
  skipped.push(...plan.skipped);
  const newText = applyEdits(text, plan.edits);
  const tree = parse(id, newText);
  try {
    const err = firstSyntaxError(tree);
    if (err) return { ...none, skipped, error: `internal error: the rewrite would not parse (${err.message}); nothing written` };
  } finally {
    tree.delete();
  }
  return { newText, edits: plan.edits, converted: plan.converted, skipped, error: undefined };
}
