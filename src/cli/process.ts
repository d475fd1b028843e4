/**
 * The work on one file — read, analyse, report, rewrite — as a plain outcome, so that it can run in
 * a worker thread and the main thread only prints.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { analyzeText } from '../analysis/analyze';
import { cellAt, isNotebook, notebookText, updateNotebook } from '../analysis/notebook';
import { languageForPath, type LanguageId } from '../analysis/parsing';
import { diskSources, readSourceFile } from '../analysis/files';
import { layerJson, modelJson, totals } from '../analysis/report';
import { applyEdits, LineIndex, type TextEdit } from '../refactor/edits';
import { belowThreshold, rewrite } from '../refactor/index';
import type { CliOptions } from './args';
import type { FileJson } from './format';


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


/** Writes through a temporary file in the same folder and a rename, keeping the mode. */
export function writeAtomic(file: string, text: string): void {
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

/**
 * What is analysed and how results map back to the file: the file's own text, or for a notebook
 * its joined code cells, with positions inside cells and sources written back into the JSON.
 */
export interface Unit {
  id: LanguageId;
  text: string;
  position(offset: number): { line: number; column: number; cell?: number };
  /** the file's new content after `edits` (offsets in `text`) give `newText` */
  serialize(newText: string, edits: readonly TextEdit[]): string;
}

export function unitFor(file: string, content: string): Unit {
  if (!isNotebook(file)) {
    let lines: LineIndex | undefined; // most files hold nothing to place
    return { id: languageForPath(file)!, text: content, position: (off) => (lines ??= new LineIndex(content)).position(off), serialize: (t) => t };
  }
  const nb = notebookText(content);
  const cellLines = new Map(nb.cells.map((c) => [c.index, new LineIndex(c.source)]));
  return {
    id: 'python',
    text: nb.text,
    position(off) {
      const cell = cellAt(nb, off)!;
      return { ...cellLines.get(cell.index)!.position(off - cell.start), cell: cell.index + 1 };
    },
    serialize(_t, edits) {
      const sources = new Map<number, string>();
      for (const cell of nb.cells) {
        const inCell = edits.filter((e) => e.start >= cell.start && e.end <= cell.end).map((e) => ({ ...e, start: e.start - cell.start, end: e.end - cell.start }));
        if (inCell.length) sources.set(cell.index, applyEdits(cell.source, inCell));
      }
      return updateNotebook(content, sources);
    },
  };
}

export function processFile(file: string, opts: CliOptions): FileOutcome {
  const o: FileOutcome = { entry: { path: file, error: null, layers: [] }, remaining: [], out: [], err: [], rewriteFailed: false, ioFailed: false };
  const src = readSourceFile(file);
  if (src.error !== undefined || src.text === undefined) {
    o.entry.error = src.error ?? 'unreadable';
    return o;
  }
  let unit: Unit;
  try {
    unit = unitFor(file, src.text);
  } catch (e) {
    o.entry.error = (e as Error).message;
    return o;
  }
  const { text, id } = unit;
  const analysis = analyzeText(text, id, opts.analysis, { sources: id === 'python' ? diskSources(isNotebook(file) ? undefined : file, opts.paths, undefined, true) : undefined });
  const models = (analysis.models ?? []).map((m) => modelJson(m, (off) => unit.position(off)));
  if (analysis.layers.length === 0 && !analysis.syntaxError && models.length === 0) return o;
  const layers = analysis.layers.map((l) => layerJson(l, (off) => unit.position(off)));
  // with --min-savings the report shows what apply would do: layers below it stay as they are
  analysis.layers.forEach((l, i) => {
    const low = l.convertible ? belowThreshold(l, opts.minSavings) : undefined;
    if (low) Object.assign(layers[i], { convertible: false, reason: low });
  });
  o.entry = { path: file, error: analysis.syntaxError?.message ?? null, layers, ...(models.length ? { models } : {}), totals: totals(layers) };
  layers.forEach((j) => {
    if (!j.convertible) return;
    const saving = j.savings.params !== null ? `${(j.savings.params * 100).toFixed(1)}% fewer params` : `params × ${j.symbolic?.params.ratio ?? '?'}`;
    o.remaining.push(`${file}:${j.cell ? `cell ${j.cell}:` : ''}${j.line}:${j.column}: ${j.op} can be depthwise separable (${saving})`);
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
    const p = unit.position(s.layer.span.start);
    o.err.push(`${file}:${p.cell ? `cell ${p.cell}:` : ''}${p.line + 1}:${p.column + 1}: skipped: ${s.reason}`);
  }
  if (result.newText === text) return o;
  let content: string;
  try {
    content = unit.serialize(result.newText, result.edits);
  } catch (e) {
    o.rewriteFailed = true;
    o.err.push(`${file}: not rewritten: ${(e as Error).message}`);
    return o;
  }
  if (opts.diff) {
    const rel = path.isAbsolute(file) ? file : path.normalize(file).split(path.sep).join('/');
    const [a, b] = path.isAbsolute(file) ? [rel, rel] : [`a/${rel}`, `b/${rel}`];
    o.diff = createTwoFilesPatch(a, b, src.text, content, undefined, undefined, { context: 3 });
  } else if (opts.dryRun) {
    o.out.push(`${file}: would convert ${result.converted.length} layer(s)`);
  } else {
    try {
      writeAtomic(file, content);
      o.out.push(`${file}: converted ${result.converted.length} layer(s)`);
    } catch (e) {
      o.ioFailed = true;
      o.err.push(`sepconv: ${file}: cannot write: ${(e as Error).message}`);
    }
  }
  return o;
}
