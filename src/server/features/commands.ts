/**
 * `workspace/executeCommand`: batch work any LSP client can drive.
 * - `sepconv.server.convert`: convert a layer, a class/builder or a file of an open document, applied
 *   with `workspace/applyEdit` (what a CodeLens click runs);
 * - `sepconv.server.report`: the per-layer report of open documents or of given texts;
 * - `sepconv.server.plan`: the edits that would convert chosen layers of given texts (the VS Code
 *   client's workspace conversion builds its refactor preview from them);
 * - `sepconv.server.convertWithWeights`: convert a file and its checkpoint together.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { CancellationToken, Connection } from 'vscode-languageserver';
import { analyzeText } from '../../analysis/analyze';
import { languageForPath } from '../../analysis/parsing';
import { addTotals, totals } from '../../analysis/report';
import { frameworkFor, frameworkForCheckpoint } from '../../frameworks/index';
import type { ServerContext, View } from '../context';
import { rewriteOptions, shapeSources } from '../context';
import { checkpointFormat, convertWithCode, type WeightsResult } from '../../weights/apply';
import { defaultOutput } from '../../weights/index';
import { grammarFor, type Unit } from '../documents';
import { bulkCandidates, placeLayers, plan, type PlacedLayer } from '../layers';
import { analysisOptions } from '../settings';
import type {
  ConvertArgs,
  ConvertResult,
  ConvertWeightsArgs,
  ConvertWeightsResult,
  FileInput,
  FilePlan,
  FileReport,
  PlanArgs,
  ReportArgs,
  ReportResult,
} from '../protocol';
import { planSelection, select, staleMessage, summary, workspaceEdit } from './convert';

/** No model file is this big (the CLI's limit too). */
export const MAX_TEXT_LENGTH = 4 * 1024 * 1024;

export async function convert(
  ctx: ServerContext,
  connection: Connection,
  args: ConvertArgs,
  token?: CancellationToken,
): Promise<ConvertResult> {
  const refuse = (message: string): ConvertResult => ({ applied: false, converted: 0, skipped: [], message });
  const stale = staleMessage(ctx, args.uri, args.version);
  if (stale) return refuse(stale);
  const view = await ctx.view(args.uri, token);
  if (!view) return refuse('not an open Python, JavaScript or TypeScript document');
  if (staleMessage(ctx, args.uri, args.version)) return refuse(staleMessage(ctx, args.uri, args.version)!);
  const sel = select(ctx, view, args.uri, args.scope, args.at);
  if (typeof sel === 'string') return refuse(sel);
  const p = planSelection(view, args.scope, sel);
  const s = summary(p, sel.what);
  if (p.error || p.documents.length === 0) return { applied: false, ...s };
  const result = await connection.workspace.applyEdit({ label: `SepConv: convert ${sel.what}`, edit: workspaceEdit(ctx, p) });
  if (!result.applied)
    return {
      applied: false,
      converted: 0,
      skipped: s.skipped,
      message: `not applied: ${result.failureReason ?? 'the editor refused the edit'}`,
    };
  return { applied: true, ...s };
}

/** Given texts analysed so far (their versions). */
let given = 0;

interface Analysed {
  view: View;
  version: number | null;
}

/** An open document's view, or a view of a given text (or of the file on disk) that is not cached. */
async function analyse(ctx: ServerContext, input: FileInput, token?: CancellationToken): Promise<Analysed | string> {
  if (input.text === undefined && (ctx.store.get(input.uri) || ctx.store.unitFor(input.uri))) {
    const view = await ctx.view(input.uri, token);
    if (!view) return 'not a Python, JavaScript or TypeScript document';
    const seg = view.unit.segments.find((s) => s.uri === input.uri);
    return { view, version: seg?.version ?? null };
  }
  let text = input.text;
  if (text === undefined) {
    if (!input.uri.startsWith('file:')) return 'not open, and not a file on disk';
    try {
      const buf = fs.readFileSync(fileURLToPath(input.uri));
      if (buf.includes(0)) return 'skipped: binary file';
      text = buf.toString('utf8');
    } catch (e) {
      return `cannot read: ${(e as Error).message}`;
    }
  }
  if (text.length > MAX_TEXT_LENGTH) return `skipped: larger than the ${MAX_TEXT_LENGTH / 1048576} MB limit`;
  const languageId = input.languageId ?? ctx.store.get(input.uri)?.languageId;
  const grammar = (languageId && grammarFor(languageId)) || languageForPath(decodeURIComponent(input.uri.replace(/[?#].*$/, '')));
  if (!grammar) return 'not a Python, JavaScript or TypeScript file';
  const settings = await ctx.settingsFor(input.uri);
  const doc = TextDocument.create(input.uri, languageId ?? grammar, 0, text);
  const unit: Unit = {
    key: `text:${input.uri}`,
    uri: input.uri,
    notebook: false,
    // a version of its own: the worker keeps trees by key and version
    version: `given:${++given}`,
    languageId: grammar,
    text,
    segments: [{ uri: input.uri, version: 0, start: 0, end: text.length, doc }],
  };
  const options = { ...analysisOptions(settings), python: await ctx.pythonFor(settings) };
  // given texts are analysed as open documents are: in the analysis worker (not cached)
  const analysis = await ctx.analyses.full(unit, options, undefined, token, false);
  return {
    view: { unit, settings, options, rewriteOptions: rewriteOptions(settings), analysis, placed: placeLayers(unit, analysis) },
    version: null,
  };
}

export async function report(ctx: ServerContext, args: ReportArgs, token?: CancellationToken): Promise<ReportResult> {
  const out: ReportResult = { files: [], totals: totals([]) };
  for (const input of args.files ?? []) {
    const a = await analyse(ctx, input, token);
    if (typeof a === 'string') {
      out.files.push({ uri: input.uri, version: null, error: a, layers: [], totals: totals([]) });
      continue;
    }
    // a notebook reports per cell; a document is its one segment
    const segments = a.view.unit.notebook ? a.view.unit.segments : a.view.unit.segments.slice(0, 1);
    for (const seg of segments) {
      const layers = a.view.placed.filter((p) => p.segment === seg).map((p) => p.json);
      if (a.view.unit.notebook && layers.length === 0) continue;
      const f: FileReport = {
        uri: seg.uri,
        version: a.version === null ? null : seg.version,
        error: a.view.analysis.syntaxError?.message ?? null,
        layers,
        totals: totals(layers),
      };
      const notes = a.view.analysis.notes.map((n) => n.message);
      if (notes.length) f.notes = notes;
      out.files.push(f);
      addTotals(out.totals, f.totals);
    }
  }
  return out;
}

export async function planFiles(ctx: ServerContext, args: PlanArgs, token?: CancellationToken): Promise<{ files: FilePlan[] }> {
  const files: FilePlan[] = [];
  for (const input of args.files ?? []) {
    const a = await analyse(ctx, input, token);
    if (typeof a === 'string') {
      files.push({ uri: input.uri, version: null, error: a, documents: [], converted: [], skipped: [] });
      continue;
    }
    const { view } = a;
    const mine = view.placed.filter((p) => p.segment.uri === input.uri || !view.unit.notebook);
    const minSavings = args.minSavings ?? view.settings.minSavings;
    let chosen: PlacedLayer[];
    if (input.select) {
      const at = new Set(input.select.map((s) => `${s.line}:${s.column}`));
      chosen = mine.filter((p) => at.has(`${p.json.line}:${p.json.column}`));
    } else {
      chosen = bulkCandidates(mine, minSavings);
    }
    const p = plan(view.unit, view.analysis, view.placed, chosen, { ...view.rewriteOptions, minSavings: input.select ? 0 : minSavings });
    files.push({
      uri: input.uri,
      version: a.version,
      error: p.error ?? null,
      documents: p.documents.map((d) => ({ uri: d.uri, version: a.version === null ? null : d.version, edits: d.edits })),
      converted: p.converted.map((c) => ({ line: c.json.line, column: c.json.column })),
      skipped: p.skipped.map((s) => ({ line: s.layer.json.line, column: s.layer.json.column, reason: s.reason })),
    });
  }
  return { files };
}

/**
 * Converts a file together with its checkpoint: the code is analysed (at K = 1) and rewritten at
 * each site's K, the checkpoint converted and written (`src/weights/apply.ts`), then the code edit
 * is applied. Nothing is written when any part fails; a refused edit removes the new checkpoint.
 */
export async function convertWithWeights(
  ctx: ServerContext,
  connection: Connection,
  args: ConvertWeightsArgs,
): Promise<ConvertWeightsResult> {
  const refuse = (message: string): ConvertWeightsResult => ({ applied: false, message, out: null, lines: [] });
  const stale = staleMessage(ctx, args.uri, args.version);
  if (stale) return refuse(stale);
  const view = await ctx.view(args.uri);
  if (!view) return refuse('not an open Python, JavaScript or TypeScript document');
  if (view.unit.notebook || !args.uri.startsWith('file:'))
    return refuse('checkpoints are converted with files on disk, not notebooks or unsaved documents');
  const file = fileURLToPath(args.uri);
  const id = view.unit.languageId;
  const owner = frameworkForCheckpoint(checkpointFormat(args.checkpoint));
  if (frameworkFor(id) !== owner) return refuse(owner.checkpoint.goesWith);
  const analysis = analyzeText(
    view.unit.text,
    id,
    { ...view.options, depthMultiplier: 1 },
    { sources: owner.readsNeighbours ? shapeSources(ctx.store, view.unit) : undefined },
  );
  if (analysis.syntaxError) return refuse(`not converted: ${analysis.syntaxError.message}`);
  const out = args.out ?? defaultOutput(args.checkpoint);
  let result: WeightsResult;
  try {
    result = convertWithCode(
      [{ file, id, text: view.unit.text, analysis }],
      {
        checkpoint: args.checkpoint,
        out,
        energy: args.energy,
        tfjsStyle: view.options.tfjsStyle,
        rewrite: { ...view.rewriteOptions, depthMultiplier: args.depthMultiplier ?? view.rewriteOptions.depthMultiplier },
      },
      owner,
    );
  } catch (e) {
    return refuse((e as Error).message);
  }
  try {
    if (staleMessage(ctx, args.uri, args.version)) return refuse(staleMessage(ctx, args.uri, args.version)!);
    result.writeCheckpoint();
    const seg = view.unit.segments[0];
    const edits = (result.files[0]?.rewrite.edits ?? []).map((e) => ({
      range: { start: seg.doc.positionAt(e.start), end: seg.doc.positionAt(e.end) },
      newText: e.newText,
    }));
    const edit = ctx.capabilities.documentChanges
      ? { documentChanges: [{ textDocument: { uri: args.uri, version: seg.version }, edits }] }
      : { changes: { [args.uri]: edits } };
    const applied = await connection.workspace.applyEdit({ label: 'SepConv: convert with weights', edit });
    if (!applied.applied) {
      fs.rmSync(out, { force: true });
      return refuse(`not applied: ${applied.failureReason ?? 'the editor refused the edit'}; the new checkpoint was removed`);
    }
    const n = result.files[0]?.rewrite.converted.length ?? 0;
    return { applied: true, message: `Converted ${n} convolution${n === 1 ? '' : 's'} and wrote ${out}`, out, lines: result.summary };
  } catch (e) {
    return refuse(`cannot write ${out}: ${(e as Error).message}`);
  } finally {
    result.close();
  }
}
