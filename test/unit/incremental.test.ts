/**
 * Layers carried from version to version (the core's LayerMemo, through the server's tree cache)
 * are exactly what a fresh analysis of the same text gives: keystrokes on real fixture models, most
 * of them local (digits, names, spaces, operators inside a class), some not (newlines, brackets,
 * quotes, comments, imports, pragmas, module constants, `.weight` reads).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { analyzeText } from '../../src/analysis/analyze';
import type { PythonAnalysis } from '../../src/analysis/python/analyze';
import { defaultOptions } from '../../src/analysis/options';
import { initParsing } from '../../src/analysis/parsing';
import { DocumentStore } from '../../src/server/documents';
import { TreeCache } from '../../src/server/trees';
import { detectLayout } from '../../src/refactor/layout';
import { ROOT } from '../helpers';

before(() => initParsing());

const FIXTURES = [
  'test/fixtures/pytorch/args_module_constants/input.py',
  'test/fixtures/pytorch/args_local_assignments/input.py',
  'test/fixtures/pytorch/channel_reads/input.py',
  'test/fixtures/pytorch/args_class_attributes/input.py',
  'test/fixtures/oracle/resnet_basic/model.py',
  'test/fixtures/oracle/unet/model.py',
  'test/fixtures/oracle/weight_access/model.py',
  'test/fixtures/oracle/defaults/model.py',
  'test/fixtures/shapes/resnet/model.py',
  'test/fixtures/shapes/densenet/model.py',
  'test/fixtures/shapes/inception/model.py',
  'test/fixtures/shapes/unet/model.py',
];

const LOCAL = ['1', '2', '0', 'x', '_', ' ', '+', '*', '', ''];
const OTHER = ['\n', '(', ')', '#', "'", ':', '\n    ', 'import os', '.weight', '# sepconv: w=8', 'WIDTH = 3\n'];

/**
 * Keystrokes in pairs, as a user tries something and takes it back: a change at a random place
 * (mostly one local character, sometimes something that is not local), then its undo.
 */
function* keystrokes(text: string, n: number, seed: number): Generator<{ start: number; end: number; insert: string }> {
  const rnd = (k: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % k;
  };
  for (let i = 0; i < n; i++) {
    const start = rnd(text.length + 1);
    const insert = rnd(8) === 0 ? OTHER[rnd(OTHER.length)] : LOCAL[rnd(LOCAL.length)];
    const end = insert === '' ? Math.min(text.length, start + 1) : start;
    const removed = text.slice(start, end);
    yield { start, end, insert };
    yield { start, end: start + insert.length, insert: removed };
  }
}

/** Layers as plain data, so that `deepEqual` compares what a caller sees. */
const plain = (x: unknown) =>
  x === undefined ? undefined : (JSON.parse(JSON.stringify(x, (_k, v: unknown) => (v instanceof Map ? [...v] : v))) as unknown);

void test('layers kept across keystrokes equal a fresh analysis of every version', () => {
  const options = defaultOptions();
  let kept = 0;
  let compared = 0;
  for (const [i, rel] of FIXTURES.entries()) {
    const original = fs.readFileSync(path.join(ROOT, rel), 'utf8');
    const comparedBefore = compared;
    const trees = new TreeCache();
    const store = new DocumentStore(trees);
    const uri = `file:///${i}.py`;
    store.open(uri, 'python', 1, original);
    let version = 1;
    for (const e of keystrokes(original, 40, 11 + i)) {
      const doc = store.get(uri)!;
      store.change(uri, ++version, [{ range: { start: doc.positionAt(e.start), end: doc.positionAt(e.end) }, text: e.insert }]);
      const unit = store.unitFor(uri)!;
      const all = { start: 0, end: unit.text.length };
      const fresh = analyzeText(unit.text, 'python', options, { range: all }) as PythonAnalysis;
      const quick = trees.quickAnalysis(unit, options, all) as PythonAnalysis;
      const what = `${rel}, version ${version} (${JSON.stringify(e)})`;
      assert.deepEqual(plain(quick.layers), plain(fresh.layers), what);
      compared += fresh.layers.length;
      // the module context the memo carries: imports (their spans serve the rewrite) and pragmas
      assert.deepEqual(plain(quick.imports), plain(fresh.imports), `${what}: imports`);
      assert.deepEqual(quick.pragmaText, fresh.pragmaText, `${what}: pragmas`);
      if (version % 10 === 0) {
        // the full analysis, shapes and models included, through the same memo
        const full = analyzeText(unit.text, 'python', options);
        const cached = trees.analysis(unit, options);
        assert.deepEqual(plain(cached.layers), plain(full.layers), `${rel}, version ${version}: full analysis`);
        assert.deepEqual(
          plain((cached as { models?: unknown }).models),
          plain((full as { models?: unknown }).models),
          `${rel}, version ${version}: models`,
        );
      }
    }
    kept += trees.stats.layersKept;
    assert.ok(
      compared - comparedBefore >= 40,
      `${rel}: ${compared - comparedBefore} layers compared over 80 versions (a fixture without convs checks nothing)`,
    );
  }
  assert.equal(FIXTURES.length, 12);
  // the memo did its work: most keystrokes kept the layers outside the edited statement
  assert.ok(kept >= 100, `layers kept: ${kept}`);
});

void test('a change of options, or a text that does not parse, keeps nothing', () => {
  const text = fs.readFileSync(path.join(ROOT, 'test/fixtures/oracle/resnet_basic/model.py'), 'utf8');
  const trees = new TreeCache();
  const store = new DocumentStore(trees);
  store.open('file:///r.py', 'python', 1, text);
  const unit = () => store.unitFor('file:///r.py')!;
  const all = () => ({ start: 0, end: unit().text.length });
  trees.quickAnalysis(unit(), defaultOptions(), all());
  const n = trees.quickAnalysis(unit(), defaultOptions(), all()).layers.length;
  assert.ok(n > 2);
  assert.equal(trees.stats.layersKept, n, 'the same version again: every layer kept');
  trees.quickAnalysis(unit(), defaultOptions({ depthMultiplier: 2 }), all());
  assert.equal(trees.stats.layersKept, n, 'other options: nothing kept');
  // break the file at its end: nothing recorded while it does not parse
  const doc = store.get('file:///r.py')!;
  store.change('file:///r.py', 2, [
    { range: { start: doc.positionAt(text.length), end: doc.positionAt(text.length) }, text: '\ndef broken(:\n' },
  ]);
  trees.quickAnalysis(unit(), defaultOptions({ depthMultiplier: 2 }), all());
  assert.equal(trees.stats.layersKept, n, 'an erroneous tree: nothing kept');
});

/** the cases of REACHING: one added or lost changes this on purpose */
const REACHING_CASES = 5;

/**
 * Keystrokes whose effect reaches a layer outside the edited line: each must show in the layers, as a
 * fresh analysis shows it. `|` marks where the character is typed.
 */
const REACHING: { name: string; text: string; insert: string }[] = [
  {
    name: 'a parameter default of the same class',
    text: `import torch.nn as nn

class A(nn.Module):
    def __init__(self, c=16):
        super().__init__()
        self.conv = nn.Conv2d(8, 16, 3)

class B(nn.Module):
    def __init__(self, w=6|4):
        super().__init__()
        self.conv = nn.Conv2d(w, w, 3)
`,
    insert: '8',
  },
  {
    name: 'a read of a conv attribute in another class',
    text: `import torch.nn as nn

class A(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(8, 16, 3)

class Probe:
    def look(self, model):
        return model.conv1.weigh|
`,
    insert: 't',
  },
  {
    name: 'a file pragma on an indented line of another class',
    text: `import torch.nn as nn

class A(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(w, 2 * w, 3)

class B:
    # sepconv: w=1|
    pass
`,
    insert: '6',
  },
  {
    name: 'a local width the next conv of the same method reads',
    text: `import torch.nn as nn

class A(nn.Module):
    def __init__(self):
        super().__init__()
        w = 6|4
        self.stem = nn.Conv2d(3, 8, 3)
        self.conv = nn.Conv2d(w, w, 3)
`,
    insert: '8',
  },
  {
    name: 'a conv whose out_channels the next conv reads',
    text: `import torch.nn as nn

class A(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(8, 1|6, 3)
        self.conv2 = nn.Conv2d(self.conv1.out_channels, 32, 3)
`,
    insert: '2',
  },
];

void test('keystrokes that reach other statements (defaults, reads, pragmas) show in every layer', () => {
  const options = defaultOptions();
  assert.equal(REACHING.length, REACHING_CASES);
  for (const c of REACHING) {
    const at = c.text.indexOf('|');
    const text = c.text.replace('|', '');
    const trees = new TreeCache();
    const store = new DocumentStore(trees);
    store.open('file:///c.py', 'python', 1, text);
    const all = () => ({ start: 0, end: store.unitFor('file:///c.py')!.text.length });
    const before = plain(trees.quickAnalysis(store.unitFor('file:///c.py')!, options, all()).layers);
    const doc = store.get('file:///c.py')!;
    store.change('file:///c.py', 2, [{ range: { start: doc.positionAt(at), end: doc.positionAt(at) }, text: c.insert }]);
    const unit = store.unitFor('file:///c.py')!;
    const after = plain(trees.quickAnalysis(unit, options, all()).layers);
    const fresh = plain(analyzeText(unit.text, 'python', options, { range: all() }).layers);
    assert.notDeepEqual(fresh, before, `${c.name}: the keystroke changes a layer`);
    assert.deepEqual(after, fresh, c.name);
  }
});

void test('imports after the edited line move with it (the rewrite adds names to them)', () => {
  const text = `import torch.nn as nn

class A(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 16, 3)

def build():
    from torch.nn import Conv2d
    return Conv2d(16, 32, 3)
`;
  const options = defaultOptions();
  const trees = new TreeCache();
  const store = new DocumentStore(trees);
  store.open('file:///i.py', 'python', 1, text);
  const all = () => ({ start: 0, end: store.unitFor('file:///i.py')!.text.length });
  const before = trees.quickAnalysis(store.unitFor('file:///i.py')!, options, all()) as PythonAnalysis;
  const at = text.indexOf('(8, 16') + 2;
  const doc = store.get('file:///i.py')!;
  store.change('file:///i.py', 2, [{ range: { start: doc.positionAt(at), end: doc.positionAt(at) }, text: '8' }]);
  const unit = store.unitFor('file:///i.py')!;
  const after = trees.quickAnalysis(unit, options, all()) as PythonAnalysis;
  const fresh = analyzeText(unit.text, 'python', options, { range: all() }) as PythonAnalysis;
  assert.equal(trees.stats.layersKept, 1, 'the conv of build() is kept');
  assert.equal(after.imports.fromTorchNn[0].span.start, before.imports.fromTorchNn[0].span.start + 1);
  assert.deepEqual(plain(after.imports), plain(fresh.imports));
  assert.deepEqual(plain(after.layers), plain(fresh.layers));
});

/** Widths tuned by hand: a digit typed after a digit of an indented line, then taken back. */
function* digitKeystrokes(text: string, n: number, seed: number): Generator<{ start: number; end: number; insert: string }> {
  const rnd = (k: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % k;
  };
  const digits = [...text.matchAll(/^[ \t]+\S.*$/gm)].flatMap((m) => [...m[0].matchAll(/\d/g)].map((d) => m.index + d.index + 1));
  for (let i = 0; i < n && digits.length; i++) {
    const at = digits[rnd(digits.length)];
    yield { start: at, end: at, insert: String(rnd(10)) };
    yield { start: at, end: at + 1, insert: '' };
  }
}

/** A file of many small models, like the benchmark's: each class a model of its own. */
function blocks(n: number): string {
  const out = ['import torch.nn as nn', 'import torch.nn.functional as F', '', ''];
  for (let c = 0; c < n; c++) {
    out.push(
      `class Block${c}(nn.Module):`,
      `    def __init__(self, in_ch=${16 * (1 + (c % 3))}, out_ch=32, stride=1):`,
      '        super().__init__()',
      '        self.conv1 = nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False)',
      '        self.bn1 = nn.BatchNorm2d(out_ch)',
      '        self.proj = nn.Conv2d(in_ch, out_ch, 1, stride=stride)',
      '',
      '    def forward(self, x):',
      '        return F.relu(self.bn1(self.conv1(x)) + self.proj(x))',
      '',
      '',
    );
  }
  return out.join('\n');
}

void test('a hover after keystrokes gets, from a focused run, exactly the full analysis of that version', () => {
  const options = defaultOptions();
  const texts: [string, string][] = [
    ['blocks', blocks(6)],
    ...['resnet', 'densenet', 'inception', 'unet', 'vgg'].map((n): [string, string] => [
      n,
      fs.readFileSync(path.join(ROOT, `test/fixtures/shapes/${n}/model.py`), 'utf8'),
    ]),
  ];
  let focused = 0;
  let hovered = 0;
  for (const [i, [name, original]] of texts.entries()) {
    const hoveredBefore = hovered;
    const trees = new TreeCache();
    const store = new DocumentStore(trees);
    const uri = `file:///${name}.py`;
    store.open(uri, 'python', 1, original);
    trees.analysis(store.unitFor(uri)!, options);
    let version = 1;
    for (const e of [...keystrokes(original, 8, 5 + i), ...digitKeystrokes(original, 8, 9 + i)]) {
      const doc = store.get(uri)!;
      store.change(uri, ++version, [{ range: { start: doc.positionAt(e.start), end: doc.positionAt(e.end) }, text: e.insert }]);
      const unit = store.unitFor(uri)!;
      const full = analyzeText(unit.text, 'python', options) as PythonAnalysis;
      // hover every layer of this version, each on the lines of its call
      for (const want of full.layers) {
        const line = unit.text.lastIndexOf('\n', want.span.start - 1) + 1;
        const next = unit.text.indexOf('\n', want.span.start);
        const got = trees.focusedAnalysis(unit, options, { start: line, end: next < 0 ? unit.text.length : next + 1 });
        const layer = got.layers.find((l) => l.span.start === want.span.start);
        assert.deepEqual(plain(layer), plain(want), `${name}, version ${version} (${JSON.stringify(e)}): the layer at ${want.span.start}`);
        hovered++;
      }
      focused += trees.stats.focused;
      trees.stats.focused = 0;
      // after each undo the full analysis runs (the server's warm-up, once typing stops)
      if (version % 2 === 1) trees.analysis(unit, options);
    }
    assert.ok(
      hovered - hoveredBefore >= 16,
      `${name}: ${hovered - hoveredBefore} hovers over 32 versions (a text without convs checks nothing)`,
    );
  }
  assert.equal(texts.length, 6);
  assert.ok(focused > 40, `hovers answered by a focused run: ${focused}`);
});

void test('a focused run where definition order matters gives way to the full analysis, with the same numbers', () => {
  // A's class body reads CFG when the module runs; CFG changes after it: A.W is 32, not 64
  const text = `import torch.nn as nn

CFG = {'w': 32}

class A(nn.Module):
    W = CFG['w']

    def __init__(self, k=3):
        super().__init__()
        self.conv = nn.Conv2d(self.W, 64, k, padding=1)

    def forward(self, x):
        return self.conv(x)

CFG.update(w=64)
`;
  const options = defaultOptions();
  const trees = new TreeCache();
  const store = new DocumentStore(trees);
  store.open('file:///o.py', 'python', 1, text);
  trees.analysis(store.unitFor('file:///o.py')!, options);
  const at = text.indexOf('k=3') + 2;
  const doc = store.get('file:///o.py')!;
  store.change('file:///o.py', 2, [{ range: { start: doc.positionAt(at), end: doc.positionAt(at + 1) }, text: '5' }]);
  const unit = store.unitFor('file:///o.py')!;
  const full = analyzeText(unit.text, 'python', options) as PythonAnalysis;
  const conv = full.layers[0];
  // shape inference ran A with W = 32 and k = 5: 32 * 64 * 5 * 5 + 64 parameters
  assert.equal(conv.cost.params.before?.constant, 32 * 64 * 25 + 64);
  const got = trees.focusedAnalysis(unit, options, { start: conv.span.start, end: conv.span.end });
  assert.deepEqual(plain(got.layers.find((l) => l.span.start === conv.span.start)), plain(conv));
  assert.equal(trees.stats.focused, 0, 'no focused run: the module mutates CFG after defining A');
});

void test('the layout kept across keystrokes is the layout of every version', () => {
  let versions = 0;
  for (const [i, rel] of FIXTURES.entries()) {
    const original = fs.readFileSync(path.join(ROOT, rel), 'utf8');
    let text = original;
    for (const e of [...keystrokes(original, 30, 3 + i), ...digitKeystrokes(original, 10, 7 + i)]) {
      text = text.slice(0, e.start) + e.insert + text.slice(e.end);
      // the previous version was the last text laid out: its layout is kept when it can be
      const kept = detectLayout(text, 88);
      // a text the cache has not seen (a line more): computed from scratch
      const fresh = detectLayout(`${text}\n`, 88);
      assert.deepEqual(kept, fresh, `${rel} after ${JSON.stringify(e)}`);
      detectLayout(text, 88);
      versions++;
    }
  }
  assert.equal(versions, FIXTURES.length * 80);
});

void test('a keystroke that tips the trailing-comma vote is laid out anew', () => {
  const list = (name: string, comma: string) => `${name} = nn.Sequential(\n    nn.ReLU(),\n    nn.Tanh()${comma}\n)\n`;
  const text = `import torch.nn as nn\n\n${list('a', ',')}${list('b', '')}${list('c', '')}`;
  assert.equal(detectLayout(text, 88).trailingComma, false, 'one list of three ends with a comma');
  const at = text.indexOf('nn.Tanh()\n)\nc') + 'nn.Tanh()'.length;
  const typed = `${text.slice(0, at)},${text.slice(at)}`;
  assert.equal(detectLayout(typed, 88).trailingComma, true, 'two of three do');
});

void test('models whose builds write to a class are not run again alone', () => {
  // each A built bumps A.count, and B reads it: B's width depends on the models built before it
  const text = `import torch.nn as nn

class A(nn.Module):
    count = 1

    def __init__(self, k=3):
        super().__init__()
        A.count = A.count + 1
        self.conv = nn.Conv2d(8, 16, k, padding=1)

    def forward(self, x):
        return self.conv(x)

class B(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8 * A.count, 3, padding=1)

    def forward(self, x):
        return self.conv(x)
`;
  const options = defaultOptions();
  const trees = new TreeCache();
  const store = new DocumentStore(trees);
  store.open('file:///w.py', 'python', 1, text);
  trees.analysis(store.unitFor('file:///w.py')!, options);
  const at = text.indexOf('k=3') + 2;
  const doc = store.get('file:///w.py')!;
  store.change('file:///w.py', 2, [{ range: { start: doc.positionAt(at), end: doc.positionAt(at + 1) }, text: '5' }]);
  const unit = store.unitFor('file:///w.py')!;
  const full = analyzeText(unit.text, 'python', options) as PythonAnalysis;
  assert.equal(full.layers.length, 2);
  for (const want of full.layers) {
    const got = trees.focusedAnalysis(unit, options, { start: want.span.start, end: want.span.end });
    assert.deepEqual(plain(got.layers.find((l) => l.span.start === want.span.start)), plain(want));
  }
  assert.equal(trees.stats.focused, 0, 'the full analysis answered');
});

void test('a keystroke in one conv of a method keeps the other convs of the method', () => {
  const text = blocks(2);
  const options = defaultOptions();
  const trees = new TreeCache();
  const store = new DocumentStore(trees);
  store.open('file:///k.py', 'python', 1, text);
  const all = () => ({ start: 0, end: store.unitFor('file:///k.py')!.text.length });
  const n = trees.quickAnalysis(store.unitFor('file:///k.py')!, options, all()).layers.length;
  const at = text.indexOf('(in_ch, out_ch, kernel_size') + 'in_ch'.length + 1;
  const doc = store.get('file:///k.py')!;
  store.change('file:///k.py', 2, [{ range: { start: doc.positionAt(at), end: doc.positionAt(at) }, text: '2' }]);
  const unit = store.unitFor('file:///k.py')!;
  const after = trees.quickAnalysis(unit, options, all());
  assert.deepEqual(plain(after.layers), plain(analyzeText(unit.text, 'python', options, { range: all() }).layers));
  assert.equal(trees.stats.layersKept, n - 1, 'every layer but the edited conv1 is kept');
});
