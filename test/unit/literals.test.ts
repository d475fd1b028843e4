/**
 * Python literals as the interpreter reads them (src/analysis/python/shapes/expressions.ts): every
 * form of string literal, through a model whose channel counts come from dict lookups by string
 * keys and from len() of strings. The numbers are PyTorch's for the same file.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { diskSources } from '../../src/analysis/files';
import { analyzeText } from '../../src/analysis/analyze';
import { defaultOptions } from '../../src/analysis/options';
import { initParsing, parse } from '../../src/analysis/parsing';
import { inferModels } from '../../src/analysis/python/shapes/models';
import { modelsOf, tempDir } from '../helpers';

void test('string literals of every form: plain, raw, triple-quoted, escaped, implicitly joined, f-strings', async () => {
  await initParsing(['python']);
  // the numbers PyTorch gives (print(sum(p.numel() for p in Net().parameters()), [m.out_channels for m in Net().children()]))
  const text = String.raw`import torch.nn as nn

WIDTHS = {'a': 8, "b": 16, '''c''': 24, r'd\n': 32, 'e\n': 40, u"f": 48, 'g' 'h': 56, f'{2}x': 64, "it's": 72, '': 80, """t
q""": 88}
NAMES = ['conv', "bn", r'\relu', '''pool''', 'a\tb']


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, WIDTHS["a"], 3)
        self.c2 = nn.Conv2d(WIDTHS["a"], WIDTHS['d\\n'], 3)
        self.c3 = nn.Conv2d(WIDTHS[r'd\n'], WIDTHS["e\n"], 3)
        self.c4 = nn.Conv2d(WIDTHS['e\n'], WIDTHS["c"] + WIDTHS['f'] + WIDTHS['gh'], 1)
        self.c5 = nn.Conv2d(128, WIDTHS['2x'] + WIDTHS['it\'s'] + WIDTHS[""] + WIDTHS['t\nq'], 1)
        self.c6 = nn.Conv2d(304, len(NAMES[2]) + len(NAMES[4]) * 10 + len(''.join(NAMES)), 1)
        self.c7 = nn.Conv2d(53, len(f'{{x}}{3}') * 10 + len('\x41\101\u00e9'), 1)

    def forward(self, x):
        return self.c7(self.c6(self.c5(self.c4(self.c3(self.c2(self.c1(x)))))))
`;
  const [net] = modelsOf(text);
  assert.equal(net.params, 74749 + 53 * 43 + 43);
  assert.deepEqual(
    net.convs.map((c) => c.args.outChannels?.constant),
    [8, 32, 40, 128, 304, 53, 43],
  );
});

void test('the static evaluation reads string literals as Python does: escapes decoded, raw kept, bytes no string', async () => {
  await initParsing(['python']);
  const text = String.raw`import torch.nn as nn

a = nn.Conv2d(3, 8, 3, padding='same')
b = nn.Conv2d(3, 8, 3, padding="same")
c = nn.Conv2d(3, 8, 3, padding=r'\same')
d = nn.Conv2d(3, 8, 3, padding=b'same')
e = nn.Conv2d(3, 8, 3, padding='''valid''')
`;
  const layers = analyzeText(text, 'python', defaultOptions()).layers;
  assert.deepEqual(
    layers.map((l) => l.args.padding ?? null),
    ['same', 'same', null, null, 'valid'],
  );
  assert.match(layers[2].reason ?? '', /'\\same' is not 'same' or 'valid'/);
  assert.match(layers[3].reason ?? '', /padding \(bytes\)/);
});

void test('a long display of literals in an imported file is read once per thread, and each run gets a list of its own', async () => {
  await initParsing(['python']);
  const dir = tempDir();
  const names = Array.from({ length: 40 }, (_, i) => `'class_${i}'`).join(', ');
  // the library appends to its list at import: a shared list would grow by one every run
  fs.writeFileSync(
    path.join(dir, 'labels.py'),
    `CLASSES = [${names}]\nCLASSES.append("background")\nSIZES = (${Array.from({ length: 40 }, (_, i) => i).join(', ')})\n`,
  );
  const model = `import torch.nn as nn
from labels import CLASSES, SIZES


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(SIZES[-1] + SIZES[3], len(CLASSES), 1)

    def forward(self, x):
        return self.conv(x)
`;
  const file = path.join(dir, 'model.py');
  fs.writeFileSync(file, model);
  for (let run = 0; run < 3; run++) {
    const tree = parse('python', model);
    try {
      const [head] = inferModels({ path: file, text: model, root: tree.rootNode }, diskSources(file), defaultOptions());
      assert.deepEqual([head.convs[0].args.inChannels?.constant, head.convs[0].args.outChannels?.constant], [42, 41], `run ${run + 1}`);
    } finally {
      tree.delete();
    }
  }
});
