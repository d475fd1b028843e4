/**
 * Convs built through the user's own classes and partials: `class X(nn.Conv2d)` (its
 * `super().__init__(...)`, or its calls when it has no `__init__`) and `partial(nn.Conv2d, ...)`.
 * What is found, what is declined and why, and what the rewrite writes. The fixtures
 * subclass_* and partial_conv_* hold whole models; PyTorch builds them before and after
 * (test/oracle/pytorch-fixtures.test.ts).
 */
import * as assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { analyzeText } from '../../src/analysis/analyze';
import { defaultOptions } from '../../src/analysis/options';
import { initParsing } from '../../src/analysis/parsing';
import type { PythonLayer } from '../../src/analysis/python/analyze';
import { rewrite } from '../../src/refactor/index';

before(async () => {
  await initParsing();
});

const layers = (text: string) => analyzeText(text, 'python', defaultOptions()).layers as PythonLayer[];
const at = (text: string, needle: string) => {
  const line = text.split('\n').findIndex((l) => l.includes(needle));
  const found = layers(text).filter((l) => text.slice(0, l.span.start).split('\n').length - 1 === line);
  assert.equal(found.length, 1, `one layer on the line of \`${needle}\``);
  return found[0];
};
/** the text without white space and trailing commas: the layout is the formatter's business */
const flat = (text: string) => text.replace(/\s+/g, '').replace(/,\)/g, ')');
const applied = (text: string) =>
  rewrite(text, 'python', analyzeText(text, 'python', defaultOptions()), (l) => l.convertible, {
    depthMultiplier: 1,
    norm: 'none',
    lineLength: 120,
    minSavings: 0,
  }).newText;

void test('a conv subclass: its super().__init__ is the conv, its arguments resolved through __init__', () => {
  const text = `import torch.nn as nn


class Conv3x3(nn.Conv2d):
    def __init__(self, cin, cout, stride=1):
        super().__init__(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = Conv3x3(16, 32)

    def forward(self, x):
        return self.conv(x)
`;
  const l = at(text, 'super().__init__(cin');
  assert.equal(l.op, 'Conv2d');
  assert.equal(l.convertible, true, l.reason);
  assert.equal(l.subclass?.name, 'Conv3x3');
  // the one instance the model builds prices the line: 32*16*9 -> 16*9 + 16*32
  assert.equal(l.cost.params.before?.constant, 4608);
  assert.equal(l.cost.params.after?.constant, 656);
  assert.equal(layers(text).length, 1, 'the call Conv3x3(16, 32) is not a second layer');
  const out = applied(text);
  assert.match(out, /class Conv3x3\(nn\.Sequential\):/);
  assert.ok(
    flat(out).includes(
      flat(
        'super().__init__(nn.Conv2d(cin, cin, kernel_size=3, stride=stride, padding=1, groups=cin, bias=False), nn.Conv2d(cin, cout, kernel_size=1, bias=False))',
      ),
    ),
    out,
  );
});

void test('a conv subclass is declined, with the reason, where the Sequential would not do what it did', () => {
  const base = (body: string, extra = '') => `import torch
from torch.nn import Conv2d


class C(Conv2d):
    def __init__(self, cin, cout):
        super().__init__(cin, cout, 3, padding=1)
${body}
${extra}`;
  const cases: [string, string, RegExp][] = [
    ['        self.scale = 2.0\n', '', /line 8 of `C.__init__` uses `self`/],
    ['        torch.nn.init.zeros_(self.weight)\n', '', /uses `self`/],
    ['\n    def forward(self, x):\n        return super().forward(x) * 2\n', '', /`C` overrides forward\(\)/],
    ['\n    @property\n    def fan_in(self):\n        return self.in_channels * 9\n', '', /`C` defines fan_in\(\)/],
    ['', '\nclass D(C):\n    pass\n', /`D` derives from `C`/],
  ];
  for (const [body, extra, why] of cases) {
    const text = base(body, extra);
    const l = at(text, 'super().__init__(cin');
    assert.equal(l.convertible, false, body + extra);
    assert.match(l.reason ?? '', why);
    assert.equal(applied(text), text);
  }
  // a staticmethod and a class attribute are kept by the Sequential subclass
  const kept = base('\n    expansion = 1\n\n    @staticmethod\n    def stride_of(s):\n        return s, s\n');
  assert.equal(at(kept, 'super().__init__(cin').reason, undefined);
});

void test('partial(nn.Conv2d, ...): its calls are convs with the bound keywords, the pair keeps them', () => {
  const text = `import functools
from functools import partial
import torch.nn as nn

conv3x3 = partial(nn.Conv2d, kernel_size=3, padding=1, bias=False)


class Block(nn.Module):
    def __init__(self, c, conv3x3=None):
        super().__init__()
        self.a = conv3x3(c, c)


def make(c):
    dilated = functools.partial(nn.Conv2d, kernel_size=3, padding=2, dilation=2, padding_mode="reflect")
    by_position = partial(nn.Conv2d, 64)
    return nn.Sequential(dilated(c, 2 * c, stride=2), by_position(128, 3), conv3x3(c, c, 5))


class Holder(nn.Module):
    conv = partial(nn.Conv2d, kernel_size=3)
`;
  const found = layers(text);
  // the parameter conv3x3 shadows the module's partial in Block
  assert.deepEqual(
    found.map((l) => text.slice(l.span.start, l.span.end)),
    ['dilated(c, 2 * c, stride=2)', 'by_position(128, 3)', 'conv3x3(c, c, 5)'],
  );
  const [dilated, byPosition, twice] = found;
  assert.deepEqual(dilated.args.kernelSize, [3, 3]);
  assert.deepEqual(dilated.args.dilation, [2, 2]);
  assert.deepEqual(dilated.args.stride, [2, 2]);
  assert.equal(dilated.args.bias, true);
  assert.deepEqual(dilated.bound, ['kernel_size', 'padding', 'dilation', 'padding_mode']);
  assert.match(byPosition.reason ?? '', /binds `64`, which cannot be resolved statically/);
  assert.match(twice.reason ?? '', /`kernel_size` is given by position and by the partial/);
  const out = applied(text);
  // depthwise: the partial with groups and bias overridden; pointwise: the partial with its geometry undone
  assert.ok(
    flat(out).includes(
      flat('nn.Sequential(dilated(c, c, stride=2, groups=c, bias=False), dilated(c, 2 * c, kernel_size=1, padding=0, dilation=1))'),
    ),
    out,
  );
});
