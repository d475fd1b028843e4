/**
 * The checks model code makes of its arguments before it builds anything (`isinstance(setting,
 * Sequence)`, `type(None)`, `set(return_layers).issubset(...)`, torchvision's `_is_tracing()`):
 * decided, as Python decides them, so that neither side of them is explored for nothing and what
 * they choose stays exact. Numbers are PyTorch's.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { initParsing } from '../../src/analysis/parsing';
import { modelsOf as models } from '../helpers';

void test("the checks model code makes of its arguments are decided: collections.abc and typing classes, type(None), a set's issubset, torchvision's _is_tracing()", async () => {
  await initParsing();
  // each check decides what the model holds: left undecided, the model's numbers would be unknown
  const src = `import typing
from collections.abc import Sequence

import torch
import torch.nn as nn


def _is_tracing():
    return torch._C._get_tracing_state()


class Net(nn.Module):
    def __init__(self, setting=(8, 16), pool=None, return_layers={"stem": "out"}):
        super().__init__()
        # each check of an argument decides what the model holds
        blocks = list(setting) if isinstance(setting, Sequence) else [setting]
        self.stem = nn.Conv2d(3, blocks[0], 3, padding=1)
        self.pool = pool if isinstance(pool, (nn.MaxPool2d, type(None))) else nn.MaxPool2d(2)
        if set(return_layers).issubset([name for name, _ in self.named_children()]):
            self.body = nn.Conv2d(blocks[0], blocks[-1], 3, padding=1)
        else:
            self.body = nn.Conv2d(blocks[0], 2 * blocks[-1], 3, padding=1)
        self.head = nn.Conv2d(blocks[-1], 10, 1) if isinstance(return_layers, typing.Mapping) else nn.Identity()

    def forward(self, x):
        x = self.stem(x)
        if self.pool is not None:
            x = self.pool(x)
        if _is_tracing():
            x = torch.cat([x, x], dim=1)
        return self.head(self.body(x))`;
  const [m] = models(src, { inputSizes: { 2: [32, 32] } });
  assert.equal(m.name, 'Net');
  assert.deepEqual(m.reasons, []);
  // PyTorch: sum(p.numel() for p in Net().parameters()), Net()(torch.zeros(1, 3, 32, 32)).shape
  assert.equal(m.params, 1562);
  assert.deepEqual(m.output, [1, 10, 32, 32]);
});
