// `npm run bench`: prints a table (figure, ours, baseline, ratio) and writes BENCHMARKS.md.
// Figures, not tests: it exits non-zero only when something crashes.
// Two corpora: the generated one (bench/corpus.mjs) and a real one, the model source Debian's
// python3-torchvision and python3-torchaudio install, read in place (skipped, and said so, when
// they are not installed). BENCH_RUNS (5) and BENCH_REAL_RUNS (3) set the alternating runs.
// Cold figures run with --no-cache; warm ones are second runs over unchanged files with the
// persistent result cache (src/cli/cache.ts) in a folder of the benchmark's own.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildCorpus } from './corpus.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.dirname(here);
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const corpus = path.join(here, '.corpus');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const REAL_RUNS = Number(process.env.BENCH_REAL_RUNS ?? 3);
const DIST_PACKAGES = '/usr/lib/python3/dist-packages';
const REAL = [
  { pkg: 'python3-torchvision', dir: path.join(DIST_PACKAGES, 'torchvision', 'models') },
  { pkg: 'python3-torchaudio', dir: path.join(DIST_PACKAGES, 'torchaudio', 'models') },
];
const timesFile = path.join(os.tmpdir(), `sepconv-bench-times-${process.pid}.json`);
const cacheDir = path.join(os.tmpdir(), `sepconv-bench-cache-${process.pid}`);

function time(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: root, maxBuffer: 1 << 30, encoding: 'utf8', ...opts });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

/**
 * `sepconv report --json` over `targets`, with each file's time and thread and the process's CPU
 * time (src/cli/pool.ts); without the result cache unless `cached`.
 */
function sepconv(targets, threads, cached = false) {
  const env = { ...process.env, SEPCONV_FILE_TIMES: timesFile, SEPCONV_CACHE_DIR: cacheDir };
  delete env.SEPCONV_THREADS;
  if (threads) env.SEPCONV_THREADS = String(threads);
  // started as `sepconv` starts: bin/sepconv.js as a program, its first line giving node's environment
  const r = time(path.join(root, 'bin', 'sepconv.js'), ['report', '--json', ...(cached ? [] : ['--no-cache']), ...targets], { env });
  const times = JSON.parse(fs.readFileSync(timesFile, 'utf8'));
  fs.rmSync(timesFile, { force: true });
  return { ...r, times };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const ms = (x) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);

/** p50, p95, max and the slowest files of one run's per-file times (files that were analysed: not skipped by the prefilter alone). */
function perFile(times, base) {
  const files = times.files;
  const xs = files.map((f) => f.ms);
  const slowest = [...files].sort((a, b) => b.ms - a.ms).slice(0, 3);
  return {
    n: files.length,
    p50: quantile(xs, 0.5),
    p95: quantile(xs, 0.95),
    max: Math.max(...xs),
    slowest: slowest.map((f) => `${path.relative(base, f.path)} ${ms(f.ms)}`).join(', '),
  };
}

/**
 * One corpus: `report --json` (workers), ast-grep and the floor alternating, `runs` times; then one
 * run on one thread. Per-file times of the median workers run and of the one-thread run.
 */
function batch(targets, runs) {
  const astGrep = [path.join(here, 'node_modules', '.bin', 'ast-grep'), ['run', '-p', 'nn.Conv2d($$$)', ...targets]];
  // the floor in the environment the command starts in (without what package.json's sepconvServer.unset names)
  const floorEnv = { ...process.env };
  for (const name of manifest.sepconvServer.unset) delete floorEnv[name];
  const floorCmd = [process.execPath, [path.join(here, 'floor.mjs'), ...targets], { env: floorEnv }];
  const ours = [];
  const base = [];
  const floor = [];
  let layers = 0;
  let parsed = { python: 0, tfjs: 0 };
  for (let i = 0; i < runs; i++) {
    const a = sepconv(targets);
    ours.push(a);
    layers = JSON.parse(a.stdout).totals.layers;
    base.push(time(...astGrep).ms);
    const f = time(...floorCmd);
    floor.push(f.ms);
    parsed = JSON.parse(f.stdout);
  }
  const mid = [...ours].sort((a, b) => a.ms - b.ms)[Math.floor(runs / 2)];
  const single = sepconv(targets, 1);
  // the persistent cache: one run fills it (cold), the next ones find every file unchanged (warm)
  fs.rmSync(cacheDir, { recursive: true, force: true });
  const filling = sepconv(targets, undefined, true);
  const warm = [];
  const warmBase = [];
  for (let i = 0; i < runs; i++) {
    warm.push(sepconv(targets, undefined, true));
    warmBase.push(time(...astGrep).ms);
  }
  fs.rmSync(cacheDir, { recursive: true, force: true });
  const warmMid = [...warm].sort((a, b) => a.ms - b.ms)[Math.floor(runs / 2)];
  return {
    layers,
    ours: mid.ms,
    pooled: mid,
    base: median(base),
    floor: median(floor),
    parsed,
    single,
    filling,
    warm: warmMid,
    warmBase: median(warmBase),
  };
}

function corpusRows(name, targets, runs, described, base, withTargets) {
  const b = batch(targets, runs);
  const rows = [];
  // how many threads the command chose (src/cli/pool.ts: a family is shared only when it has many model files)
  const n = b.pooled.times.threads;
  const threads = n === 1 ? '1 thread' : `${n} threads`;
  rows.push([
    `${name}: report --json over ${described} (${b.layers} convs found), ${threads}, median of ${runs} wall`,
    ms(b.ours),
    `${ms(b.base)} (ast-grep run -p 'nn.Conv2d($$$)', alternating)`,
    `${(b.ours / b.base).toFixed(2)}x ast-grep's time${withTargets ? ` (target ≤ 2x: ${b.ours <= 2 * b.base ? 'met' : 'missed'})` : ''}`,
  ]);
  rows.push([
    `${name}: the same run's CPU time, every thread (cores busy = CPU / wall)`,
    `${ms(b.pooled.times.cpuMs)}`,
    '',
    `${(b.pooled.times.cpuMs / b.pooled.ms).toFixed(2)} cores busy`,
  ]);
  // both threads kept busy by the pool (time in files / wall), against the cores the process got (CPU / wall): the difference is the machine's other work
  const inFiles = Array.from({ length: n }, (_, t) => b.pooled.times.files.filter((f) => f.thread === t).reduce((a, f) => a + f.ms, 0));
  rows.push([
    `${name}: the same run, each thread's time in files / wall (the pool's balance; a thread waiting for a core still counts)`,
    inFiles.map((x) => `${(x / b.pooled.ms).toFixed(2)}`).join(', '),
    '',
    `load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores when the row was written`,
  ]);
  rows.push([
    `${name}: report --json on one thread (SEPCONV_THREADS=1), one run`,
    ms(b.single.ms),
    `${ms(b.ours)} (${threads}, above)`,
    `${(b.single.ms / b.ours).toFixed(2)}x the default run's wall`,
  ]);
  rows.push([
    `${name}: report --json filling an empty result cache (a first run with the cache on), one run`,
    ms(b.filling.ms),
    `${ms(b.ours)} (--no-cache, above)`,
    `${(b.filling.ms / b.ours).toFixed(2)}x`,
  ]);
  rows.push([
    `${name}: report --json again, nothing changed (warm result cache), ${threads}, median of ${runs} wall; CPU ${ms(b.warm.times.cpuMs)}`,
    ms(b.warm.ms),
    `${ms(b.warmBase)} (ast-grep, alternating)`,
    `${(b.warm.ms / b.warmBase).toFixed(2)}x ast-grep's time${withTargets ? ` (target ≤ 2x: ${b.warm.ms <= 2 * b.warmBase ? 'met' : 'missed'})` : ''}`,
  ]);
  for (const [label, t, target] of [
    ['one thread', b.single.times, withTargets],
    // the default run's, when it used more than one thread
    ...(n > 1 ? [[threads, b.pooled.times, false]] : []),
  ]) {
    const p = perFile(t, base);
    rows.push([
      `${name}: time per file, ${label} (${p.n} files; read, analyse, report); slowest: ${p.slowest}`,
      `p50 ${ms(p.p50)}, p95 ${ms(p.p95)}, max ${ms(p.max)}`,
      target ? 'p95 ≤ 250 ms, max ≤ 1 s (target)' : '',
      target ? (p.p95 <= 250 && p.max <= 1000 ? 'met' : 'missed') : '',
    ]);
  }
  rows.push([
    `${name}: floor: read every file, prefilter, parse the ${b.parsed.python + b.parsed.tfjs} that pass (${b.parsed.python} Python, ${b.parsed.tfjs} tfjs) with web-tree-sitter, no analysis (bench/floor.mjs), median of ${runs} wall`,
    ms(b.floor),
    `${ms(b.base)} (ast-grep, same runs)`,
    `${(b.floor / b.base).toFixed(2)}x ast-grep's time`,
  ]);
  return rows;
}

function machine() {
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
}

const pyFiles = (d) =>
  fs
    .readdirSync(d, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? pyFiles(path.join(d, e.name)) : e.name.endsWith('.py') ? [path.join(d, e.name)] : []));

const rows = [];
const stats = buildCorpus(corpus);
rows.push(
  ...corpusRows(
    'generated',
    [corpus],
    RUNS,
    `${stats.pythonFiles} Python + ${stats.tfjsFiles} tfjs files, ${(stats.bytes / 1e6).toFixed(1)} MB`,
    corpus,
    false,
  ),
);

const real = REAL.filter((r) => fs.existsSync(r.dir));
const missing = REAL.filter((r) => !fs.existsSync(r.dir));
const realFiles = real.flatMap((r) => pyFiles(r.dir));
if (real.length) {
  const bytes = realFiles.reduce((a, f) => a + fs.statSync(f).size, 0);
  const described = `${realFiles.length} Python files, ${(bytes / 1e6).toFixed(1)} MB: ${real.map((r) => path.relative(DIST_PACKAGES, r.dir)).join(' and ')} as Debian installs them`;
  rows.push(
    ...corpusRows(
      'real',
      real.map((r) => r.dir),
      REAL_RUNS,
      described,
      DIST_PACKAGES,
      true,
    ),
  );
}
for (const r of missing) rows.push([`real: ${r.dir} is not there (install ${r.pkg}: scripts/debian-deps.sh): skipped`, 'n/a', '', '']);

const editor = await import('./editor.mjs')
  .then(async (m) => {
    const out = await m.editorFigures(root);
    // open → first hints and first hover, per model file: the generated corpus's first 30 model files and every real file with a conv
    const generated = pyFiles(path.join(corpus))
      .filter((f) => /\bConv[123]d\(/.test(fs.readFileSync(f, 'utf8')))
      .slice(0, 30);
    out.push(...(await m.openFigures(root, 'generated', generated, corpus, false)));
    const withConv = realFiles.filter((f) => /\bConv(?:Transpose)?[123]d\(/.test(fs.readFileSync(f, 'utf8')));
    if (withConv.length) {
      out.push(...(await m.openFigures(root, 'real', withConv, DIST_PACKAGES, true)));
      const resnet = path.join(DIST_PACKAGES, 'torchvision', 'models', 'resnet.py');
      if (fs.existsSync(resnet)) out.push(...(await m.realEditFigures(root, resnet)));
    }
    return out;
  })
  .catch((e) => [[`editor figures: ${e.message.split('\n')[0]}`, 'n/a', '', '']]);
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
const previous = fs.existsSync(path.join(root, 'BENCHMARKS.md')) ? fs.readFileSync(path.join(root, 'BENCHMARKS.md'), 'utf8') : '';
// the previous run's table stays below, for comparison
const keep = previous
  .replace(/^# Benchmarks\n\n/, '')
  .replace(/\n## Previous run[^]*$/, '')
  .trim();
fs.writeFileSync(path.join(root, 'BENCHMARKS.md'), keep ? `${md}\n## Previous run\n\n${keep}\n` : md);
console.log(md);
