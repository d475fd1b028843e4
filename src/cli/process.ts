/**
 * The work on one file — read, analyse, report, rewrite — as a plain outcome, so that it can run in
 * a worker thread and the main thread only prints.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { analyzeText } from '../analysis/analyze';
import { languageForPath } from '../analysis/parsing';
import { layerJson, totals } from '../analysis/report';
import { LineIndex } from '../refactor/edits';
import { belowThreshold, rewrite } from '../refactor/index';
import type { CliOptions } from './args';
import type { FileJson } from './format';

/** Files larger than this are reported and skipped: no model file is this big. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

export interface FileOutcome {
  entry: FileJson;
  /** `check` lines for convertible layers that pass the threshold */
  remaining: string[];
  out: string[];
  err: string[];
  diff?: string;
  rewriteFailed: boolean;
  ioFailed: boolean;
}

/** Reads a file as text, or says why it is not analysed. */
export function readSource(file: string): { text?: string; error?: string } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    return { error: `cannot read: ${(e as Error).message}` };
  }
  if (buf.length > MAX_FILE_BYTES) return { error: `skipped: ${(buf.length / 1048576).toFixed(1)} MB is larger than the ${MAX_FILE_BYTES / 1048576} MB limit` };
  if (buf.includes(0)) return { error: 'skipped: binary file' };
  return { text: buf.toString('utf8') };
}

/** Writes through a temporary file in the same folder and a rename, keeping the mode. */
function writeAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.sepconv-${process.pid}.tmp`);
  const mode = fs.statSync(file).mode;
  try {
    fs.writeFileSync(tmp, text, { mode });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

export function processFile(file: string, opts: CliOptions): FileOutcome {
  const o: FileOutcome = { entry: { path: file, error: null, layers: [] }, remaining: [], out: [], err: [], rewriteFailed: false, ioFailed: false };
  const id = languageForPath(file)!;
  const src = readSource(file);
  if (src.error !== undefined || src.text === undefined) {
    o.entry.error = src.error ?? 'unreadable';
    return o;
  }
  const text = src.text;
  const analysis = analyzeText(text, id, opts.analysis);
  if (analysis.layers.length === 0 && !analysis.syntaxError) return o;
  const lines = new LineIndex(text);
  const layers = analysis.layers.map((l) => layerJson(l, (off) => lines.position(off)));
  // with --min-savings the report shows what apply would do: layers below it stay as they are
  analysis.layers.forEach((l, i) => {
    const low = l.convertible ? belowThreshold(l, opts.minSavings) : undefined;
    if (low) Object.assign(layers[i], { convertible: false, reason: low });
  });
  o.entry = { path: file, error: analysis.syntaxError?.message ?? null, layers, totals: totals(layers) };
  layers.forEach((j) => {
    if (!j.convertible) return;
    const saving = j.savings.params !== null ? `${(j.savings.params * 100).toFixed(1)}% fewer params` : `params × ${j.symbolic?.params.ratio ?? '?'}`;
    o.remaining.push(`${file}:${j.line}:${j.column}: ${j.op} can be depthwise separable (${saving})`);
  });
  if (opts.command !== 'apply') return o;
  if (analysis.syntaxError) {
    o.rewriteFailed = true;
    o.err.push(`${file}: not rewritten: ${analysis.syntaxError.message}`);
    return o;
  }
  if (!analysis.layers.some((l) => l.convertible)) return o;
  const result = rewrite(text, id, analysis, () => true, { depthMultiplier: opts.analysis.depthMultiplier, norm: opts.analysis.norm, lineLength: opts.lineLength, minSavings: opts.minSavings });
  if (result.error) {
    o.rewriteFailed = true;
    o.err.push(`${file}: ${result.error}`);
    return o;
  }
  for (const s of result.skipped.filter((x) => x.layer.convertible)) {
    const p = lines.position(s.layer.span.start);
    o.err.push(`${file}:${p.line + 1}:${p.column + 1}: skipped: ${s.reason}`);
  }
  if (result.newText === text) return o;
  if (opts.diff) {
    const rel = path.isAbsolute(file) ? file : path.normalize(file).split(path.sep).join('/');
    const [a, b] = path.isAbsolute(file) ? [rel, rel] : [`a/${rel}`, `b/${rel}`];
    o.diff = createTwoFilesPatch(a, b, text, result.newText, undefined, undefined, { context: 3 });
  } else if (opts.dryRun) {
    o.out.push(`${file}: would convert ${result.converted.length} layer(s)`);
  } else {
    try {
      writeAtomic(file, result.newText);
      o.out.push(`${file}: converted ${result.converted.length} layer(s)`);
    } catch (e) {
      o.ioFailed = true;
      o.err.push(`sepconv: ${file}: cannot write: ${(e as Error).message}`);
    }
  }
  return o;
}
