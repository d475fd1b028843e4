/**
 * `sepconv.server.convertWithWeights` through the protocol: the server converts an open file and
 * its checkpoint together (the numbers are the weights oracle's business: test/oracle/weights.test.ts).
 * The checkpoint here is a .safetensors written in the test with known values.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { ServerCommands, type ConvertWeightsResult } from '../../src/server/protocol';
import { readSafetensors, writeSafetensors } from '../../src/weights/safetensors';
import { tempDir } from '../helpers';
import { TestClient } from './lsp';

const MODEL = `import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))
`;

function checkpoint(file: string, withConv = true): void {
  // a linear congruential sequence: weights of full rank
  const values = (n: number, seed: number) => () => {
    let x = seed;
    return Float64Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5);
  };
  writeSafetensors(
    file,
    [
      ...(withConv ? [{ key: 'conv.weight', dtype: 'F32' as const, shape: [8, 4, 3, 3], values: values(288, 1) }] : []),
      { key: 'conv.bias', dtype: 'F32', shape: [8], values: values(8, 2) },
      { key: 'fc.weight', dtype: 'F32', shape: [2, 8], values: values(16, 3) },
      { key: 'fc.bias', dtype: 'F32', shape: [2], values: values(2, 4) },
    ],
    undefined,
    () => Buffer.alloc(0),
  );
}

void test('convertWithWeights: the open file and its checkpoint are converted together', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'net.py');
  fs.writeFileSync(file, MODEL);
  const ckpt = path.join(dir, 'net.safetensors');
  checkpoint(ckpt);
  const broken = path.join(dir, 'broken.safetensors');
  checkpoint(broken, false);
  const c = await TestClient.start();
  try {
    const uri = pathToFileURL(file).href;
    await c.open(uri, MODEL);
    const bad = await c.execute<ConvertWeightsResult>(ServerCommands.convertWithWeights, { uri, version: 1, checkpoint: broken });
    assert.equal(bad.applied, false);
    assert.match(bad.message, /conv\.weight is missing/);
    assert.equal(c.text(uri), MODEL);
    assert.equal(fs.existsSync(path.join(dir, 'broken.separable.safetensors')), false);

    const r = await c.execute<ConvertWeightsResult>(ServerCommands.convertWithWeights, { uri, version: 1, checkpoint: ckpt, energy: 1 });
    assert.equal(r.applied, true, r.message);
    assert.equal(r.out, path.join(dir, 'net.separable.safetensors'));
    assert.match(r.lines[0], /^conv {2}K=8\/8 {2}energy 100\.00%/);
    // K = 8 (min(Cout, kvol)) written into the code, and the tensors to match
    assert.match(c.text(uri), /nn\.Conv2d\(4, 4 \* 8, 3, padding=1, groups=4, bias=False\)/);
    const out = readSafetensors(r.out);
    try {
      assert.deepEqual(
        [...out.tensors.values()].map((t) => [t.key, t.shape]),
        [
          ['conv.0.weight', [32, 1, 3, 3]],
          ['conv.1.weight', [8, 32, 1, 1]],
          ['conv.1.bias', [8]],
          ['fc.weight', [2, 8]],
          ['fc.bias', [2]],
        ],
      );
    } finally {
      out.close();
    }
  } finally {
    await c.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
