/**
 * The bundled command spreads many files over the main thread and worker threads (the tests of the
 * command itself run from sources, on one thread). Its report must be the one a single thread gives,
 * file for file, over every fixture: Python models, multi-file shape cases, tfjs, notebooks.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ROOT, tempDir } from '../helpers';

void test('the bundled command on worker threads reports what one thread reports', { skip: os.availableParallelism() < 2 && 'one core: the command never starts workers' }, () => {
  const dist = tempDir('sepconv-dist-');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs')], { env: { ...process.env, SEPCONV_DIST: dist, SEPCONV_ENTRIES: 'cli' }, stdio: 'pipe' });
  const corpus = tempDir('sepconv-pool-');
  fs.cpSync(path.join(ROOT, 'test/fixtures'), corpus, { recursive: true });
  const files = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  // and the single-file fixtures again in one folder, Python and tfjs files alternating in walk order
  const singles = files(corpus).filter((f) => /[/\\](pytorch|tfjs)[/\\]/.test(f) && /input\.(py|js|ts)$/.test(f));
  fs.mkdirSync(path.join(corpus, 'mixed'));
  const py = singles.filter((f) => f.endsWith('.py'));
  const js = singles.filter((f) => !f.endsWith('.py'));
  for (let i = 0; i < Math.max(py.length, js.length); i++) {
    for (const [k, f] of [py[i], js[i]].entries()) if (f) fs.copyFileSync(f, path.join(corpus, 'mixed', `m${String(2 * i + k).padStart(3, '0')}${path.extname(f)}`));
  }
  const sources = files(corpus).filter((f) => /\.(py|js|ts|ipynb)$/.test(f));
  assert.ok(sources.length >= 128, `${sources.length} source files: too few for the command to use workers`);
  assert.ok(sources.some((f) => f.endsWith('.py')) && sources.some((f) => /\.[jt]s$/.test(f)), 'both language families');

  const run = (threads: string | undefined, ...argv: string[]) => {
    const env = { ...process.env };
    delete env.SEPCONV_THREADS;
    if (threads) env.SEPCONV_THREADS = threads;
    const r = spawnSync(process.execPath, [path.join(dist, 'cli.js'), ...argv, corpus], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
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
});
