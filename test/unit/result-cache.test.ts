/**
 * The command's persistent result cache (src/cli/cache.ts): a result is reused only while the file,
 * the options, the build and every file its analysis read (a neighbour it imports, a file that did
 * not exist and would now be imported instead) are the same; the bundled command serves a second
 * run from it and recomputes a file whose neighbour changed.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { analyzeText } from '../../src/analysis/analyze';
import { diskSources } from '../../src/analysis/files';
import { defaultOptions } from '../../src/analysis/options';
import { initParsing } from '../../src/analysis/parsing';
import { recording, ResultCache } from '../../src/cli/cache';
import { bundledCli, tempDir } from '../helpers';

before(async () => {
  await initParsing();
});

const block = (width: number) =>
  `import torch.nn as nn\n\nclass Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(3, ${width}, 3)\n\n    def forward(self, x):\n        return self.conv(x)\n`;
const MODEL = `import torch.nn as nn\nfrom blocks import Block\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.block = Block()\n\n    def forward(self, x):\n        return self.block(x)\n`;

/** The model's parameter count as shape inference gives it, through recorded sources. */
function analyse(file: string) {
  const rec = recording(diskSources(file, [], undefined, false));
  const text = fs.readFileSync(file, 'utf8');
  const a = analyzeText(text, 'python', defaultOptions(), { sources: rec.sources });
  return { text, deps: rec.deps, params: a.models?.find((m) => m.name === 'Net')?.params.before ?? null };
}

void test('a stored result is used while nothing it read changed; a changed or newly appearing neighbour, other options or another build invalidate it', () => {
  const root = tempDir('sepconv-cache-case-');
  const pkg = path.join(root, 'pkg');
  fs.mkdirSync(pkg);
  // the neighbour is found one folder up; a blocks.py next to the model would be found first
  fs.writeFileSync(path.join(root, 'blocks.py'), block(8));
  const model = path.join(pkg, 'model.py');
  fs.writeFileSync(model, MODEL);
  const dir = tempDir('sepconv-cache-');
  const cache = new ResultCache<number | null>(dir, 'aaaaaaaaaaaaaaaa', 'options 1');
  const sources = () => diskSources(model, [], undefined, false);

  const first = analyse(model);
  assert.equal(first.params, 3 * 8 * 9 + 8);
  assert.ok(first.deps.reads.get(path.join(root, 'blocks.py')), 'the neighbour read is recorded');
  assert.equal(first.deps.reads.get(path.join(pkg, 'blocks.py')), undefined);
  assert.ok(first.deps.reads.has(path.join(pkg, 'blocks.py')), 'the candidate that did not exist is recorded too');
  cache.put(model, first.text, first.deps, first.params);
  assert.equal(cache.get(model, first.text, sources()), first.params);
  // the model's own text, the options, the build
  assert.equal(cache.get(model, first.text + '\n', sources()), undefined);
  assert.equal(new ResultCache<number | null>(dir, 'aaaaaaaaaaaaaaaa', 'options 2').get(model, first.text, sources()), undefined);
  assert.equal(new ResultCache<number | null>(dir, 'bbbbbbbbbbbbbbbb', 'options 1').get(model, first.text, sources()), undefined);

  // the neighbour changes: the stored result is not used, and a new analysis gives another answer
  fs.writeFileSync(path.join(root, 'blocks.py'), block(16));
  assert.equal(cache.get(model, first.text, sources()), undefined);
  const second = analyse(model);
  assert.equal(second.params, 3 * 16 * 9 + 16);
  cache.put(model, second.text, second.deps, second.params);
  assert.equal(cache.get(model, second.text, sources()), second.params);

  // a file that did not exist appears where the import now finds it
  fs.writeFileSync(path.join(pkg, 'blocks.py'), block(4));
  assert.equal(cache.get(model, second.text, sources()), undefined);
  assert.equal(analyse(model).params, 3 * 4 * 9 + 4);
});

void test('the bundled command: a second run is served from the cache, a changed neighbour is analysed again, --no-cache neither reads nor writes it', () => {
  const dist = bundledCli();
  const corpus = tempDir('sepconv-cache-corpus-');
  fs.writeFileSync(path.join(corpus, 'blocks.py'), block(8));
  fs.writeFileSync(path.join(corpus, 'model.py'), MODEL);
  const cacheDir = path.join(tempDir('sepconv-cache-'), 'c');
  const run = (...argv: string[]) => {
    const r = spawnSync(process.execPath, [path.join(dist, 'cli.js'), 'report', '--json', ...argv, corpus], {
      env: { ...process.env, SEPCONV_THREADS: '1', SEPCONV_CACHE_DIR: cacheDir },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const netParams = (out: string) =>
    (JSON.parse(out) as { files: { models?: { name: string; params: { before: number } }[] }[] }).files
      .flatMap((f) => f.models ?? [])
      .find((m) => m.name === 'Net')?.params.before;

  assert.equal(netParams(run('--no-cache')), 3 * 8 * 9 + 8);
  assert.equal(fs.existsSync(cacheDir), false, '--no-cache writes nothing');
  const cold = run();
  assert.equal(netParams(cold), 3 * 8 * 9 + 8);
  const entries = fs.readdirSync(cacheDir).flatMap((b) => fs.readdirSync(path.join(cacheDir, b)).map((e) => path.join(cacheDir, b, e)));
  assert.ok(entries.length >= 1, 'entries written');
  assert.equal(run(), cold);
  // served from the cache: an entry altered by hand is what the next run reports
  for (const e of entries) fs.writeFileSync(e, fs.readFileSync(e, 'utf8').replaceAll(`"before":${3 * 8 * 9 + 8}`, '"before":12345'));
  assert.equal(netParams(run()), 12345);
  assert.equal(netParams(run('--no-cache')), 3 * 8 * 9 + 8, '--no-cache does not read it');
  // the neighbour changes: model.py is analysed again, as a run without the cache does
  fs.writeFileSync(path.join(corpus, 'blocks.py'), block(16));
  const after = run();
  assert.equal(netParams(after), 3 * 16 * 9 + 16);
  assert.equal(after, run('--no-cache'));
});

void test('a cache folder that cannot be written is skipped: the bundled command still reports every file', () => {
  const root = tempDir('sepconv-cache-unwritable-');
  const model = path.join(root, 'model.py');
  fs.writeFileSync(model, MODEL.replace('from blocks import Block', block(8).split('\n\n')[1]));
  // a regular file where the cache folder would be: no user can create entries below it (root included)
  const blocked = path.join(root, 'not-a-folder');
  fs.writeFileSync(blocked, '');
  const r = spawnSync(process.execPath, [path.join(bundledCli(), 'cli.js'), 'report', model], {
    encoding: 'utf8',
    env: { ...process.env, SEPCONV_CACHE_DIR: path.join(blocked, 'cache'), SEPCONV_THREADS: '1' },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /internal error|ENOTDIR|EACCES/);
  assert.match(r.stdout, /model\.py\n/);
  assert.match(r.stdout, /Conv2d\s+3→8 k3x3/);
});
