/**
 * Builds remembered (shapes/buildMemo.ts): a block class called again with the same arguments gets
 * a copy of its first tree. The analysis with the memo is the analysis without it, for a model whose
 * blocks repeat and for builds whose replay would give another model (each next to a twin that is
 * replayed): a build that changes a global list, counts its instances in a class attribute, rebinds a
 * global through `global`, or reads a name of the function it is defined in that is bound again.
 * (Every check here fails when the memo's read or write tracking is taken out.)
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { analyzeText } from '../../src/analysis/analyze';
import { defaultOptions } from '../../src/analysis/options';
import { initParsing } from '../../src/analysis/parsing';
import { memo } from '../../src/analysis/python/shapes/buildMemo';

before(async () => {
  await initParsing(['python']);
});

/** The analysis (as JSON) with the memo on or off, and the memo's replays during it. */
function analysis(text: string, enabled: boolean) {
  const hits = memo.hits;
  memo.enabled = enabled;
  try {
    const a = analyzeText(text, 'python', defaultOptions());
    return { a: JSON.parse(JSON.stringify(a)) as ReturnType<typeof analyzeText>, hits: memo.hits - hits };
  } finally {
    memo.enabled = true;
  }
}

/** Models, layers and stops with and without the memo are the same; the replays with it. */
function same(text: string, what: string): { a: ReturnType<typeof analyzeText>; hits: number } {
  const on = analysis(text, true);
  const off = analysis(text, false);
  assert.equal(off.hits, 0);
  assert.deepEqual(on.a, off.a, `${what}: the analysis with the memo differs`);
  return on;
}

/** torchvision's ResNet as the shape fixtures hold it: blocks, `conv3x3`, `_make_layer`, three factories. */
const RESNET = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'shapes', 'resnet', 'model.py'), 'utf8');

void test('a ResNet whose blocks repeat: the same analysis, with replays, and PyTorch’s counts', () => {
  const { a, hits } = same(RESNET, 'resnet');
  assert.ok(hits > 0, 'blocks built with the same arguments are replayed');
  // sum(p.numel() for p in model.parameters()) of the fixture's factories, by PyTorch
  for (const [name, params] of [
    ['resnet18', 11_689_512],
    ['resnet50', 25_557_032],
    ['resnext50_32x4d', 25_028_904],
  ] as const) {
    const m = a.models?.find((x) => x.name === name);
    assert.ok(m, name);
    assert.equal(m.params.before, params, name);
  }
});

/** A block and a model building `n` of them; `{block}` is the block's `__init__` body after its conv, `{top}` what the file defines first. */
const blocks = (body: string, top = '', build = 'Block(32)'): string => `import torch
import torch.nn as nn
${top}

class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
${body
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}

    def forward(self, x):
        return self.conv(x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 1)
        self.body = nn.Sequential(${Array(4).fill(build).join(', ')})

    def forward(self, x):
        return self.body(self.stem(x))
`;

void test('builds that must not be replayed give the analysis without the memo (each twin that may is replayed)', () => {
  // [what, a block that must not be replayed, its twin that may, what the file defines first]
  const cases: [string, string, string, string?][] = [
    [
      'a global list changed',
      'WIDTHS.append(WIDTHS[-1] + 1)\nself.extra = nn.Conv2d(c, WIDTHS[-1], 1)',
      'self.extra = nn.Conv2d(c, WIDTH, 1)',
      'WIDTHS = [8]\nWIDTH = 8',
    ],
    [
      'a class attribute counting instances',
      'Block.count += 1\nself.extra = nn.Conv2d(c, Block.count, 1)',
      'self.extra = nn.Conv2d(c, Block.count, 1)',
    ],
    [
      'a global rebound through `global`',
      'global SEEN\nSEEN = SEEN + 1\nself.extra = nn.Conv2d(c, SEEN, 1)',
      'self.extra = nn.Conv2d(c, SEEN, 1)',
      'SEEN = 1',
    ],
  ];
  for (const [what, body, twin, top] of cases) {
    const withClassCount = (t: string) => t.replace('class Block(nn.Module):\n', 'class Block(nn.Module):\n    count = 1\n\n');
    same(withClassCount(blocks(body, top)), what);
    const t = same(withClassCount(blocks(twin, top)), `${what} (twin)`);
    assert.ok(t.hits > 0, `${what}: the twin is replayed`);
  }
});

void test('a counted build differs block by block, as in PyTorch', () => {
  const text = blocks('Block.count += 1\nself.extra = nn.Conv2d(c, Block.count, 1)').replace(
    'class Block(nn.Module):\n',
    'class Block(nn.Module):\n    count = 1\n\n',
  );
  const { a } = same(text, 'counted');
  const net = a.models?.find((m) => m.name === 'Net');
  assert.ok(net);
  // stem 3*32+32; each block: conv 32*32*9+32, extra 32*k+k for k = 2..5
  const extra = [2, 3, 4, 5].reduce((s, k) => s + 32 * k + k, 0);
  assert.equal(net.params.before, 3 * 32 + 32 + 4 * (32 * 32 * 9 + 32) + extra);
});

void test('a name of the enclosing function bound again between builds is read anew', () => {
  const text = `import torch
import torch.nn as nn


def make():
    width = 8

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv = nn.Conv2d(c, width, 1)

        def forward(self, x):
            return self.conv(x)

    first = [Block(16), Block(16)]
    width = 4
    return nn.Sequential(*first, nn.Conv2d(4, 16, 1), Block(16), Block(16))


def net():
    return make()
`;
  const { a } = same(text, 'closure');
  const m = a.models?.find((x) => x.name === 'net');
  assert.ok(m);
  // the first two blocks' convs have 8 outputs, the last two 4
  assert.equal(m.params.before, 16 * 8 + 8 + (16 * 8 + 8) + (4 * 16 + 16) + (16 * 4 + 4) * 2);
});
