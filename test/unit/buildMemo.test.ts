/**
 * Builds remembered (shapes/buildMemo.ts): a block class called again with the same arguments gets
 * a copy of its first tree. The analysis with the memo is the analysis without it, for a model whose
 * blocks repeat and for builds whose replay would give another model (each next to a twin that is
 * replayed): a build that changes a global list, counts its instances in a class attribute, rebinds a
 * global through `global`, or reads a name of the function it is defined in that is bound again.
 * (Every check here fails when the memo's read or write tracking is taken out.)
 */
import * as assert from 'node:assert/strict';
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

/** A torchvision-style ResNet: blocks, a `norm_layer` partial, `_make_layer`, three factories. */
const RESNET = `from functools import partial
from typing import Callable, List, Optional, Type

import torch
import torch.nn as nn


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride,
                     padding=1, groups=groups, bias=False)


class BasicBlock(nn.Module):
    expansion: int = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None,
                 norm_layer: Optional[Callable[..., nn.Module]] = None) -> None:
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block: Type[BasicBlock], layers: List[int], num_classes: int = 1000,
                 norm_layer: Optional[Callable[..., nn.Module]] = None) -> None:
        super().__init__()
        self._norm_layer = norm_layer or partial(nn.BatchNorm2d, eps=1e-5)
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(256 * block.expansion, num_classes)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                self._norm_layer(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, self._norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, norm_layer=self._norm_layer))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet10(**kwargs) -> ResNet:
    return ResNet(BasicBlock, [1, 1, 1], **kwargs)


def resnet_small(**kwargs) -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2], **kwargs)


def resnet_deep(**kwargs) -> ResNet:
    return ResNet(BasicBlock, [4, 6, 3], **kwargs)
`;

/** PyTorch's parameter count of this ResNet with `layers` blocks per stage (written out from nn.Module.parameters()). */
function resnetParams(layers: number[]): number {
  const bn = (c: number) => 2 * c;
  const block = (cin: number, c: number, down: boolean) => cin * c * 9 + bn(c) + c * c * 9 + bn(c) + (down ? cin * c + bn(c) : 0);
  let total = 3 * 64 * 49 + bn(64);
  let cin = 64;
  for (const [i, planes] of [64, 128, 256].entries()) {
    for (let b = 0; b < layers[i]; b++) {
      total += block(b === 0 ? cin : planes, planes, b === 0 && (i > 0 || cin !== planes));
      cin = planes;
    }
  }
  return total + 256 * 1000 + 1000;
}

void test('a ResNet whose blocks repeat: the same analysis, with replays, and PyTorch’s counts', () => {
  const { a, hits } = same(RESNET, 'resnet');
  assert.ok(hits > 0, 'blocks built with the same arguments are replayed');
  for (const [name, layers] of [
    ['resnet10', [1, 1, 1]],
    ['resnet_small', [2, 2, 2]],
    ['resnet_deep', [4, 6, 3]],
  ] as const) {
    const m = a.models?.find((x) => x.name === name);
    assert.ok(m, name);
    assert.equal(m.params.before, resnetParams([...layers]), name);
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
