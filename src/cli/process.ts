/**
 * The work on one file — read, analyse, report, rewrite — as a plain outcome, so that it can run in
 * a worker thread and the main thread only prints.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import { createTwoFilesPatch } from 'diff';
import { analyzeText } from '../analysis/analyze';
import { cellAt, isNotebook, NOTEBOOK_LANGUAGE, notebookText, updateNotebook } from '../analysis/notebook';
import { languageForPath, type LanguageId } from '../analysis/parsing';
import type { PythonEnvironment } from '../analysis/environment';
import { describeFsError, diskSources, readSourceFile, type ShapeSources } from '../analysis/files';
import type { Diagnostic } from '../analysis/model';
import { layerJson, modelJson, totals } from '../analysis/report';
import { frameworkFor } from '../frameworks/index';
import { applyEdits, LineIndex, type TextEdit } from '../refactor/edits';
import { belowThreshold, rewrite } from '../refactor/index';
import type { CliOptions } from './args';
import { DEFAULT_PYTHON, pythonEnvironmentSync } from '../environment/python';
import { buildHash, recording, ResultCache } from './cache';
import { cacheHome } from '../start/compileCache';
import type { FileJson } from '../analysis/reportFormats';

export interface FileOutcome {
  entry: FileJson;
  /** `check` lines for convertible layers that pass the threshold */
  remaining: string[];
  out: string[];
  err: string[];
  diff?: string;
  /** the file has a syntax error, so it is never rewritten (exit code 1 for check and apply) */
  syntaxError: boolean;
  /** apply: a rewrite that would not parse (an internal error, nothing written) */
  rewriteFailed: boolean;
  /** not written, or not analysed at all (unreadable, too large, binary, invalid notebook, an internal error): exit code 2 */
  ioFailed: boolean;
}

/** Why a write was refused or failed: a user-facing reason. */
export class WriteRefused extends Error {}

/**
 * Writes `text` over `file`, which held `original` when it was read: through a symbolic link to its
 * target; through a temporary file in the same folder and a rename (atomic: a reader, or a crash,
 * sees the old or the new file, never a part), keeping mode and owner; in place when the file has
 * several hard links (a rename would give this name a new file and leave the other names with the
 * old text). Refused, with the reason, when the file changed on disk since it was read (its content
 * is compared right before the rename), is read-only (unless `force`), or belongs to another user
 * that the new file could not be given to.
 */
export function writeChecked(file: string, original: string, text: string, force: boolean): void {
  let target: string;
  let st: fs.Stats;
  try {
    target = fs.realpathSync(file);
    st = fs.statSync(target);
  } catch (e) {
    throw new WriteRefused(`cannot write: ${describeFsError(e)}`);
  }
  const writable = (st.mode & 0o222) !== 0 && canWrite(target);
  if (!writable && !force) throw new WriteRefused('not rewritten: the file is read-only (--force writes it anyway)');
  const unchanged = () => {
    let now: string;
    try {
      now = fs.readFileSync(target).toString('utf8');
    } catch (e) {
      throw new WriteRefused(`not rewritten: cannot read it again before writing (${describeFsError(e)})`);
    }
    if (now !== original) throw new WriteRefused('not rewritten: the file changed on disk while it was analysed; run again');
  };
  if (st.nlink > 1) {
    if (!writable)
      throw new WriteRefused('not rewritten: the file is read-only and has several hard links (only writing in place keeps them)');
    unchanged();
    try {
      fs.writeFileSync(target, text);
    } catch (e) {
      throw new WriteRefused(`cannot write: ${describeFsError(e)}`);
    }
    return;
  }
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.sepconv-${process.pid}-${threadId}.tmp`);
  try {
    fs.writeFileSync(tmp, text, { flag: 'wx', mode: 0o600 });
    fs.chmodSync(tmp, st.mode & 0o7777);
    if (process.getuid && process.getgid && (st.uid !== process.getuid() || st.gid !== process.getgid())) {
      try {
        fs.chownSync(tmp, st.uid, st.gid);
      } catch {
        throw new WriteRefused(
          `not rewritten: it belongs to user ${st.uid} (group ${st.gid}), and a rewritten file could not be given to them`,
        );
      }
    }
    unchanged();
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    if (e instanceof WriteRefused) throw e;
    throw new WriteRefused(`cannot write: ${describeFsError(e)}`);
  }
}

function canWrite(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return true;
  } catch {
    return false;
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

/** `syntax error at line 3, column 5 (...)` with the line and column of the file (in a notebook: of the cell). */
function syntaxMessage(d: Diagnostic, unit: Unit): string {
  const p = unit.position(d.span.start);
  return d.message.replace(/at line \d+, column \d+/, `at ${p.cell ? `cell ${p.cell}, ` : ''}line ${p.line + 1}, column ${p.column + 1}`);
}

export function unitFor(file: string, content: string): Unit {
  if (!isNotebook(file)) {
    let lines: LineIndex | undefined; // most files hold nothing to place
    return {
      id: languageForPath(file)!,
      text: content,
      position: (off) => (lines ??= new LineIndex(content)).position(off),
      serialize: (t) => t,
    };
  }
  const nb = notebookText(content);
  const cellLines = new Map(nb.cells.map((c) => [c.index, new LineIndex(c.source)]));
  return {
    id: NOTEBOOK_LANGUAGE,
    text: nb.text,
    position(off) {
      const cell = cellAt(nb, off)!;
      return { ...cellLines.get(cell.index)!.position(off - cell.start), cell: cell.index + 1 };
    },
    serialize(_t, edits) {
      const sources = new Map<number, string>();
      for (const cell of nb.cells) {
        const inCell = edits
          .filter((e) => e.start >= cell.start && e.end <= cell.end)
          .map((e) => ({ ...e, start: e.start - cell.start, end: e.end - cell.start }));
        if (inCell.length) sources.set(cell.index, applyEdits(cell.source, inCell));
      }
      return updateNotebook(content, sources);
    },
  };
}

const blank = (file: string): FileOutcome => ({
  entry: { path: file, error: null, layers: [] },
  remaining: [],
  out: [],
  err: [],
  syntaxError: false,
  rewriteFailed: false,
  ioFailed: false,
});

/** One file; whatever happens in it (an internal error too) is that file's outcome, never the run's. */
export function processFile(file: string, opts: CliOptions): FileOutcome {
  try {
    return processOne(file, opts);
  } catch (e) {
    const o = blank(file);
    o.entry.error = 'not analysed: an internal error in sepconv (please report it with this file)';
    o.ioFailed = true;
    if (process.env.SEPCONV_DEBUG) o.err.push(`${file}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return o;
  }
}

/** This thread's result cache for these options (report and check only: apply writes), or none. */
let resultCache: { opts: CliOptions; cache: ResultCache<FileOutcome> | undefined } | undefined;

function cacheFor(opts: CliOptions): ResultCache<FileOutcome> | undefined {
  if (resultCache?.opts === opts) return resultCache.cache;
  // the bundle identifies the build; a run from the TypeScript sources (the tests) keeps no cache
  const build = opts.cache !== false && opts.command !== 'apply' && __filename.endsWith('.js') ? buildHash(__filename) : undefined;
  const key = JSON.stringify({
    ...opts,
    format: undefined,
    paths: opts.paths.map((p) => path.resolve(p)),
    debug: !!process.env.SEPCONV_DEBUG,
  });
  resultCache = { opts, cache: build ? new ResultCache<FileOutcome>(cacheHome(), build, key) : undefined };
  return resultCache.cache;
}

/** A result that ran into a time budget may differ in the next run: not kept. */
const TIMED_OUT = /budget: (the file's \d+ s|more than [\d.]+ s for one model)/;

/**
 * The stored result for `file` when the result cache holds a current one (no parser, no worker
 * needed: a run with nothing changed answers from the main thread alone); undefined otherwise.
 */
export function cachedOutcome(file: string, opts: CliOptions): FileOutcome | undefined {
  try {
    const cache = cacheFor(opts);
    if (!cache) return undefined;
    const src = readSourceFile(file);
    return src.text === undefined ? undefined : cache.get(file, src.text, sourcesFor(file, opts));
  } catch {
    return undefined; // processFile reports what went wrong
  }
}

function processOne(file: string, opts: CliOptions): FileOutcome {
  const cache = cacheFor(opts);
  if (!cache) return analyseOne(file, opts);
  const src = readSourceFile(file);
  if (src.text === undefined) return analyseOne(file, opts);
  const sources = sourcesFor(file, opts);
  const hit = cache.get(file, src.text, sources);
  if (hit) return hit;
  const rec = recording(sources);
  const o = analyseOne(file, opts, rec.sources, src);
  if (!TIMED_OUT.test(JSON.stringify(o))) cache.put(file, src.text, rec.deps, o);
  return o;
}

/** What shape inference reads for `file`: the disk, read once per run; python3's packages, asked for when first needed. */
export const sourcesFor = (file: string, opts: CliOptions): ShapeSources => ({
  ...diskSources(isNotebook(file) ? undefined : file, opts.paths, undefined, true),
  python: opts.analysis.python ? undefined : defaultPython,
});

/** python3 on PATH (none is no error: imports of packages are then not followed). */
function defaultPython(): PythonEnvironment | undefined {
  const a = pythonEnvironmentSync(DEFAULT_PYTHON);
  return 'environment' in a ? a.environment : undefined;
}

function analyseOne(file: string, opts: CliOptions, sources = sourcesFor(file, opts), src = readSourceFile(file)): FileOutcome {
  const o = blank(file);
  if (src.error !== undefined || src.text === undefined) {
    o.entry.error = src.error ?? 'unreadable';
    o.ioFailed = true;
    return o;
  }
  let unit: Unit;
  try {
    unit = unitFor(file, src.text);
  } catch (e) {
    o.entry.error = (e as Error).message;
    o.ioFailed = true;
    return o;
  }
  const { text, id } = unit;
  const analysis = analyzeText(text, id, opts.analysis, { sources: frameworkFor(id).readsNeighbours ? sources : undefined });
  const models = (analysis.models ?? []).map((m) => modelJson(m, (off) => unit.position(off)));
  if (analysis.layers.length === 0 && !analysis.syntaxError && models.length === 0) return o;
  const layers = analysis.layers.map((l) => layerJson(l, (off) => unit.position(off)));
  // with --min-savings the report shows what apply would do: layers below it stay as they are
  analysis.layers.forEach((l, i) => {
    const low = l.convertible ? belowThreshold(l, opts.minSavings) : undefined;
    if (low) Object.assign(layers[i], { convertible: false, reason: low });
  });
  // positions in a notebook's joined cells become positions in its cells
  const syntax = analysis.syntaxError ? syntaxMessage(analysis.syntaxError, unit) : undefined;
  if (syntax && syntax !== analysis.syntaxError!.message)
    for (const l of layers) l.reason = l.reason?.replace(analysis.syntaxError!.message, syntax) ?? null;
  o.entry = { path: file, error: syntax ?? null, layers, ...(models.length ? { models } : {}), totals: totals(layers) };
  o.syntaxError = syntax !== undefined;
  layers.forEach((j) => {
    if (!j.convertible) return;
    const saving =
      j.savings.params !== null ? `${(j.savings.params * 100).toFixed(1)}% fewer params` : `params × ${j.symbolic?.params.ratio ?? '?'}`;
    o.remaining.push(`${file}:${j.cell ? `cell ${j.cell}:` : ''}${j.line}:${j.column}: ${j.op} can be depthwise separable (${saving})`);
  });
  if (opts.command !== 'apply') return o;
  if (analysis.syntaxError) return o;
  if (!analysis.layers.some((l) => l.convertible)) return o;
  const result = rewrite(text, id, analysis, () => true, {
    depthMultiplier: opts.analysis.depthMultiplier,
    norm: opts.analysis.norm,
    lineLength: opts.lineLength,
    minSavings: opts.minSavings,
  });
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
      writeChecked(file, src.text, content, opts.force);
      o.out.push(`${file}: converted ${result.converted.length} layer(s)`);
    } catch (e) {
      if (!(e instanceof WriteRefused)) throw e;
      o.ioFailed = true;
      o.err.push(`${file}: ${e.message}`);
    }
  }
  return o;
}
