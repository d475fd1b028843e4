/**
 * The bundled command spreads many files over the main thread and worker threads (the tests of the
 * command itself run from sources, on one thread). Its report must be the one a single thread gives,
 * file for file, over every fixture: Python models, multi-file shape cases, tfjs, notebooks.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { bundledCli, ROOT, tempDir } from '../helpers';

void test(
  'the bundled command on worker threads reports what one thread reports',
  { skip: os.availableParallelism() < 2 && 'one core: the command never starts workers' },
  () => {
    const dist = bundledCli();
    const corpus = tempDir('sepconv-pool-');
    fs.cpSync(path.join(ROOT, 'test/fixtures'), corpus, { recursive: true });
    const files = (dir: string): string[] =>
      fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    // and the single-file fixtures again in one folder, Python and tfjs files alternating in walk order
    const singles = files(corpus).filter((f) => /[/\\](pytorch|tfjs)[/\\]/.test(f) && /input\.(py|js|ts)$/.test(f));
    fs.mkdirSync(path.join(corpus, 'mixed'));
    const py = singles.filter((f) => f.endsWith('.py'));
    const js = singles.filter((f) => !f.endsWith('.py'));
    for (let i = 0; i < Math.max(py.length, js.length); i++) {
      for (const [k, f] of [py[i], js[i]].entries())
        if (f) fs.copyFileSync(f, path.join(corpus, 'mixed', `m${String(2 * i + k).padStart(3, '0')}${path.extname(f)}`));
    }
    const sources = files(corpus).filter((f) => /\.(py|js|ts|ipynb)$/.test(f));
    assert.ok(sources.length >= 128, `${sources.length} source files: too few for the command to use workers`);
    assert.ok(sources.some((f) => f.endsWith('.py')) && sources.some((f) => /\.[jt]s$/.test(f)), 'both language families');

    const run = (threads: string | undefined, ...argv: string[]) => {
      const env = { ...process.env };
      delete env.SEPCONV_THREADS;
      if (threads) env.SEPCONV_THREADS = threads;
      // each run analyses every file (no results of the run before from the persistent cache)
      const r = spawnSync(process.execPath, [path.join(dist, 'cli.js'), ...argv, '--no-cache', corpus], {
        env,
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const pooled = run(undefined, 'report', '--json');
    const single = run('1', 'report', '--json');
    assert.equal(pooled.code, single.code, pooled.stderr);
    const a = JSON.parse(pooled.stdout) as { files: { path: string }[] };
    const b = JSON.parse(single.stdout) as { files: { path: string }[] };
    assert.ok(b.files.length > 100, `${b.files.length} files in the report`);
    assert.deepEqual(a, b);
    const checkPooled = run(undefined, 'check');
    const checkSingle = run('1', 'check');
    assert.equal(checkPooled.code, checkSingle.code);
    assert.equal(checkPooled.stdout, checkSingle.stdout);
  },
);

void test(
  'on a folder of only Python files, every thread takes files, and the report is one thread’s',
  { skip: os.availableParallelism() < 2 && 'one core: the command never starts workers' },
  () => {
    const dist = bundledCli();
    // the shape cases: model files of every size, and a model importing its blocks from a neighbour
    const corpus = tempDir('sepconv-pool-py-');
    fs.cpSync(path.join(ROOT, 'test/fixtures/shapes'), corpus, { recursive: true });
    const times = path.join(tempDir('sepconv-times-'), 'times.json');
    const run = (threads: string, ...argv: string[]) => {
      const env = { ...process.env, SEPCONV_THREADS: threads, SEPCONV_FILE_TIMES: times };
      const r = spawnSync(process.execPath, [path.join(dist, 'cli.js'), ...argv, '--no-cache', corpus], {
        env,
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      });
      const t = JSON.parse(fs.readFileSync(times, 'utf8')) as { threads: number; files: { path: string; thread: number }[] };
      return { code: r.status, stdout: r.stdout, stderr: r.stderr, t };
    };
    const single = run('1', 'report', '--json');
    const pooled = run('2', 'report', '--json');
    assert.equal(single.t.threads, 1);
    assert.equal(pooled.t.threads, 2);
    const files = pooled.t.files;
    assert.ok(files.length >= 8 && files.every((f) => f.path.endsWith('.py')), `${files.length} Python files`);
    assert.deepEqual(
      files.map((f) => f.path),
      single.t.files.map((f) => f.path),
    );
    // each file done by exactly one thread, and both threads did some
    assert.ok(
      files.every((f) => f.thread === 0 || f.thread === 1),
      JSON.stringify(files),
    );
    assert.deepEqual([...new Set(files.map((f) => f.thread))].sort(), [0, 1]);
    assert.equal(pooled.code, single.code, pooled.stderr);
    assert.equal(pooled.stdout, single.stdout);
    const check = [run('2', 'check'), run('1', 'check')];
    assert.equal(check[0].code, check[1].code);
    assert.equal(check[0].stdout, check[1].stdout);
  },
);

void test(
  'Python files go to a second thread only when at least 128 of them may hold a conv; either way the report is one thread’s',
  { skip: os.availableParallelism() < 2 && 'one core: the command never starts workers' },
  () => {
    const dist = bundledCli();
    const times = path.join(tempDir('sepconv-times-'), 'times.json');
    const run = (corpus: string, threads?: string) => {
      const env: NodeJS.ProcessEnv = { ...process.env, SEPCONV_FILE_TIMES: times };
      delete env.SEPCONV_THREADS;
      if (threads) env.SEPCONV_THREADS = threads;
      const r = spawnSync(process.execPath, [path.join(dist, 'cli.js'), 'report', '--json', '--no-cache', corpus], {
        env,
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      });
      const t = JSON.parse(fs.readFileSync(times, 'utf8')) as { threads: number; files: { path: string; thread: number }[] };
      return { code: r.status, stdout: r.stdout, stderr: r.stderr, t };
    };
    // a package as a repository has one: a few model files, many modules of other code (enough files for workers)
    const few = tempDir('sepconv-pool-few-');
    fs.cpSync(path.join(ROOT, 'test/fixtures/shapes'), few, { recursive: true });
    fs.mkdirSync(path.join(few, 'utils'));
    for (let i = 0; i < 80; i++)
      fs.writeFileSync(
        path.join(few, 'utils', `io_${i}.py`),
        `import os\n\n\ndef load_${i}(path):\n    return os.path.getsize(path) + ${i}\n`,
      );
    const fewDefault = run(few);
    assert.ok(fewDefault.t.files.length >= 90, `${fewDefault.t.files.length} files`);
    assert.equal(fewDefault.t.threads, 1, 'a few dozen model files stay on the main thread');
    const fewForced = run(few, '2');
    assert.equal(fewForced.t.threads, 2, 'SEPCONV_THREADS=2 shares them');
    assert.equal(fewDefault.code, fewForced.code, fewDefault.stderr);
    assert.equal(fewDefault.stdout, fewForced.stdout);

    // 130 small model files, each with its conv: both threads take them
    const many = tempDir('sepconv-pool-many-');
    for (let i = 0; i < 130; i++)
      fs.writeFileSync(
        path.join(many, `net_${i}.py`),
        `import torch.nn as nn\n\n\nclass Net${i}(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(${8 + i}, 64, 3, padding=1)\n\n    def forward(self, x):\n        return self.conv(x)\n`,
      );
    const manyDefault = run(many);
    assert.equal(manyDefault.t.threads, 2);
    assert.deepEqual([...new Set(manyDefault.t.files.map((f) => f.thread))].sort(), [0, 1]);
    const manySingle = run(many, '1');
    assert.equal(manyDefault.stdout, manySingle.stdout);
  },
);
