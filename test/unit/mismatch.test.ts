/**
 * Proven shape mismatches in the command's output: `models[].mismatches` in the JSON (positions,
 * chain, where the module is built, in this file or an imported one), a line in the table, and
 * `check` failing (exit 1) while one exists, passing once it is fixed. And what is not proven is not
 * reported: a mismatch on one side of a condition the interpreter cannot decide.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { ModelJson } from '../../src/analysis/report';
import { cli, ROOT, tempDir } from '../helpers';

const CIFAR = fs.readFileSync(path.join(ROOT, 'test/fixtures/mismatch/cifar_net.py'), 'utf8');

function project(files: Record<string, string>): string {
  const dir = tempDir('sepconv-mismatch-');
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

async function models(file: string, ...flags: string[]): Promise<ModelJson[]> {
  const r = await cli('report', '--json', '--no-cache', ...flags, file);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { files: { models?: ModelJson[] }[] }).files.flatMap((f) => f.models ?? []);
}

/** 1-based line and column of the first `needle` in `text`. */
function at(text: string, needle: string): { line: number; column: number } {
  const i = text.indexOf(needle);
  assert.ok(i >= 0, needle);
  const before = text.slice(0, i).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

void test('report --json: models[].mismatches with the failing call, the chain and where the module is built', async () => {
  const dir = project({ 'net.py': CIFAR });
  const [net] = await models(path.join(dir, 'net.py'));
  assert.deepEqual(net.mismatches, [
    {
      ...at(CIFAR, 'self.conv2(x)'),
      message: 'conv2 expects 256 input channels, got 64',
      check: 'in_channels',
      what: 'conv2',
      expected: 256,
      got: 64,
      code: 'self.conv2(x)',
      chain: [{ ...at(CIFAR, 'forward(self, x)'), call: 'def forward', enters: 'Net.forward' }],
      built: at(CIFAR, 'nn.Conv2d(256, 128, 3, padding=1)'),
    },
  ]);
  // the table: the model's line, then the mismatch
  const table = await cli('report', '--no-cache', path.join(dir, 'net.py'));
  const { line, column } = at(CIFAR, 'self.conv2(x)');
  assert.ok(
    table.stdout.includes(
      `    shape mismatch ${line}:${column}: conv2 expects 256 input channels, got 64 (Net.forward (line ${at(CIFAR, 'def forward').line}))`,
    ),
    table.stdout,
  );
});

void test('check exits 1 while a proven mismatch exists, 0 once it is fixed', async () => {
  const dir = project({ 'net.py': CIFAR });
  const file = path.join(dir, 'net.py');
  // --min-savings 1: no conv is left to convert, only the mismatch can fail the check
  const broken = await cli('check', '--no-cache', '--min-savings', '1', file);
  assert.equal(broken.code, 1, broken.stdout);
  const { line, column } = at(CIFAR, 'self.conv2(x)');
  assert.match(
    broken.stdout,
    new RegExp(
      `^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${line}:${column}: shape mismatch in model Net \\(input 1x3x224x224\\): conv2 expects 256 input channels, got 64 `,
      'm',
    ),
  );
  assert.match(broken.stdout, /no convertible convolutions; 1 shape mismatch\(es\)$/);
  fs.writeFileSync(file, CIFAR.replace('nn.Conv2d(256, 128', 'nn.Conv2d(64, 128'));
  const fixed = await cli('check', '--no-cache', '--min-savings', '1', file);
  assert.equal(fixed.code, 0, fixed.stdout);
  assert.doesNotMatch(fixed.stdout, /mismatch/);
});

void test('a mismatch in a block imported from another file: positions there carry the file', async () => {
  const blocks = `import torch.nn as nn


class Stage(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))
`;
  const model = `import torch.nn as nn

from blocks import Stage


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)
        self.stage = Stage(64, 128)

    def forward(self, x):
        return self.stage(self.stem(x))
`;
  const dir = project({ 'blocks.py': blocks, 'model.py': model });
  const [net] = await models(path.join(dir, 'model.py'));
  const [m] = net.mismatches!;
  assert.equal(m.message, 'stage.conv expects 64 input channels, got 32');
  assert.equal(m.file, path.join(dir, 'blocks.py'));
  assert.equal(m.line, at(blocks, 'self.conv(x)').line);
  assert.deepEqual(
    m.chain.map((c) => [c.file ?? 'model.py', c.line, c.enters]),
    [
      ['model.py', at(model, 'forward').line, 'Net.forward'],
      ['model.py', at(model, 'self.stage(').line, 'Stage.forward (stage)'],
    ],
  );
  assert.equal(m.built?.file, path.join(dir, 'blocks.py'));
});

void test('nothing is reported from one side of a condition that cannot be decided', async () => {
  const text = `import torch
import torch.nn as nn


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3)
        self.wide = nn.Conv2d(32, 16, 1)

    def forward(self, x):
        x = self.conv(x)
        if x.mean() > 0:
            x = self.wide(x)
        return x
`;
  const dir = project({ 'gate.py': text });
  const [gate] = await models(path.join(dir, 'gate.py'));
  assert.equal(gate.mismatches, undefined);
  // the same call outside the condition is proven
  fs.writeFileSync(
    path.join(dir, 'plain.py'),
    text.replace('        if x.mean() > 0:\n            x = self.wide(x)', '        x = self.wide(x)'),
  );
  const [always] = await models(path.join(dir, 'plain.py'));
  assert.equal(always.mismatches?.[0].message, 'wide expects 32 input channels, got 16');
});
