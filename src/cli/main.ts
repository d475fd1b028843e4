/** `sepconv report | apply | check` over files and folders. */
import { addTotals, chainText, totals, type TotalsJson } from '../analysis/report';
import { parseArgs, UsageError, USAGE, type CliOptions } from './args';
import { formatMarkdown, formatTable, type FileJson } from '../analysis/reportFormats';
import { processFiles } from './pool';
import { pythonEnvironmentSync } from '../environment/python';
import { collectFiles } from './walk';
import { applyWithWeights } from './weights';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
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
  // an interpreter the user names must answer (the default one is asked only when a file needs it)
  if (opts.python !== undefined) {
    const a = pythonEnvironmentSync(opts.python);
    if ('error' in a) {
      io.err(`sepconv: --python ${opts.python}: ${a.error}`);
      return 2;
    }
    opts.analysis.python = a.environment;
  }
  const walked = collectFiles(opts.paths);
  for (const e of walked.errors) io.err(`sepconv: ${e}`);
  if (walked.errors.length && walked.files.length === 0) return 2;

  if (opts.weights !== undefined) return walked.errors.length ? 2 : applyWithWeights(walked.files, opts, io);

  const files: FileJson[] = [];
  const overall: TotalsJson = totals([]);
  let rewriteFailures = 0;
  let syntaxErrors = 0;
  let ioFailures = walked.errors.length;
  /** files not analysed (unreadable, too large, binary, invalid notebook, internal error) */
  let notAnalysed = 0;
  const diffs: string[] = [];
  /** convertible layers that pass the threshold, for `check` */
  const remaining: string[] = [];
  /** proven shape mismatches, for `check` */
  const mismatches: string[] = [];
  const outcomes = await processFiles(walked.files, opts);
  for (const o of outcomes) {
    files.push(o.entry);
    if (o.entry.totals) addTotals(overall, o.entry.totals);
    remaining.push(...o.remaining);
    for (const m of o.entry.models ?? []) {
      for (const x of m.mismatches ?? []) {
        const where = `${x.file ?? o.entry.path}:${x.cell ? `cell ${x.cell}:` : ''}${x.line}:${x.column}`;
        mismatches.push(
          `${where}: shape mismatch in model ${m.name} (input ${m.inputShape?.join('x') ?? '?'}): ${x.message} (${chainText(x)})`,
        );
      }
    }
    for (const line of o.out) io.out(line);
    for (const line of o.err) io.err(line);
    if (o.diff) diffs.push(o.diff);
    if (o.rewriteFailed) rewriteFailures++;
    if (o.syntaxError) syntaxErrors++;
    if (o.ioFailed) ioFailures++;
    if (o.entry.error && !o.syntaxError) notAnalysed++;
    // every file not analysed is named with its reason (report: in the table or the JSON)
    if (o.entry.error && opts.command === 'apply')
      io.err(`${o.entry.path}: not rewritten: ${o.entry.error.replace(/^not rewritten: /, '')}`);
    if (o.entry.error && opts.command === 'check') io.err(`${o.entry.path}: ${o.entry.error}`);
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
      return rewriteFailures || syntaxErrors ? 1 : 0;
    case 'check': {
      for (const r of remaining) io.out(r);
      for (const m of mismatches) io.out(m);
      const left = [
        ...(notAnalysed ? [`${notAnalysed} file(s) not analysed`] : []),
        ...(syntaxErrors ? [`${syntaxErrors} file(s) with a syntax error`] : []),
      ];
      io.out(
        (remaining.length
          ? `${remaining.length} convertible convolution(s) remain`
          : `no convertible convolutions${left.length ? ' in the files analysed' : ''}`) +
          [...(mismatches.length ? [`${mismatches.length} shape mismatch(es)`] : []), ...left].map((l) => `; ${l}`).join(''),
      );
      if (ioFailures) return 2;
      return remaining.length || syntaxErrors || mismatches.length ? 1 : 0;
    }
  }
}
