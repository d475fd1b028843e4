/**
 * The command, the language server and its analysis thread start through V8's code cache
 * (src/start/compileCache.ts). The cache is only for speed: a bundle runs the same with it, without
 * it, with a damaged one and after a rebuild, and the bundled command gives the same report on a
 * start that writes the cache and on one that reads it (a script run from cached data cannot
 * `import()` in Node.js 20: the build turns web-tree-sitter's into requires).
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { CachedStart } from '../../src/start/compileCache';
import { bundledCli, ROOT, tempDir } from '../helpers';

/**
 * Runs `bundle` as a stub would, with the cache in `cacheDir`, in a process of its own (a process
 * that compiled a script once takes it from its own memory, never from the cache): the bundle's
 * exports and what became of the cache; `save` writes the cache before the process ends.
 */
function start(bundle: string, cacheDir: string, save = false): { exports: unknown; cache: CachedStart['cache']; file: string } {
  const script = `
    const { runBundle } = require(${JSON.stringify(path.join(ROOT, 'src/start/compileCache.ts'))});
    const stub = { exports: {} };
    const started = runBundle(${JSON.stringify(bundle)}, stub, 3600000);
    ${save ? 'started.save();' : ''}
    process.stdout.write(JSON.stringify({ exports: stub.exports, cache: started.cache, file: started.file }));
    process.exit(0);`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
    env: { ...process.env, SEPCONV_CACHE_DIR: cacheDir },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { exports: unknown; cache: CachedStart['cache']; file: string };
}

void test('a bundle runs the same from its code cache, without one, with a damaged one and after a rebuild', () => {
  const dir = tempDir('sepconv-bundle-');
  const cacheDir = tempDir('sepconv-v8-');
  const bundle = path.join(dir, 'tool.bundle.js');
  const source = (n: number) =>
    `const path = require('path');\nfunction widths(c) { return [c, c * 2, c * 4].map((w) => w + ${n}); }\n` +
    `module.exports = { widths: widths(16), file: path.basename(__filename), dir: __dirname, self: module.exports === exports };\n`;
  fs.writeFileSync(bundle, source(0));
  const expected = { widths: [16, 32, 64], file: 'tool.bundle.js', dir, self: true };

  const first = start(bundle, cacheDir);
  assert.deepEqual(first.exports, expected);
  assert.equal(first.cache, 'none');
  assert.ok(fs.existsSync(first.file), 'the cache is written at exit');
  if (process.platform !== 'win32') {
    assert.equal(fs.statSync(first.file).mode & 0o777, 0o600, 'the cache file is the user’s alone');
    assert.equal(fs.statSync(path.dirname(first.file)).mode & 0o777, 0o700);
  }

  const second = start(bundle, cacheDir);
  assert.equal(second.cache, 'accepted');
  assert.equal(second.file, first.file);
  assert.deepEqual(second.exports, expected);

  // a damaged cache: V8 refuses it, the bundle runs, and the start writes it again
  fs.writeFileSync(first.file, Buffer.alloc(4096, 7));
  const damaged = start(bundle, cacheDir, true);
  assert.equal(damaged.cache, 'rejected');
  assert.deepEqual(damaged.exports, expected);
  assert.equal(start(bundle, cacheDir).cache, 'accepted');

  // a cache file others may write is not read (bytecode is code), and the start writes the user's own again
  if (process.platform !== 'win32') {
    fs.chmodSync(first.file, 0o622);
    assert.equal(start(bundle, cacheDir).cache, 'none');
    assert.equal(fs.statSync(first.file).mode & 0o777, 0o600);
    assert.equal(start(bundle, cacheDir).cache, 'accepted');
  }

  // a rebuild of the same length: another file, never the old bytecode; the old build's file is removed once the new one is written
  fs.writeFileSync(bundle, source(1));
  const rebuilt = start(bundle, cacheDir);
  assert.equal(rebuilt.cache, 'none');
  assert.notEqual(rebuilt.file, first.file);
  assert.deepEqual(rebuilt.exports, { ...expected, widths: [17, 33, 65] });
  assert.deepEqual(fs.readdirSync(path.dirname(first.file)), [path.basename(rebuilt.file)]);

  // a cache folder that cannot be made costs nothing but the speed
  const blocked = path.join(tempDir('sepconv-blocked-'), 'file');
  fs.writeFileSync(blocked, '');
  const nowhere = start(bundle, path.join(blocked, 'cache'), true);
  assert.deepEqual(nowhere.exports, { ...expected, widths: [17, 33, 65] });
});

void test('the bundled command reports the same on the start that writes its code cache and on the one that reads it', () => {
  const dist = bundledCli();
  const cacheDir = tempDir('sepconv-v8-cli-');
  // apply --diff: each run analyses and rewrites every file (apply keeps no results), and writes nothing
  const run = (...flags: string[]) =>
    spawnSync(process.execPath, [path.join(dist, 'cli.js'), 'apply', '--diff', ...flags, path.join(ROOT, 'examples')], {
      env: { ...process.env, SEPCONV_CACHE_DIR: cacheDir },
      encoding: 'utf8',
    });
  assert.equal(run('--no-cache').status, 0);
  assert.deepEqual(fs.readdirSync(cacheDir), [], '--no-cache writes no code cache either');
  const first = run();
  assert.equal(first.status, 0, first.stderr);
  const written = fs.readdirSync(path.join(cacheDir, 'v8'));
  assert.equal(written.length, 1, 'the first start wrote the cache at exit');
  assert.match(written[0], /^cli\.bundle-/);
  const mtime = fs.statSync(path.join(cacheDir, 'v8', written[0])).mtimeMs;
  const second = run();
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.stdout, first.stdout);
  assert.match(second.stdout, /nn\.Sequential\(/, 'the examples were parsed, analysed and rewritten');
  assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'v8')), written);
  assert.equal(fs.statSync(path.join(cacheDir, 'v8', written[0])).mtimeMs, mtime, 'the second start read it and wrote nothing');
});
