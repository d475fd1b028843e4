/** `sepconv report | apply | check` over files and folders. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { analyzeText } from '../analysis/analyze';
import { initParsing, languageForPath } from '../analysis/parsing';
import { addTotals, layerJson, totals, type TotalsJson } from '../analysis/report';
import { LineIndex } from '../refactor/edits';
import { belowThreshold, rewrite } from '../refactor/index';
import { parseArgs, UsageError, USAGE, type CliOptions } from './args';
import { formatMarkdown, formatTable, type FileJson } from './format';
import { collectFiles } from './walk';

/** Files larger than this are reported and skipped: no model file is this big. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Reads a file as text, or says why it is not analysed. */
function readSource(file: string): { text?: string; error?: string } {
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

export async function run(argv: string[], io: Io): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  let opts: CliOptions;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`sepconv: ${e.message}\n(run "sepconv --help" for usage)`);
      return 2;
    }
    throw e;
  }
  const walked = collectFiles(opts.paths);
  for (const e of walked.errors) io.err(`sepconv: ${e}`);
  if (walked.errors.length && walked.files.length === 0) return 2;
  await initParsing();

  const files: FileJson[] = [];
  const overall: TotalsJson = { layers: 0, convertible: 0, params: { before: 0, after: 0 }, macs: { before: 0, after: 0 }, unresolved: 0 };
  let rewriteFailures = 0;
  let ioFailures = walked.errors.length;
  const diffs: string[] = [];
  /** convertible layers that pass the threshold, for `check` */
  const remaining: string[] = [];
  for (const file of walked.files) {
    const id = languageForPath(file)!;
    const src = readSource(file);
    if (src.error !== undefined || src.text === undefined) {
      files.push({ path: file, error: src.error ?? 'unreadable', layers: [] });
      continue;
    }
    const text = src.text;
    const analysis = analyzeText(text, id, opts.analysis);
    const lines = new LineIndex(text);
    const layers = analysis.layers.map((l) => layerJson(l, (o) => lines.position(o)));
    const entry: FileJson = { path: file, error: analysis.syntaxError?.message ?? null, layers, totals: totals(layers) };
    files.push(entry);
    addTotals(overall, entry.totals!);
    analysis.layers.forEach((l, i) => {
      if (!l.convertible || belowThreshold(l, opts.minSavings)) return;
      const j = layers[i]!;
      const saving = j.savings.params !== null ? `${(j.savings.params * 100).toFixed(1)}% fewer params` : `params × ${j.symbolic?.params.ratio ?? '?'}`;
      remaining.push(`${file}:${j.line}:${j.column}: ${j.op} can be depthwise separable (${saving})`);
    });

    if (opts.command === 'apply' && analysis.syntaxError) {
      rewriteFailures++;
      io.err(`${file}: not rewritten: ${analysis.syntaxError.message}`);
    } else if (opts.command === 'apply' && analysis.layers.some((l) => l.convertible)) {
      const result = rewrite(text, id, analysis, () => true, { depthMultiplier: opts.analysis.depthMultiplier, norm: opts.analysis.norm, lineLength: opts.lineLength, minSavings: opts.minSavings });
      if (result.error) {
        rewriteFailures++;
        io.err(`${file}: ${result.error}`);
        continue;
      }
      for (const s of result.skipped.filter((x) => x.layer.convertible)) {
        const p = lines.position(s.layer.span.start);
        io.err(`${file}:${p.line + 1}:${p.column + 1}: skipped: ${s.reason}`);
      }
      if (result.newText === text) continue;
      if (opts.diff) {
        const rel = path.isAbsolute(file) ? file : path.normalize(file).split(path.sep).join('/');
        const [a, b] = path.isAbsolute(file) ? [rel, rel] : [`a/${rel}`, `b/${rel}`];
        diffs.push(createTwoFilesPatch(a, b, text, result.newText, undefined, undefined, { context: 3 }));
      } else if (opts.dryRun) {
        io.out(`${file}: would convert ${result.converted.length} layer(s)`);
      } else {
        try {
          writeAtomic(file, result.newText);
          io.out(`${file}: converted ${result.converted.length} layer(s)`);
        } catch (e) {
          ioFailures++;
          io.err(`sepconv: ${file}: cannot write: ${(e as Error).message}`);
        }
      }
    }
  }

  switch (opts.command) {
    case 'report':
      if (opts.format === 'json') io.out(JSON.stringify({ files: files.map(({ totals: _t, ...f }) => f), totals: overall }, null, 2));
      else if (opts.format === 'markdown') io.out(formatMarkdown(files, overall));
      else io.out(formatTable(files, overall));
      return ioFailures ? 2 : 0;
    case 'apply':
      if (opts.diff) io.out(diffs.join(''));
      if (ioFailures) return 2;
      return rewriteFailures ? 1 : 0;
    case 'check': {
      for (const f of files) if (f.error) io.err(`${f.path}: ${f.error}`);
      for (const r of remaining) io.out(r);
      io.out(remaining.length ? `${remaining.length} convertible convolution(s) remain` : 'no convertible convolutions');
      if (ioFailures) return 2;
      return remaining.length ? 1 : 0;
    }
  }
}
