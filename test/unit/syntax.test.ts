/**
 * The plain syntax trees shape inference reads (src/analysis/python/shapes/syntax.ts) answer what
 * web-tree-sitter answers, node for node, over real model files; and a file's copy is shared while
 * its text is the same (program.ts), a new one when it changes.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import type { Node } from 'web-tree-sitter';
import { initParsing, parse } from '../../src/analysis/parsing';
import { plainFile } from '../../src/analysis/python/shapes/program';
import { returnStatements } from '../../src/analysis/python/shapes/nodes';
import { copyTree, type SyntaxNode } from '../../src/analysis/python/shapes/syntax';
import { analyzeText } from '../../src/analysis/analyze';
import { defaultOptions } from '../../src/analysis/options';
import { ROOT } from '../helpers';

before(async () => {
  await initParsing();
});

const pyFiles = (d: string): string[] =>
  fs
    .readdirSync(d, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? pyFiles(path.join(d, e.name)) : e.name.endsWith('.py') ? [path.join(d, e.name)] : []));

/** Compares a node and its subtree; returns how many nodes were compared. */
function same(plain: SyntaxNode, real: Node, where: string): number {
  const at = `${where} ${real.type}@${real.startIndex}`;
  assert.equal(plain.type, real.type, at);
  assert.equal(plain.isNamed, real.isNamed, at);
  assert.equal(plain.startIndex, real.startIndex, at);
  assert.equal(plain.endIndex, real.endIndex, at);
  assert.deepEqual(plain.startPosition, real.startPosition, at);
  assert.equal(plain.text, real.text, at);
  assert.equal(plain.childCount, real.childCount, at);
  assert.deepEqual(
    plain.namedChildren.map((c) => c.startIndex),
    real.namedChildren.map((c) => c!.startIndex),
    at,
  );
  for (const field of new Set(Array.from({ length: real.childCount }, (_, i) => real.fieldNameForChild(i)))) {
    if (!field) continue;
    assert.deepEqual(
      plain.childrenForFieldName(field).map((c) => c.startIndex),
      real.childrenForFieldName(field).map((c) => c!.startIndex),
      `${at} field ${field}`,
    );
    assert.equal(plain.childForFieldName(field)?.startIndex, real.childForFieldName(field)?.startIndex, `${at} field ${field}`);
  }
  let n = 1;
  for (let i = 0; i < real.childCount; i++) {
    const c = plain.child(i)!;
    assert.equal(c.parent, plain, at);
    n += same(c, real.child(i)!, where);
  }
  return n;
}

void test('a plain copy answers like web-tree-sitter for every node of real model files, non-ASCII text too', () => {
  const files = pyFiles(path.join(ROOT, 'test/fixtures/shapes'));
  assert.ok(files.length >= 10, `${files.length} files`);
  const texts = files.map((f) => fs.readFileSync(f, 'utf8'));
  // positions and slices after characters outside ASCII and outside the BMP
  texts.push('# größe × 2 😀\nclass M(nn.Module):\n    def f(self, x: "ä😀"):\n        return x[1:2, ::3]  # é\n');
  let nodes = 0;
  for (const [i, text] of texts.entries()) {
    const tree = parse('python', text);
    try {
      const plain = copyTree(tree.copy(), text);
      nodes += same(plain.rootNode, tree.rootNode, files[i] ?? 'inline');
      assert.deepEqual(
        plain.rootNode.descendantsOfType('identifier').map((n) => n.startIndex),
        tree.rootNode.descendantsOfType('identifier').map((n) => n!.startIndex),
      );
    } finally {
      tree.delete();
    }
  }
  assert.ok(nodes > 10_000, `${nodes} nodes compared`);
});

void test("a function's return statements, read from its statements alone, are those of all its descendants", () => {
  const dirs = [path.join(ROOT, 'test/fixtures'), '/usr/lib/python3/dist-packages/torchvision/models'].filter((d) => fs.existsSync(d));
  const texts = dirs.flatMap(pyFiles).map((f) => fs.readFileSync(f, 'utf8'));
  // returns under every compound statement and in nested definitions; none in a lambda or a docstring
  texts.push(
    [
      'def f(x):',
      '    """return 1"""',
      '    g = lambda y: y',
      '    if x:',
      '        return 1',
      '    elif x > 1:',
      '        for i in x:',
      '            while i:',
      '                try:',
      '                    return i',
      '                except ValueError:',
      '                    return 2',
      '                finally:',
      '                    pass',
      '    else:',
      '        with open(x) as h:',
      '            match h:',
      '                case 1:',
      '                    return h',
      '    class C:',
      '        def m(self):',
      '            return self',
      '    @dec',
      '    def inner():',
      '        return',
      '    return g',
      '',
    ].join('\n'),
  );
  let functions = 0;
  for (const text of texts) {
    const tree = parse('python', text);
    try {
      for (const f of copyTree(tree.copy(), text).rootNode.descendantsOfType('function_definition')) {
        assert.deepEqual(
          returnStatements(f as unknown as Node).map((r) => r.startIndex),
          f.descendantsOfType('return_statement').map((r) => r.startIndex),
          f.text.split('\n')[0],
        );
        functions++;
      }
    } finally {
      tree.delete();
    }
  }
  assert.ok(functions > 200, `${functions} functions`);
});

void test('a file read by path is parsed once while its text is the same, again when it changes', () => {
  const a = plainFile('/virtual/blocks.py', 'x = 1\n');
  assert.equal(plainFile('/virtual/blocks.py', 'x = 1\n'), a);
  const b = plainFile('/virtual/blocks.py', 'x = 2\n');
  assert.notEqual(b, a);
  assert.equal(b.root.text, 'x = 2\n');
  // an unsaved buffer (no path) is never shared
  assert.notEqual(plainFile('', 'x = 1\n'), plainFile('', 'x = 1\n'));
});

void test('broken code where a name is missing ends with an unknown, not a loop (a fuzz case that hung the server)', () => {
  // `def __init__}self)` leaves an empty identifier that a lookup once searched the file for forever
  const text = [
    'from torch.nn import Conv2d, Module',
    '',
    'class MobileStage(Module):',
    '    def __init__}self):',
    '        self.conv = Conv2d(64, 128, 3,, bias=False)',
    '',
    '    def forward(self, x):',
    '        return self.conv(x)',
    '',
  ].join('\n');
  const a = analyzeText(text, 'python', defaultOptions());
  assert.equal(a.layers.length, 1);
  assert.match(a.layers[0].reason ?? '', /a name is missing here/);
  // tree-sitter wraps the file from line 1 in an ERROR; the message points at the broken `def` instead
  assert.equal(a.syntaxError?.message, 'syntax error at line 4, column 5 (unexpected text)');
});
