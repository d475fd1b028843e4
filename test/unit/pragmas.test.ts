/**
 * The one pragma parser (src/analysis/kernel/pragmas.ts) and the one meaning of its scope, as the
 * static analysis, the shape interpreter and TensorFlow.js read it: a pragma on a `class` or `def`
 * line is that definition's (the innermost wins), any other is file-wide; comments only.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeText } from '../../src/analysis/analyze';
import { readPragmas } from '../../src/analysis/kernel/pragmas';
import { defaultOptions } from '../../src/analysis/options';
import { initParsing, parse, type LanguageId } from '../../src/analysis/parsing';
import { inferModels } from '../../src/analysis/python/shapes/models';

function pragmasOf(text: string, language: LanguageId) {
  const tree = parse(language, text);
  try {
    return readPragmas(tree.rootNode, text, language);
  } finally {
    tree.delete();
  }
}

const SCOPES = `import torch.nn as nn

def block(width):  # sepconv: width=24
    return nn.Conv2d(3, width, 3)

class Net(nn.Module):  # sepconv: width=16, input=1x3x32x32
    def __init__(self, width):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3)

    def forward(self, x):
        return self.conv(x)

def other(width):
    return nn.Conv2d(3, width, 3)

# sepconv: width=8
DOC = """
# sepconv: width=99
"""
`;

void test('pragmas: definition lines by row, the rest file-wide, strings ignored', async () => {
  await initParsing();
  const p = pragmasOf(SCOPES, 'python');
  assert.deepEqual(p.file, { ints: { width: 8 }, text: {} });
  assert.deepEqual(
    [...p.definitions],
    [
      [2, { ints: { width: 24 }, text: {} }],
      [5, { ints: { width: 16 }, text: { input: '1x3x32x32' } }],
    ],
  );
  // a later pragma of the same scope overrides an earlier one; JavaScript's are all file-wide
  assert.deepEqual(pragmasOf('# sepconv: a=1 b=2\nx = 1\n# sepconv: a=3\n', 'python').file.ints, { a: 3, b: 2 });
  const js = pragmasOf(
    '// sepconv: width=8\nfunction f(width) {  // sepconv: depth=2\n  return width;\n}\n/* sepconv: n=3 */\n',
    'javascript',
  );
  assert.deepEqual(js.file.ints, { width: 8, depth: 2, n: 3 });
  assert.equal(js.definitions.size, 0);
});

void test("pragmas: the static analysis reads a def line as that function's, a class line as its class's", async () => {
  await initParsing();
  const a = analyzeText(SCOPES, 'python', defaultOptions());
  const widths = a.layers.map((l) => [l.args.outChannels?.constant, l.assumptions.find((x) => x.startsWith('width='))]);
  assert.deepEqual(widths, [
    [24, 'width=24 (pragma on def block)'],
    [16, 'width=16 (pragma on class Net)'],
    [8, 'width=8 (pragma)'],
  ]);
});

void test("pragmas: the shape interpreter takes the innermost definition's value, then the file's", async () => {
  await initParsing();
  const net = `import torch.nn as nn

class Net(nn.Module):  # sepconv: width=16
    def __init__(self, width=4, depth=2):  # sepconv: depth=1
        super().__init__()
        self.convs = nn.Sequential(*[nn.Conv2d(3 if i == 0 else width, width, 3) for i in range(depth)])

    def forward(self, x):
        return self.convs(x)
`;
  const run = (text: string) => {
    const tree = parse('python', text);
    try {
      return inferModels({ path: '', text, root: tree.rootNode }, {}, defaultOptions())[0].convs.map((c) => c.args.outChannels?.constant);
    } finally {
      tree.delete();
    }
  };
  // the def's depth=1 and the class's width=16 (the defaults 4 and 2 are overridden)
  assert.deepEqual(run(net), [16]);
  // a pragma inside a string is no pragma
  assert.deepEqual(run(`${net}\nDOC = """\n# sepconv: depth=3\n"""\n`), [16]);
});
