/**
 * Tensors whose values are known (src/analysis/python/shapes/tensorData.ts) and the inferred input
 * (inputSearch.ts), through inferModels: exact where every kernel agrees, unknown with a reason at
 * a rounding tie, forgotten after an in-place change. The exact numbers are PyTorch's: the same
 * idioms run in real PyTorch in test/oracle/shapes.test.ts (fixture `values`) and torch.test.ts
 * (fixture `mnist_inferred`).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initParsing } from '../../src/analysis/parsing';
import { modelsOf, ROOT } from '../helpers';

const models = (text: string) => modelsOf(text);

/** A model whose last conv has `width` output channels, computed by `lines` (Python, indented 8). */
function widthModel(lines: string): string {
  return `import math
import torch
import torch.nn as nn


class M(nn.Module):
    def __init__(self):
        super().__init__()
${lines}
        self.stem = nn.Conv2d(3, 8, 3)
        self.conv = nn.Conv2d(8, width, 1)

    def forward(self, x):
        return self.conv(self.stem(x))
`;
}

const outChannels = (text: string) => {
  const [m] = models(text);
  return { out: m.output as number[] | null, reasons: m.reasons };
};

void test('torch arithmetic on known values gives Python numbers', async () => {
  await initParsing();
  // (round(80 * 2.25**1 / 8) is 22.5 -> 22 in PyTorch: a tie, see below); 36.44 -> [3, 5, 7]
  const r = outChannels(
    widthModel(`        t = torch.arange(3) * 2 + 3
        width = int(t.sum().item())`),
  );
  assert.deepEqual(r.reasons, []);
  assert.deepEqual(r.out, [1, 15, 222, 222]);
  const d = outChannels(widthModel(`        width = torch.diff(torch.tensor([0, 4, 9, 17])).tolist()[-1]`));
  assert.deepEqual(d.out, [1, 8, 222, 222]);
});

void test('a float result at a rounding tie is unknown, with the reason', async () => {
  await initParsing();
  // torch.round(torch.divide(80 * torch.pow(2.25, 1.0), 8)) is round(22.5): pow's last bit is the
  // math library's, so the tie cannot be decided from the source
  const r = outChannels(
    widthModel(`        t = torch.round(torch.divide(80 * torch.pow(2.25, torch.tensor([1.0])), 8))
        width = t.int().tolist()[0]`),
  );
  assert.equal(r.out, null);
  assert.match(r.reasons.join(' '), /rounding boundary/);
  // a product of float32 numbers is exact: 45 * 0.5 = 22.5 rounds to even, as torch.round does
  const e = outChannels(widthModel(`        width = torch.round(torch.tensor([45.0]) * 0.5).int().tolist()[0]`));
  assert.deepEqual(e.out, [1, 22, 222, 222]);
});

void test('an in-place change forgets the values, in every alias', async () => {
  await initParsing();
  for (const change of ['t.add_(1)', 't += 1', 't[0] = 7', 'torch.nn.init.zeros_(t)']) {
    const r = outChannels(
      widthModel(`        t = torch.tensor([4, 5])
        alias = t
        ${change}
        width = alias.tolist()[0]`),
    );
    assert.equal(r.out, null, change);
  }
  // a new tensor from the alias before the change keeps its values
  const k = outChannels(
    widthModel(`        t = torch.tensor([4, 5])
        u = t * 2
        t.add_(1)
        width = u.tolist()[1]`),
  );
  assert.deepEqual(k.out, [1, 10, 222, 222]);
});

void test('values that differ between the branches of an undecided condition are dropped, the shape kept', async () => {
  await initParsing();
  const pick = `        t = torch.tensor([4, 5]) if os.environ.get("WIDE") else torch.tensor([6, 7])
`;
  const shape = outChannels(
    widthModel(`        import os
${pick}        width = t.shape[0] + 3`),
  );
  assert.deepEqual(shape.out, [1, 5, 222, 222]);
  const values = outChannels(
    widthModel(`        import os
${pick}        width = t.tolist()[0]`),
  );
  assert.equal(values.out, null);
  // both sides agree: the values stay
  const same = outChannels(
    widthModel(`        import os
        t = torch.tensor([4, 5]) if os.environ.get("WIDE") else torch.tensor([4, 5])
        width = t.tolist()[0]`),
  );
  assert.deepEqual(same.out, [1, 4, 222, 222]);
});

void test('without an input anywhere, the input a Linear after flatten pins down is inferred and stated', async () => {
  await initParsing();
  const text = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'oracle', 'mnist_inferred', 'model.py'), 'utf8');
  const [m] = models(text);
  assert.deepEqual(m.reasons, []);
  assert.deepEqual(m.input, [1, 1, 28, 28]);
  assert.match(m.inputFrom, /^inferred: .*`self\.fc1\(x\)`.*9216/);
  assert.deepEqual(m.output, [1, 10]);
  // an input given by a pragma is never replaced: the mismatch stays a stop with the numbers
  const [p] = models(text.replace('class Net(nn.Module):', 'class Net(nn.Module):  # sepconv: input=1x1x32x32'));
  assert.deepEqual(p.input, [1, 1, 32, 32]);
  assert.match(p.reasons.join(' '), /in_features expects 9216, got 12544/);
});

void test('a forward that refuses a channel dimension gets the input without one', async () => {
  await initParsing();
  const [m] = models(`import torch.nn as nn


class Wave(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 8, 10, stride=5)

    def forward(self, x):
        if x.ndim != 2:
            raise ValueError("expected (batch, time)")
        return self.conv(x.unsqueeze(1))
`);
  assert.deepEqual(m.reasons, []);
  assert.deepEqual(m.input, [1, 224]);
  assert.match(m.inputFrom, /^inferred: forward takes the input without a channel dimension/);
  assert.deepEqual(m.output, [1, 8, 43]);
});
