/**
 * The first hover of a document answers from the models that build the hovered conv alone, the
 * rest of the file's models run in the background afterwards, and an edit interrupts that run
 * (the worker lives on). The evidence is the server's log of its worker's jobs (`testHooks`): what
 * each job ran and how it ended, in order; nothing here measures time.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { MarkupContent } from 'vscode-languageserver-protocol';
import type { JobRecord, WorkerStats } from '../../src/server/worker';
import { tempDir } from '../helpers';
import { positionOf, TestClient } from './lsp';

/** Four models (Net, small_net, wide_net, Head); a helper conv that three of them build through Block. */
const ZOO = `import torch.nn as nn
import torch.nn.functional as F


def conv3x3(in_planes, out_planes, stride=1):
    """3x3 convolution with padding"""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class Block(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv = conv3x3(inplanes, planes, stride)
        self.bn = nn.BatchNorm2d(planes)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Net(nn.Module):
    def __init__(self, widths=(16, 32, 64), num_classes=10):
        super().__init__()
        layers = []
        cin = 3
        for w in widths:
            layers.append(Block(cin, w, stride=2))
            cin = w
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.body(x)
        return self.fc(x.mean((2, 3)))


def small_net(**kwargs):
    return Net(widths=(8, 16), **kwargs)


def wide_net(**kwargs):
    return Net(widths=(64, 128, 256), **kwargs)


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, 8, kernel_size=1)

    def forward(self, x):
        return self.proj(x)
`;

/** Eight models whose forward passes loop: a full run of them all takes a while. */
const SLOW = `import torch.nn as nn


${Array.from(
  { length: 8 },
  (_, i) => `class Slow${i}(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, ${8 + i}, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        for _ in range(20000):
            y = y * 1
        return y
`,
).join('\n\n')}`;

interface WorkerView {
  log: JobRecord[];
  stats: WorkerStats;
  running: { key: string; version: string; kind: string } | null;
}

const markdown = (h: { contents: unknown } | null) => (h?.contents as MarkupContent).value;
const workerOf = (c: TestClient) => c.connection.sendRequest<WorkerView>('sepconv/test/worker');

/** Asks the server until `ok` holds of its worker (no time is asserted: the test's own timeout bounds it). */
async function until(c: TestClient, ok: (w: WorkerView) => boolean): Promise<WorkerView> {
  for (;;) {
    const w = await workerOf(c);
    if (ok(w)) return w;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The card's lines that come from the model run: the model and its shapes, and the MACs. */
const shapeLines = (card: string) => card.split('\n').filter((l) => l.startsWith('In model') || l.startsWith('| MACs'));

void describe('the first hover runs the models that reach its conv first', () => {
  void test('a hover on a helper conv answers from one model, the full run of all four follows and agrees', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'zoo.py');
    fs.writeFileSync(file, ZOO);
    const uri = pathToFileURL(file).href;
    const c = await TestClient.start({ testHooks: true });
    try {
      await c.open(uri, ZOO);
      const p = positionOf(ZOO, 'nn.Conv2d(in_planes');
      const first = markdown(await c.hover(uri, p.line, p.character + 4));
      // Net is the first model in the file that builds conv3x3: 16 -> 32 -> 64 on 224 / 112 / 56 / 28
      assert.match(first, /In model `Net`, 3 calls of 3 instances: input \(1, 3, 224, 224\), \(1, 16, 112, 112\), \(1, 32, 56, 56\)/);
      const after = await workerOf(c);
      const hover = after.log.filter((j) => j.kind === 'focused');
      assert.equal(hover.length, 1);
      assert.equal(hover[0].end, 'partial', 'the hover was answered before the full analysis');
      assert.equal(hover[0].models, 1, 'only Net ran for it');
      // no full analysis of the file had ended when the hover was answered
      assert.ok(!after.log.some((j) => j.kind === 'full'));
      // the full analysis follows by itself (no request asks for it) and runs every model
      const done = await until(c, (w) => w.log.some((j) => j.kind === 'full'));
      const full = done.log.find((j) => j.kind === 'full')!;
      assert.equal(full.end, 'full');
      assert.equal(full.models, 4);
      assert.ok(full.id > hover[0].id);
      // the hover now comes from the full analysis: the same model and numbers
      const again = markdown(await c.hover(uri, p.line, p.character + 4));
      assert.deepEqual(shapeLines(again), shapeLines(first));
      assert.equal((await workerOf(c)).log.length, done.log.length, 'the second hover needed no job');
      // Head's conv is reached by Head alone
      const h = positionOf(ZOO, 'nn.Conv2d(3, 8');
      assert.match(markdown(await c.hover(uri, h.line, h.character + 4)), /In model `Head`/);
    } finally {
      await c.stop();
    }
  });

  void test('a hover that comes while its document is being prepared runs its own model after it, not the full analysis', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'zoo_prepared.py');
    // a top level that takes the worker a while to run (what the prepare job runs ahead of the hover)
    const text = `${ZOO}\n\nSTEPS = 0\nfor _ in range(30000):\n    STEPS = STEPS + 1\n`;
    fs.writeFileSync(file, text);
    const uri = pathToFileURL(file).href;
    const c = await TestClient.start({ testHooks: true, limits: { timeMs: 120_000 } });
    try {
      await c.open(uri, text);
      await until(c, (w) => w.running?.kind === 'prepare');
      const p = positionOf(text, 'nn.Conv2d(in_planes');
      assert.match(markdown(await c.hover(uri, p.line, p.character + 4)), /In model `Net`, 3 calls of 3 instances/);
      const log = (await workerOf(c)).log;
      assert.deepEqual(
        log.map((j) => [j.kind, j.end, j.models]),
        [
          ['prepare', 'partial', 0],
          ['focused', 'partial', 1],
        ],
      );
    } finally {
      await c.stop();
    }
  });

  void test('an edit interrupts the background run of the other models; the worker lives on', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'slow.py');
    fs.writeFileSync(file, SLOW);
    const uri = pathToFileURL(file).href;
    const c = await TestClient.start({ testHooks: true, limits: { timeMs: 120_000 } });
    try {
      await c.open(uri, SLOW);
      const p = positionOf(SLOW, 'nn.Conv2d(3, 8,');
      assert.match(markdown(await c.hover(uri, p.line, p.character + 4)), /In model `Slow0`/);
      const first = (await workerOf(c)).log.find((j) => j.kind === 'focused')!;
      assert.equal(first.models, 1);
      // the background run of all eight starts; an edit comes while it runs
      await until(c, (w) => w.running?.kind === 'full');
      await c.replace(uri, 'y = y * 1', 'y = y * 2');
      const w = await until(c, (v) => v.log.some((j) => j.kind === 'full'));
      const stale = w.log.find((j) => j.kind === 'full')!;
      assert.equal(stale.version, first.version);
      assert.equal(stale.end, 'interrupted', 'the stale run stopped early, not at its end or by a restart');
      assert.equal(w.stats.interrupted, 1);
      assert.equal(w.stats.starts, 1, 'the worker was not restarted');
      // the edited version answers as before
      assert.match(markdown(await c.hover(uri, p.line, p.character + 4)), /In model `Slow0`/);
    } finally {
      await c.stop();
    }
  });
});
