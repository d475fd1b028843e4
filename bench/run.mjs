// `npm run bench`: prints a table (figure, ours, baseline, ratio) and writes BENCHMARKS.md.
// Figures, not tests: it exits non-zero only when something crashes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildCorpus } from './corpus.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.dirname(here);
const corpus = path.join(here, '.corpus');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function time(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: root, maxBuffer: 1 << 30, encoding: 'utf8', ...opts });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function batchThroughput() {
  const stats = buildCorpus(corpus);
  const sepconv = [process.execPath, [path.join(root, 'bin', 'sepconv.js'), 'report', '--json', corpus]];
  const astGrep = [path.join(here, 'node_modules', '.bin', 'ast-grep'), ['run', '-p', 'nn.Conv2d($$$)', corpus]];
  const floorCmd = [process.execPath, [path.join(here, 'floor.mjs'), corpus]];
  const ours = [];
  const base = [];
  const floor = [];
  let layers = 0;
  let parsed = { python: 0, tfjs: 0 };
  for (let i = 0; i < RUNS; i++) {
    const a = time(...sepconv);
    ours.push(a.ms);
    layers = JSON.parse(a.stdout).totals.layers;
    base.push(time(...astGrep).ms);
    const f = time(...floorCmd);
    floor.push(f.ms);
    parsed = JSON.parse(f.stdout);
  }
  return { stats, layers, ours: median(ours), base: median(base), floor: median(floor), parsed };
}

function machine() {
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
}

const rows = [];
const b = batchThroughput();
rows.push([
  `report --json over ${b.stats.pythonFiles} Python + ${b.stats.tfjsFiles} tfjs files (${(b.stats.bytes / 1e6).toFixed(1)} MB, ${b.layers} convs found), median of ${RUNS} wall`,
  `${b.ours.toFixed(0)} ms`,
  `${b.base.toFixed(0)} ms (ast-grep run -p 'nn.Conv2d($$$)')`,
  `${(b.base / b.ours).toFixed(2)}x faster`,
]);
rows.push([
  `floor: read every file, prefilter, parse the ${b.parsed.python + b.parsed.tfjs} that pass (${b.parsed.python} Python, ${b.parsed.tfjs} tfjs) with web-tree-sitter on the same threads, no analysis (bench/floor.mjs), median of ${RUNS} wall`,
  `${b.floor.toFixed(0)} ms`,
  `${b.base.toFixed(0)} ms (ast-grep, same runs)`,
  `${(b.base / b.floor).toFixed(2)}x faster`,
]);

const editor = await import('./editor.mjs').then((m) => m.editorFigures(root)).catch((e) => [[`editor figures: ${e.message.split('\n')[0]}`, 'n/a', '', '']]);
rows.push(...editor);

const header = ['figure', 'ours', 'baseline', 'ratio'];
const md = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${machine()}.`,
  '',
  `| ${header.join(' | ')} |`,
  `|${header.map(() => '---').join('|')}|`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
  '',
].join('\n');
fs.writeFileSync(path.join(root, 'BENCHMARKS.md'), md);
console.log(md);
