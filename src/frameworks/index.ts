/**
 * The registry: every framework SepConv knows, the one place that lists them. Front ends and the
 * core's dispatchers find a framework here by grammar (a file's language) or by id (an analysis's
 * or a layer's `framework`).
 */
import type { FrameworkId } from '../analysis/model';
import type { LanguageId } from '../analysis/parsing';
import type { AnalysisBase, CheckpointFormat, Framework } from './framework';
import { pytorch } from './pytorch';
import { tfjs } from './tfjs';

export type { AnalysisBase, AnalyzeInputs, CheckpointFormat, Container, Framework, IncrementalMemo, RewritePlan } from './framework';

/** Every framework; the first is the one a notebook or an unknown file kind counts as. */
export const FRAMEWORKS: readonly Framework[] = [pytorch, tfjs];

/** Any framework's analysis, as its framework made it. */
export type AnyAnalysis = ReturnType<(typeof pytorch)['analyze']> | ReturnType<(typeof tfjs)['analyze']>;

const byLanguage = new Map<LanguageId, Framework>(FRAMEWORKS.flatMap((f) => f.languages.map((l) => [l, f] as const)));
const byId = new Map<FrameworkId, Framework>(FRAMEWORKS.map((f) => [f.id, f]));

/** The framework whose files are written in grammar `id`. */
export function frameworkFor(id: LanguageId): Framework {
  const f = byLanguage.get(id);
  if (!f) throw new Error(`no framework reads ${id} files`);
  return f;
}

/** The framework an analysis or a layer came from. */
export function frameworkOf(x: { framework: FrameworkId }): Framework {
  return byId.get(x.framework)!;
}

/** The framework whose code a checkpoint of this format goes with. */
export function frameworkForCheckpoint(format: CheckpointFormat): Framework {
  return FRAMEWORKS.find((f) => f.checkpoint.format === format)!;
}

/** An analysis of grammar `id` with no layers and these notes (a document too large, a failed job). */
export function emptyAnalysis(id: LanguageId, notes: AnalysisBase['notes']): AnyAnalysis {
  return { ...frameworkFor(id).empty(), notes, models: [] } as unknown as AnyAnalysis;
}
