/**
 * The plain syntax trees shape inference reads (src/analysis/python/shapes/syntax.ts) answer what
 * web-tree-sitter answers, node for node, over real model files, a new version's copy made from the
 * old one's too (random edits, as typing makes them); and a file's copy is shared while its text is
 * the same (program.ts), a new one when it changes.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import type { Node } from 'web-tree-sitter';
import { initParsing, parse } from '../../src/analysis/parsing';
import { heldParse, namedByUser, plainFile } from '../../src/analysis/python/shapes/program';
import { diskSources } from '../../src/analysis/files';
import { returnStatements } from '../../src/analysis/python/shapes/nodes';
import { copyTree, type SyntaxNode } from '../../src/analysis/python/shapes/syntax';
import { analyzeText } from '../../src/analysis/analyze';
import { defaultOptions } from '../../src/analysis/options';
import { ROOT, tempDir } from '../helpers';

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
    // in an ERROR node web-tree-sitter names a child's field (fieldNameForChild, childrenForFieldName)
    // but finds no child by it (childForFieldName); the copy answers as the first two
    if (real.type !== 'ERROR') {
      assert.equal(plain.childForFieldName(field)?.startIndex, real.childForFieldName(field)?.startIndex, `${at} field ${field}`);
    }
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

/** A small deterministic generator (mulberry32): the same edits on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

void test("a new version's copy, made from the old one's, answers like web-tree-sitter after random edits (syntax errors too)", () => {
  const dirs = [path.join(ROOT, 'test/fixtures/shapes'), '/usr/lib/python3/dist-packages/torchvision/models'];
  const files = dirs
    .filter((d) => fs.existsSync(d))
    .flatMap((d) => pyFiles(d).sort())
    .filter((f) => /\bConv2d\(/.test(fs.readFileSync(f, 'utf8')))
    .slice(0, 12);
  assert.ok(files.length >= 6, `${files.length} files`);
  const next = random(7);
  // what typing inserts: spaces, a newline and indentation, digits, names, brackets, a colon, a quote
  const typed = [' ', '\n', '\n    ', '1', '0', 'x', 'self', '(', ')', ',', ':', '=', '"', '#', '\t'];
  let carried = 0;
  let nodes = 0;
  const point = (s: string, o: number) => {
    const before = s.slice(0, o);
    return { row: before.split('\n').length - 1, column: o - (before.lastIndexOf('\n') + 1) };
  };
  // reads a random part of a copy: a node's children, then each child's with even odds (an unread
  // node's subtree is read, in a later version, from WebAssembly at its moved descendant index)
  const readSome = (n: SyntaxNode): void => {
    for (const c of n.children) if (next() < 0.5) readSome(c);
  };
  for (const file of files) {
    let text = fs.readFileSync(file, 'utf8');
    let tree = parse('python', text);
    let copy = copyTree(tree.copy(), text);
    readSome(copy.rootNode);
    /** Replaces `remove` characters at `at` with `insert`: the tree edited and parsed again, a copy from the last. */
    const change = (at: number, remove: number, insert: string, round: string) => {
      const after = text.slice(0, at) + insert + text.slice(at + remove);
      tree.edit({
        startIndex: at,
        oldEndIndex: at + remove,
        newEndIndex: at + insert.length,
        startPosition: point(text, at),
        oldEndPosition: point(text, at + remove),
        newEndPosition: point(after, at + insert.length),
      });
      const newTree = parse('python', after, tree);
      tree.delete();
      tree = newTree;
      text = after;
      copy = copyTree(tree.copy(), text, copy);
      // all of the copy read and compared some rounds, a random part others
      if (next() < 0.3) nodes += same(copy.rootNode, tree.rootNode, `${file} ${round}`);
      else readSome(copy.rootNode);
      carried += copy.carried;
    };
    try {
      for (let round = 0; round < 40; round++) {
        // anywhere: in a body, a docstring, a comment, the indentation
        const at = Math.floor(next() * text.length);
        const remove = next() < 0.4 ? Math.min(1 + Math.floor(next() * 3), text.length - at) : 0;
        const insert = remove > 0 && next() < 0.5 ? '' : typed[Math.floor(next() * typed.length)];
        const removed = text.slice(at, at + remove);
        change(at, remove, insert, `round ${round}`);
        // a syntax error typed is undone (the next versions pair with this one again)
        if (tree.rootNode.hasError) change(at, insert.length, removed, `round ${round} undone`);
      }
      nodes += same(copy.rootNode, tree.rootNode, `${file} at the end`);
    } finally {
      tree.delete();
    }
  }
  assert.ok(carried > 1000, `${carried} nodes copied from an earlier version`);
  assert.ok(nodes > 20_000, `${nodes} nodes compared`);
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

/** A file of blocks: a conv in a module class (`more`: lines before the conv, to make its body long). */
const stemModule = (...more: string[]) =>
  [
    'import torch.nn as nn',
    '',
    'class Stem(nn.Module):',
    '    def __init__(self, cin, cout):',
    '        super().__init__()',
    ...more,
    '        self.conv = nn.Conv2d(cin, cout, 3, padding=1)',
    '',
    '    def forward(self, x):',
    '        return self.conv(x)',
    '',
  ].join('\n');

void test('a file a model imported is not parsed again for its own analysis, which gives what a fresh parse gives', () => {
  const dir = tempDir();
  const blocks = path.join(dir, 'blocks.py');
  const net = path.join(dir, 'net.py');
  const blocksText = stemModule();
  const netText = [
    'import torch.nn as nn',
    'from blocks import Stem',
    '',
    'class Net(nn.Module):',
    '    def __init__(self):',
    '        super().__init__()',
    '        self.stem = Stem(3, 48)',
    '        self.head = nn.Conv2d(48, 96, 3)',
    '',
    '    def forward(self, x):',
    '        return self.head(self.stem(x))',
    '',
  ].join('\n');
  fs.writeFileSync(blocks, blocksText);
  fs.writeFileSync(net, netText);
  assert.equal(heldParse(blocks, blocksText), undefined);
  analyzeText(netText, 'python', defaultOptions(), { sources: diskSources(net, [dir]) });
  // Net's model imported blocks.py: its parse is held, and serves blocks.py's own analysis
  const held = heldParse(blocks, blocksText);
  assert.ok(held);
  assert.equal(held.tree.rootNode.text, blocksText);
  assert.equal(heldParse(blocks, blocksText + '\n'), undefined, 'another text is not the held one');
  assert.equal(plainFile(blocks, blocksText, held.tree, false), held.holder, 'the analysed document shares the imported copy');
  const own = analyzeText(blocksText, 'python', defaultOptions(), { sources: diskSources(blocks, [dir]) });
  // Stem's conv gets its shapes from Net, the model importing it
  const shapes = own.layers[0].shapes;
  assert.deepEqual([shapes?.model, shapes?.inputShapes, shapes?.outputShapes], ['Net', [[1, 3, 224, 224]], [[1, 48, 224, 224]]]);
  // a parse of its own (a tree given) answers the same
  const tree = parse('python', blocksText);
  try {
    const fresh = analyzeText(blocksText, 'python', defaultOptions(), { sources: diskSources(blocks, [dir]), tree });
    assert.deepEqual(JSON.parse(JSON.stringify(own)), JSON.parse(JSON.stringify(fresh)));
  } finally {
    tree.delete();
  }
  // the held tree is still readable (the analysis did not delete it)
  assert.equal(held.tree.rootNode.type, 'module');
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

/** Statements enough to make a body an outline leaves out, at an indentation. */
const filler = (indent: string) => {
  const lines = [
    `x = {"a": 'b#', "c": [1,`,
    `     2]}  # a comment`,
    `y = f"{x!r} \\" ' #"`,
    `z = """not`,
    `  a # comment"""`,
    `w = (x, y, z) * 2`,
  ];
  return [...lines, ...lines].map((l) => indent + l).join('\n');
};

void test("a library file's copy read from its outline answers like web-tree-sitter over the whole text", () => {
  const dirs = ['models', 'ops', 'transforms']
    .map((d) => `/usr/lib/python3/dist-packages/torchvision/${d}`)
    .filter((d) => fs.existsSync(d));
  const files = [path.join(ROOT, 'test/fixtures/shapes'), ...dirs].flatMap(pyFiles);
  const texts = files.map((f) => fs.readFileSync(f, 'utf8'));
  // what the scan of logical lines must follow: comments after a body at every depth, strings
  // with quotes and hashes, continued headers, tabs, CRLF line breaks, nested and async functions,
  // decorators, a body on its header's line, a docstring less indented than its body
  const tricky = [
    `class A:\n    def f(self, a,\n          b=(1,\n    2)):  # header\n${filler('        ')}\n        if a:\n${filler('            ')}\n            # deeper\n        # body\n    # class\n# module\n    def g(self): return 1\n`,
    `def f():\n${filler('    ')}\n        # deeper than the body\n  # less than the body\ny = 1\n`,
    `def f(x) -> "str:":\n    """doc\nless indented\n    """\n${filler('    ')}\n\n\n`,
    `@decorator(arg=")")\nasync  def f(x: 'a"b' = "#"):\n${filler('    ')}\n    def inner():\n${filler('        ')}\n    return inner\nx = f\n`,
    `if True:\n\tdef f(x, \\\n\t      y):\n${filler('\t\t')}\n\tz = 1\n`,
    `class B:\r\n    def f(self):\r\n${filler('        ').replace(/\n/g, '\r\n')}\r\n    x = 1\r\n`,
    `def g(): pass\ndef h(\n    x,\n):\n    # only a comment first\n${filler('    ')}`,
    `# größe 😀\ndef f(x: "ä😀"):\n${filler('    ')}  # é\n    return x[1:2, ::3]\n`,
    // docstrings (raw, with escapes, quotes and a comment after), and strings that are not one alone
    `r"""Module ${'doc \\n "q" '.repeat(20)}\n"""  # after\nclass C:\n    '''${'class doc \\t '.repeat(20)}'''\n    x = 1\n    """${'attribute doc '.repeat(20)}"""\n    """${'a'.repeat(200)}""" + x\n    """${'b'.repeat(200)}""" """c"""\n    y = """${'d'.repeat(200)}"""\n`,
  ];
  let outlined = 0;
  let nodes = 0;
  for (const [i, text] of [...texts, ...tricky].entries()) {
    const where = files[i] ?? `tricky ${i - files.length}`;
    const copy = plainFile(`/virtual/outline/${i}.py`, text);
    const tree = (copy.root as unknown as SyntaxNode).tree;
    if (i >= files.length) assert.ok(tree.leftOut, `${where}: an outline`);
    if (tree.leftOut) outlined++;
    const real = parse('python', text);
    try {
      assert.equal(real.rootNode.hasError, false, where);
      nodes += same(tree.rootNode, real.rootNode, where);
      const parts = (tree.leftOut?.ends.size ?? 0) + (tree.leftOut?.strings.size ?? 0);
      assert.equal(tree.partsParsed, parts, `${where}: every part left out was read from a parse of its own`);
    } finally {
      real.delete();
    }
  }
  assert.ok(outlined >= 50, `${outlined} outlines`);
  assert.ok(nodes > 100_000, `${nodes} nodes compared`);
});

void test("reading a library module's top level and its classes' methods parses none of their bodies; a body read is parsed alone", () => {
  const dir = tempDir();
  const file = path.join(dir, 'blocks.py');
  const text = [
    'import torch.nn as nn',
    '',
    'class Block(nn.Module):',
    '    def __init__(self, cin, cout):',
    '        super().__init__()',
    filler('        '),
    '        self.conv = nn.Conv2d(cin, cout, 3, padding=1)',
    '',
    '    def forward(self, x):',
    filler('        '),
    '        return self.conv(x)',
    '',
    'def helper(x):',
    filler('    '),
    '    return x',
    '',
  ].join('\n');
  fs.writeFileSync(file, text);
  const copy = plainFile(file, text);
  const tree = (copy.root as unknown as SyntaxNode).tree;
  assert.equal(tree.leftOut?.ends.size, 3);
  const cls = tree.rootNode.namedChildren.find((n) => n.type === 'class_definition')!;
  const methods = cls.childForFieldName('body')!.namedChildren;
  assert.deepEqual(
    methods.map((m) => [m.childForFieldName('name')?.text, m.endIndex]),
    [
      ['__init__', text.indexOf('padding=1)') + 'padding=1)'.length],
      ['forward', text.indexOf('self.conv(x)') + 'self.conv(x)'.length],
    ],
  );
  assert.equal(cls.endIndex, methods[1].endIndex);
  assert.equal(tree.partsParsed, 0, 'names and extents come from the outline');
  const body = methods[1].childForFieldName('body')!;
  assert.equal(body.endIndex, methods[1].endIndex);
  assert.equal(tree.partsParsed, 0, "a body's extent comes from the outline");
  assert.equal(body.lastNamedChild?.text, 'return self.conv(x)');
  assert.equal(tree.partsParsed, 1, 'its statements from a parse of its own');
  assert.equal(body.lastNamedChild?.startPosition.row, text.slice(0, text.indexOf('return self.conv')).split('\n').length - 1);
  // the whole text's parse, for the file's own analysis: made once, kept by the copy
  const held = heldParse(file, text);
  assert.equal(held?.tree.rootNode.text, text);
  assert.equal(heldParse(file, text)?.tree, held?.tree);
});

void test('a text the scan of logical lines cannot follow has no outline, and its copy is the whole parse', () => {
  for (const text of [`def f():\n${filler('    ')}\n    s = "unterminated\n`, `def f():\n${filler('    ')}\n    x = (1,\n`]) {
    const copy = plainFile('/virtual/outline/broken.py', text);
    const tree = (copy.root as unknown as SyntaxNode).tree;
    assert.equal(tree.leftOut, undefined);
    const real = parse('python', text);
    try {
      same(tree.rootNode, real.rootNode, 'broken');
    } finally {
      real.delete();
    }
  }
});

void test('a file the command analyses itself (in a folder named on the command line) is read whole when a model imports it, others in outline', () => {
  const blocksText = stemModule(filler('        '));
  const netText =
    'import torch.nn as nn\nfrom blocks import Stem\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.stem = Stem(3, 8)\n\n    def forward(self, x):\n        return self.stem(x)\n';
  for (const named of [true, false]) {
    const dir = tempDir();
    const blocks = path.join(dir, 'blocks.py');
    const net = path.join(dir, 'net.py');
    fs.writeFileSync(blocks, blocksText);
    fs.writeFileSync(net, netText);
    const sources = diskSources(net, named ? [dir] : []);
    assert.equal(namedByUser(sources, blocks), named);
    const [layer] = analyzeText(netText, 'python', defaultOptions(), { sources }).models ?? [];
    assert.equal(layer?.name, 'Net');
    const held = heldParse(blocks, blocksText);
    assert.ok(held);
    assert.equal((held.holder.root as unknown as SyntaxNode).tree.leftOut === undefined, named, named ? 'whole' : 'outline');
  }
});
