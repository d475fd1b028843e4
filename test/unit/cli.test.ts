import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, tempDir } from '../helpers';

const MODEL = `import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(256, 512, 3, padding=1, bias=False)
        self.pw = nn.Conv2d(512, 512, 1)
`;

function project(files: Record<string, string | Buffer>): string {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

void test('report --json follows the contract', async () => {
  const dir = project({ 'model.py': MODEL });
  const r = await cli('report', path.join(dir, 'model.py'), '--json');
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as { files: { error: unknown; layers: Record<string, unknown>[] }[]; totals: Record<string, unknown> };
  const [layer, pw] = json.files[0].layers;
  assert.deepEqual(
    { ...layer, macs: undefined, warnings: undefined },
    {
      line: 7,
      column: 21,
      endLine: 7,
      endColumn: 66,
      framework: 'pytorch',
      op: 'Conv2d',
      inChannels: 256,
      outChannels: 512,
      kernelSize: [3, 3],
      stride: [1, 1],
      padding: [1, 1],
      dilation: [1, 1],
      groups: 1,
      bias: false,
      convertible: true,
      reason: null,
      params: { before: 1179648, after: 133376 },
      macs: undefined,
      savings: { params: 0.8869, macs: 0.8869 },
      symbolic: null,
      assumptions: ['input 224x224 (default)'],
      warnings: undefined,
    },
  );
  assert.deepEqual(layer.macs, { before: 1179648 * 224 * 224, after: 133376 * 224 * 224 });
  assert.equal(pw.convertible, false);
  assert.equal(pw.reason, '1x1 kernel: already pointwise');
  assert.deepEqual(json.totals, {
    layers: 2,
    convertible: 1,
    unresolved: 0,
    params: { before: 1179648 + 262656, after: 133376 + 262656 },
    macs: { before: (1179648 + 262144) * 50176, after: (133376 + 262144) * 50176 },
  });
});

void test('--input-size changes the MACs and says so', async () => {
  const dir = project({ 'model.py': MODEL });
  const r = await cli('report', dir, '--json', '--input-size', '32x32');
  const layer = (JSON.parse(r.stdout) as { files: { layers: { macs: { before: number }; assumptions: string[] }[] }[] }).files[0].layers[0];
  assert.equal(layer.macs.before, 1179648 * 32 * 32);
  assert.deepEqual(layer.assumptions, ['input 32x32']);
});

void test('check exits 1 while a convertible conv remains, 0 after apply', async () => {
  const dir = project({ 'model.py': MODEL });
  const before = await cli('check', dir);
  assert.equal(before.code, 1);
  assert.match(before.stdout, /model\.py:7:21: Conv2d can be depthwise separable \(88\.7% fewer params\)/);
  assert.equal((await cli('apply', dir)).code, 0);
  const after = await cli('check', dir);
  assert.equal(after.code, 0, after.stdout);
  assert.equal((await cli('check', dir, '--min-savings', '0.95')).code, 0);
});

void test('apply --diff and --dry-run write nothing', async () => {
  const dir = project({ 'model.py': MODEL });
  const diff = await cli('apply', dir, '--diff');
  assert.equal(diff.code, 0);
  assert.match(diff.stdout, /^-        self\.conv = nn\.Conv2d\(256, 512, 3, padding=1, bias=False\)$/m);
  assert.match(diff.stdout, /^\+            nn\.Conv2d\(256, 256, 3, padding=1, groups=256, bias=False\),$/m);
  const dry = await cli('apply', dir, '--dry-run');
  assert.match(dry.stdout, /would convert 1 layer/);
  assert.equal(fs.readFileSync(path.join(dir, 'model.py'), 'utf8'), MODEL);
});

void test('a file with a syntax error is reported and never written', async () => {
  const broken = MODEL.replace('super().__init__()', 'super().__init__(');
  const dir = project({ 'model.py': broken });
  const report = await cli('report', dir, '--json');
  assert.match((JSON.parse(report.stdout) as { files: { error: string }[] }).files[0].error, /^syntax error at line \d+/);
  const apply = await cli('apply', dir);
  assert.equal(apply.code, 1);
  assert.match(apply.stderr, /not rewritten: syntax error/);
  assert.equal(fs.readFileSync(path.join(dir, 'model.py'), 'utf8'), broken);
});

void test('folders: .gitignore, node_modules and virtual environments are skipped; binary and huge files reported', async () => {
  const dir = project({
    '.gitignore': 'build/\n*_gen.py\n',
    'src/model.py': MODEL,
    'build/model.py': MODEL,
    'src/x_gen.py': MODEL,
    'node_modules/pkg/model.py': MODEL,
    'env/pyvenv.cfg': 'home = /usr/bin\n',
    'env/lib/model.py': MODEL,
    'data/weights.py': Buffer.from([0x63, 0x00, 0x01]),
    'data/huge.py': '# ' + 'x'.repeat(5 * 1024 * 1024) + '\n',
  });
  const r = await cli('report', dir, '--json');
  const files = (JSON.parse(r.stdout) as { files: { path: string; error: string | null }[] }).files.map((f) => [
    path.relative(dir, f.path),
    f.error,
  ]);
  assert.deepEqual(files, [
    ['data/huge.py', 'skipped: 5.0 MB is larger than the 4 MB limit'],
    ['data/weights.py', 'skipped: binary file'],
    ['src/model.py', null],
  ]);
});

void test('usage and I/O errors exit 2 with a clear message', async () => {
  assert.equal((await cli()).code, 2);
  const unknown = await cli('frobnicate', '.');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const missing = await cli('report', '/nonexistent/model.py');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no such file or folder/);
  const badFlag = await cli('report', '.', '--min-savings', '2');
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /--min-savings takes a fraction/);
  const badSize = await cli('report', '.', '--input-size', '2x');
  assert.match(badSize.stderr, /input size "2x" is not like 224x224/);
});

void test('notebooks: code cells are analysed together, rewritten in place, magics kept', async () => {
  const dir = project({});
  const nb = path.join(dir, 'classifier.ipynb');
  fs.copyFileSync(path.join(__dirname, '..', '..', 'examples', 'notebooks', 'classifier.ipynb'), nb);
  const original = fs.readFileSync(nb, 'utf8');
  const report = await cli('report', dir, '--json');
  const file = (
    JSON.parse(report.stdout) as {
      files: {
        layers: { cell: number; line: number; column: number; convertible: boolean }[];
        models: { name: string; inputShape: number[]; outputShape: unknown }[];
      }[];
    }
  ).files[0];
  const layers = file.layers;
  // the last cell runs the model on an example tensor: that is its input, and PyTorch's output shape
  assert.deepEqual(
    file.models.map((m) => [m.name, m.inputShape, m.outputShape]),
    [['Classifier', [1, 3, 32, 32], [1, 10]]],
  );
  // `nn` comes from the import in cell 2; positions are within cell 3 (1-based cell index)
  assert.deepEqual(
    layers.map((l) => [l.cell, l.line, l.column, l.convertible]),
    [
      [3, 5, 13, true],
      [3, 7, 13, true],
    ],
  );
  assert.equal((await cli('apply', dir)).code, 0);
  const after = JSON.parse(fs.readFileSync(nb, 'utf8')) as { cells: { source: string[]; outputs?: unknown[] }[] };
  const before = JSON.parse(original) as typeof after;
  assert.deepEqual(after.cells[0], before.cells[0], 'markdown cell unchanged');
  assert.deepEqual(after.cells[1], before.cells[1], 'the cell with %matplotlib unchanged');
  assert.deepEqual(after.cells[3], before.cells[3], 'outputs and the !shell line unchanged');
  assert.match(after.cells[2].source.join(''), /nn\.Conv2d\(WIDTH, WIDTH, 3, padding=1, groups=WIDTH, bias=False\)/);
  const once = fs.readFileSync(nb, 'utf8');
  assert.equal((await cli('apply', dir)).code, 0);
  assert.equal(fs.readFileSync(nb, 'utf8'), once, 'a second apply changed the notebook');
});

void test('notebooks not stored as Jupyter writes them are not rewritten', async () => {
  const src = fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'notebooks', 'classifier.ipynb'), 'utf8');
  const dir = project({ 'compact.ipynb': JSON.stringify(JSON.parse(src)) });
  const apply = await cli('apply', dir);
  assert.equal(apply.code, 1);
  assert.match(apply.stderr, /not stored as Jupyter writes it/);
  const bad = project({ 'broken.ipynb': '{"cells": [' });
  const r = await cli('report', bad, '--json');
  assert.match((JSON.parse(r.stdout) as { files: { error: string }[] }).files[0].error, /not a valid notebook/);
});
