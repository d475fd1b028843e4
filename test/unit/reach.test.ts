/**
 * A hover's run (`InferRequest.reach`): which candidates may build a conv call site and in which
 * order they are tried (shapes/reach.ts), and, on torchvision's model files as Debian installs
 * them, that the shapes a hover gets from the models reaching its line are those the full
 * analysis gives the line, for fewer models run.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import type { Node } from 'web-tree-sitter';
import { diskSources } from '../../src/analysis/files';
import { modelRuns } from '../../src/analysis/kernel/budget';
import { defaultOptions } from '../../src/analysis/options';
import { initParsing, parse } from '../../src/analysis/parsing';
import { preparedRuns } from '../../src/analysis/python/shapes/prepared';
import { frameworkFor } from '../../src/frameworks/index';
import { reachOrder } from '../../src/analysis/python/shapes/reach';
import { TreeCache } from '../../src/server/trees';

before(() => initParsing(['python']));

const FILE = `import torch.nn as nn


def conv3x3(cin, cout):
    return nn.Conv2d(cin, cout, 3, padding=1)


class Block(nn.Module):
    def __init__(self, c=16):
        super().__init__()
        self.conv = conv3x3(c, c)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(8), Block(8))


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(8, 4, 1)


BLOCKS = [Block]


def small():
    """Like big(), with fewer channels."""
    return Net()


def big():
    return Net()


def from_registry():
    return BLOCKS[0]()
`;

/** The top-level definitions of `text` by name, as models.ts hands them to `reachOrder`. */
function definitions(root: Node): { name: string; node: Node; value: string }[] {
  return root.namedChildren
    .filter((n): n is Node => !!n && (n.type === 'class_definition' || n.type === 'function_definition') && n.text !== '')
    .map((n) => ({ name: n.childForFieldName('name')!.text, node: n, value: n.childForFieldName('name')!.text }))
    .filter((d) => d.name !== 'conv3x3');
}

void test('the candidates that may build a call site, in file order, blocks other classes use last', () => {
  const tree = parse('python', FILE);
  try {
    const defs = definitions(tree.rootNode);
    const at = (needle: string) => [FILE.indexOf(needle)];
    // conv3x3's conv: Block uses it, Net uses Block, small and big use Net, BLOCKS names Block and
    // from_registry reads BLOCKS; Head mentions none of them. Block goes last: Net builds it. The
    // docstring of small() naming big() does not make big a part of small.
    assert.deepEqual(
      reachOrder(tree.rootNode, at('nn.Conv2d(cin'), defs).map((d) => d.value),
      ['Net', 'small', 'big', 'from_registry', 'Block'],
    );
    // a conv in a class: that class and what mentions it
    assert.deepEqual(
      reachOrder(tree.rootNode, at('nn.Conv2d(8, 4'), defs).map((d) => d.value),
      ['Head'],
    );
  } finally {
    tree.delete();
  }
});

const MODELS = '/usr/lib/python3/dist-packages/torchvision/models';

void test(
  'torchvision: the shapes of every conv line from the models reaching it are those of the full analysis',
  { skip: !fs.existsSync(MODELS) && 'python3-torchvision is not installed', timeout: 600_000 },
  () => {
    const options = defaultOptions();
    let noted = 0;
    let unbuilt = 0;
    // backbone_utils.py: its one conv (mobilenet_backbone without FPN) is built by no model of torchvision
    for (const name of [
      'resnet.py',
      'mobilenetv2.py',
      'squeezenet.py',
      'shufflenetv2.py',
      'detection/rpn.py',
      'detection/backbone_utils.py',
    ]) {
      const file = path.join(MODELS, name);
      const text = fs.readFileSync(file, 'utf8');
      const src = { key: name, version: '1', languageId: 'python' as const, text };
      const before = modelRuns();
      const full = new TreeCache().analysis(src, options, diskSources(file));
      const fullRuns = modelRuns() - before;
      assert.ok(full.layers.length > 0, name);
      for (const l of full.layers) {
        const start = text.lastIndexOf('\n', l.span.start) + 1;
        const at = { start, end: text.indexOf('\n', l.span.start) };
        const trees = new TreeCache();
        const runs = modelRuns();
        const hover = trees.focusedAnalysis(src, options, { start: Math.max(0, start - 400), end: at.end }, diskSources(file), at);
        const line = `${name}:${text.slice(0, start).split('\n').length}`;
        assert.equal(trees.stats.reached, 1, `${line}: answered by the models reaching it`);
        assert.ok(modelRuns() - runs < Math.max(fullRuns, 1), `${line}: fewer models run than the ${fullRuns} of the full analysis`);
        const mine = hover.layers.find((x) => x.span.start === l.span.start);
        assert.deepEqual(mine?.shapes, l.shapes, line);
        if (!l.shapes) {
          assert.deepEqual([mine?.convertible, mine?.reason], [l.convertible, l.reason], line);
          unbuilt++;
          continue;
        }
        // a line decided on the modules built there: the full analysis prices every model's, the hover says it priced one's
        if (mine?.assumptions.some((a) => a.startsWith(`numbers of the modules built here by model ${l.shapes!.model}:`))) {
          assert.ok('callerDependent' in l && l.callerDependent && l.convertible, line);
          noted++;
          continue;
        }
        assert.deepEqual(
          [mine?.cost.macs.before?.constant, mine?.cost.params.before?.constant],
          [l.cost.macs.before?.constant, l.cost.params.before?.constant],
          line,
        );
      }
    }
    // shufflenetv2's stem conv (its width read from a constructor argument): one model's modules of four
    assert.ok(noted >= 1);
    assert.ok(unbuilt >= 1);
  },
);

void test(
  'torchvision: a hover after the document was prepared starts after its prepared top level, with the same answer; an edit, other options or an idle worker start anew',
  { skip: !fs.existsSync(MODELS) && 'python3-torchvision is not installed', timeout: 120_000 },
  () => {
    const options = defaultOptions();
    for (const name of ['resnet.py', 'detection/mask_rcnn.py']) {
      const file = path.join(MODELS, name);
      const text = fs.readFileSync(file, 'utf8');
      // the first conv line in a class: a block's
      const start = text.indexOf('\n', text.search(/\nclass [^\n]*\n(?:[^\n]*\n)*?[^\n]*Conv2d\(/) + 1) + 1;
      const line = text.slice(0, start).split('\n').length;
      const convAt = text.indexOf('Conv2d(', start);
      const lineStart = text.lastIndexOf('\n', convAt) + 1;
      const at = { start: lineStart, end: text.indexOf('\n', convAt) };
      const src = (t: string, version = '1') => ({ key: name, version, languageId: 'python' as const, text: t });
      const hover = (prepare: boolean, t = text, o = options, idle = false) => {
        const trees = new TreeCache();
        if (prepare) trees.prepare(src(text), options, diskSources(file));
        // the worker, idle, lets go of it
        if (idle) frameworkFor('python').unprepare?.();
        const taken = preparedRuns.taken;
        const a = trees.focusedAnalysis(src(t, t === text ? '1' : '2'), o, at, diskSources(file), at);
        return { layers: JSON.parse(JSON.stringify(a.layers)) as unknown, taken: preparedRuns.taken - taken };
      };
      const fresh = hover(false);
      const ready = hover(true);
      assert.equal(fresh.taken, 0);
      assert.equal(ready.taken, 1, `${name}:${line}: the hover's run took the prepared top level`);
      assert.deepEqual(ready.layers, fresh.layers, `${name}:${line}`);
      assert.ok(JSON.stringify(ready.layers).includes('"shapes"'), `${name}:${line}: with shapes`);
      // prepared for one text, hovered in another (a space added at its end); other options
      assert.equal(hover(true, text + ' ').taken, 0, `${name}: an edited text`);
      assert.equal(hover(true, text, { ...options, depthMultiplier: 2 }).taken, 0, `${name}: other options`);
      assert.equal(hover(true, text, options, true).taken, 0, `${name}: let go of`);
    }
  },
);

/** A block of the blocks files below. */
const STEM = `class Stem(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)
`;

void test("a file of blocks: a hover on a conv only another file's models build gets the shapes of the importer's model that reaches it, as the full analysis gives them", () => {
  const blocks = `import torch.nn as nn


${STEM}

class Head(nn.Module):
    def __init__(self, c, classes):
        super().__init__()
        self.proj = nn.Conv2d(c, classes, 1)

    def forward(self, x):
        return self.proj(x).mean((2, 3))
`;
  const model = `import torch.nn as nn
from blocks import Head, Stem


class Net(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        self.stem = Stem(3, width)
        self.head = Head(width, 10)

    def forward(self, x):
        return self.head(self.stem(x))


class Unrelated(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 5)

    def forward(self, x):
        return self.conv(x)


def net():
    return Net(width=48)
`;
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'sepconv-reach-'));
  fs.writeFileSync(path.join(dir, 'blocks.py'), blocks);
  fs.writeFileSync(path.join(dir, 'model.py'), model);
  const file = path.join(dir, 'blocks.py');
  const options = defaultOptions({ inputSizes: { 2: [64, 64] } });
  const src = { key: 'blocks', version: '1', languageId: 'python' as const, text: blocks };
  const before = modelRuns();
  const full = new TreeCache().analysis(src, options, diskSources(file));
  const fullRuns = modelRuns() - before;
  for (const needle of ['nn.Conv2d(cin', 'nn.Conv2d(c, classes']) {
    const l = full.layers.find((x) => blocks.slice(x.span.start).startsWith(needle))!;
    assert.equal(l.shapes?.model, 'Net', needle);
    const trees = new TreeCache();
    const runs = modelRuns();
    const start = blocks.lastIndexOf('\n', l.span.start) + 1;
    const at = { start, end: blocks.indexOf('\n', l.span.start) };
    const hover = trees.focusedAnalysis(src, options, { start: Math.max(0, start - 400), end: at.end }, diskSources(file), at);
    assert.equal(trees.stats.reached, 1, `${needle}: answered by the models reaching it`);
    assert.ok(modelRuns() - runs < fullRuns, `${needle}: fewer models run than the ${fullRuns} of the full analysis`);
    const mine = hover.layers.find((x) => x.span.start === l.span.start);
    assert.deepEqual(mine?.shapes, l.shapes, needle);
    assert.deepEqual(mine?.cost.macs.before?.constant, l.cost.macs.before?.constant, needle);
  }
});

void test('a file of blocks: a conv no model builds is answered at once in a document just opened, by the full analysis once it is typed in; importers that cannot reach it are not run', () => {
  const blocks = `import torch.nn as nn


${STEM}

class Unused(nn.Module):
    """Kept for old checkpoints; no model builds it."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 5, padding=2)

    def forward(self, x):
        return self.conv(x)
`;
  // model.py reaches Stem; its \`big\` (an example in its docstring) reaches nothing of blocks.py
  const model = `import torch.nn as nn
from blocks import Stem
from lib.huge import Huge


class Net(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        self.stem = Stem(3, width)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(self.stem(x))


def net():
    return Net(width=48)


def big():
    """
    >>> m = big()
    >>> y = m(torch.rand(1, 3, 64, 64))
    """
    return Huge()
`;
  // other.py imports blocks.py but mentions neither Unused nor what builds it: its top level (which reads lib/heavy.py) is not run for that line
  const other = `import torch.nn as nn
from blocks import Stem
from lib.heavy import WIDTH

STEM_WIDTH = WIDTH * 2


def stem():
    return Stem(3, STEM_WIDTH)
`;
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'sepconv-reach-'));
  fs.mkdirSync(path.join(dir, 'lib'));
  fs.writeFileSync(path.join(dir, 'blocks.py'), blocks);
  fs.writeFileSync(path.join(dir, 'model.py'), model);
  fs.writeFileSync(path.join(dir, 'other.py'), other);
  fs.writeFileSync(path.join(dir, 'lib', 'heavy.py'), 'WIDTH = 24\n');
  fs.writeFileSync(
    path.join(dir, 'lib', 'huge.py'),
    'import torch.nn as nn\n\n\ndef Huge():\n    return nn.Sequential(nn.Conv2d(3, 64, 7), nn.ReLU())\n',
  );
  const file = path.join(dir, 'blocks.py');
  const options = defaultOptions({ inputSizes: { 2: [64, 64] } });
  const src = { key: 'blocks', version: '1', languageId: 'python' as const, text: blocks };
  const reads: string[] = [];
  const sources = () => {
    const disk = diskSources(file);
    return { ...disk, read: (f: string) => (reads.push(path.relative(dir, f)), disk.read!(f)) };
  };
  const full = new TreeCache().analysis(src, options, sources());
  assert.ok(
    reads.includes(path.join('lib', 'heavy.py')) && reads.includes(path.join('lib', 'huge.py')),
    'the full analysis runs both importers',
  );
  const layer = (needle: string) => full.layers.find((x) => blocks.slice(x.span.start).startsWith(needle))!;
  const lineOf = (start: number) => {
    const from = blocks.lastIndexOf('\n', start) + 1;
    return { start: from, end: blocks.indexOf('\n', start) };
  };
  const hover = (trees: TreeCache, s: typeof src, start: number) => {
    reads.length = 0;
    const at = lineOf(start);
    return trees
      .focusedAnalysis(s, options, { start: Math.max(0, at.start - 400), end: at.end }, sources(), at)
      .layers.find((x) => x.span.start === start);
  };

  // Stem's conv: Net reaches it; \`big\` (not reaching it) is not called for its docstring's example
  const stem = layer('nn.Conv2d(cin');
  assert.equal(stem.shapes?.model, 'Net');
  const stemTrees = new TreeCache();
  assert.deepEqual(hover(stemTrees, src, stem.span.start)?.shapes, stem.shapes);
  assert.equal(stemTrees.stats.reached, 1);
  assert.ok(!reads.includes(path.join('lib', 'deep.py')), `no build of big(): ${reads.join(', ')}`);

  // Unused's conv: built by no model; answered as the full analysis answers it, without running it
  // nor the importer that cannot reach it
  const unused = layer('nn.Conv2d(c, c, 5');
  assert.equal(unused.shapes, undefined);
  const trees = new TreeCache();
  const mine = hover(trees, src, unused.span.start);
  assert.deepEqual(trees.stats, { ...trees.stats, reached: 1, analyses: 0 });
  assert.deepEqual(
    [mine?.shapes, mine?.convertible, mine?.reason, mine?.cost.params.before?.constant],
    [undefined, unused.convertible, unused.reason, unused.cost.params.before?.constant],
  );
  assert.ok(!reads.includes(path.join('lib', 'heavy.py')), `other.py not run: ${reads.join(', ')}`);

  // typed in (no full run yet: the one started after an answer would be interrupted by the next
  // edit), a line no reaching model builds gets the full analysis, which later hovers are focused from
  const edited = { ...src, version: '2', text: blocks.replace('padding=2)', 'padding=3)') };
  hover(trees, edited, unused.span.start);
  assert.deepEqual([trees.stats.reached, trees.stats.analyses], [1, 1]);
  // and so it does once a full run is kept, which it renews
  const again = { ...src, version: '3', text: blocks.replace('padding=2)', 'padding=4)') };
  hover(trees, again, unused.span.start);
  assert.deepEqual([trees.stats.reached, trees.stats.analyses], [1, 2]);
});
