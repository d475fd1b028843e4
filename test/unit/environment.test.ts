/**
 * Library source followed: absolute imports of packages installed in the workspace's Python
 * environment (its sys.path, given to the core as data) are read as source, in place; a package the
 * environment lacks is an unknown with the reason; the interpreter is asked only when a file imports
 * such a package; the command's --python and its result cache. The same against real torchvision
 * and PyTorch: test/oracle/zoo.test.ts.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { analyzeText } from '../../src/analysis/analyze';
import { parseEnvironment, type PythonEnvironment } from '../../src/analysis/environment';
import { diskSources } from '../../src/analysis/files';
import { defaultOptions } from '../../src/analysis/options';
import { initParsing } from '../../src/analysis/parsing';
import type { ModelSummary } from '../../src/analysis/model';
import { recording, ResultCache } from '../../src/cli/cache';
import { cli, tempDir } from '../helpers';

before(async () => {
  await initParsing();
});

function tree(files: Record<string, string>, dir = tempDir('sepconv-site-')): string {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** A small installed library: a block class, a package inside the package, a factory. */
const convkit = (width: number) => ({
  'convkit/__init__.py': `from .blocks import ConvBNAct\nfrom . import layers\n\n__version__ = "0.1"\n`,
  'convkit/blocks.py': `import torch.nn as nn


class ConvBNAct(nn.Module):
    def __init__(self, cin, cout, kernel_size=3, stride=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.ReLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))
`,
  'convkit/layers/__init__.py': `from .make import make_stage\n`,
  'convkit/layers/make.py': `import torch.nn as nn
from ..blocks import ConvBNAct

WIDTH = ${width}


def make_stage(cin, depth, stride=2):
    layers = [ConvBNAct(cin, WIDTH, stride=stride)]
    for _ in range(depth - 1):
        layers.append(ConvBNAct(WIDTH, WIDTH, 3))
    return nn.Sequential(*layers)
`,
});

const USER = `import torch.nn as nn
import convkit
from convkit.blocks import ConvBNAct as CBA
from convkit.layers.make import make_stage


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = CBA(3, 16, 5, stride=2)
        self.body = make_stage(16, depth=2)
        self.tail = convkit.ConvBNAct(cin=convkit.layers.make.WIDTH, cout=32, kernel_size=3, act=False)
        self.head = nn.Conv2d(32, 10, 1)

    def forward(self, x):
        return self.head(self.tail(self.body(self.stem(x))))
`;

/** The same model with the library's definitions pasted into the user's file. */
function inlined(width: number): string {
  const lib = convkit(width);
  const body = (f: string) => lib[f as keyof typeof lib].replace(/^(import torch\.nn as nn|from \.\.blocks import ConvBNAct)\n/gm, '');
  return `import torch.nn as nn\n${body('convkit/blocks.py')}\n${body('convkit/layers/make.py')}
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = ConvBNAct(3, 16, 5, stride=2)
        self.body = make_stage(16, depth=2)
        self.tail = ConvBNAct(cin=WIDTH, cout=32, kernel_size=3, act=False)
        self.head = nn.Conv2d(32, 10, 1)

    def forward(self, x):
        return self.head(self.tail(self.body(self.stem(x))))
`;
}

const env = (paths: string[], stdlib: string[] = ['sys', 'os', 'contextlib']): PythonEnvironment => ({
  interpreter: '/opt/fake/bin/python',
  paths,
  stdlib,
});

/** The analysis of `text` at `file` (on disk), its models and how often the environment was asked for. */
function analyse(file: string, text: string, python?: PythonEnvironment) {
  let asked = 0;
  const sources = {
    ...diskSources(file),
    python: () => {
      asked++;
      return python;
    },
  };
  const a = analyzeText(text, 'python', defaultOptions(), { sources });
  return { models: a.models ?? [], asked, layers: a.layers };
}

const net = (models: ModelSummary[]) => models.find((m) => m.name === 'Net');

void test("a package installed in the environment is read from its folder: the model's totals are those of the same code written in the file", () => {
  const site = tree(convkit(24));
  const user = path.join(tree({ 'model.py': USER }), 'model.py');
  const lib = analyse(user, USER, env([site]));
  const m = net(lib.models)!;
  assert.deepEqual(m.reasons, []);
  assert.equal(lib.asked, 1, 'the environment is asked once per analysis');
  const local = path.join(tree({ 'model.py': inlined(24) }), 'model.py');
  const mine = net(analyse(local, inlined(24)).models)!;
  assert.ok(mine.params.before !== null && mine.params.before > 0);
  assert.deepEqual(
    [m.params.before, m.macs.before, m.output, m.convs, m.exactConvs],
    [mine.params.before, mine.macs.before, mine.output, mine.convs, mine.exactConvs],
  );
  // the convs inside the library's make_stage: 16 -> 24, 3x3, no bias; and 24 -> 24 once more; the user's 1x1 head
  const perConv = (cin: number, cout: number, k: number) => cin * cout * k * k;
  const bn = (c: number) => 2 * c;
  assert.equal(
    m.params.before,
    perConv(3, 16, 5) +
      bn(16) +
      perConv(16, 24, 3) +
      bn(24) +
      perConv(24, 24, 3) +
      bn(24) +
      perConv(24, 32, 3) +
      bn(32) +
      perConv(32, 10, 1) +
      10,
  );
});

void test('without the environment, or where it lacks the package, the totals are unknown: `package X is not installed in <interpreter>`', () => {
  const user = path.join(tree({ 'model.py': USER }), 'model.py');
  const empty = tempDir('sepconv-site-empty-');
  const missing = net(analyse(user, USER, env([empty])).models)!;
  assert.equal(missing.params.before, null);
  assert.ok(missing.reasons.includes('package convkit is not installed in /opt/fake/bin/python'), missing.reasons.join('; '));
  // no interpreter at all (python3 not on PATH): unknown as before, no claim about what is installed
  const none = net(analyse(user, USER, undefined).models)!;
  assert.equal(none.params.before, null);
  assert.ok(!none.reasons.some((r) => r.includes('not installed')), none.reasons.join('; '));
  // a compiled module (convkit.cpython-311-x86_64-linux-gnu.so) is installed, only not readable
  const compiled = tree({ 'convkit.cpython-311-x86_64-linux-gnu.so': 'ELF' });
  const opaque = net(analyse(user, USER, env([compiled])).models)!;
  assert.ok(!opaque.reasons.some((r) => r.includes('not installed')), opaque.reasons.join('; '));
});

void test('the first folder of sys.path that holds the package is the one read (as Python does)', () => {
  const user = path.join(tree({ 'model.py': USER }), 'model.py');
  const [first, second] = [tree(convkit(8)), tree(convkit(40))];
  const a = net(analyse(user, USER, env([first, second])).models)!;
  const b = net(analyse(user, USER, env([second, first])).models)!;
  const local = (w: number) => net(analyse(path.join(tree({ 'm.py': inlined(w) }), 'm.py'), inlined(w)).models)!.params.before;
  assert.equal(a.params.before, local(8));
  assert.equal(b.params.before, local(40));
  // a file of the user's next to the model comes before the environment's
  const dir = tree({ 'model.py': USER, ...convkit(16) });
  assert.equal(net(analyse(path.join(dir, 'model.py'), USER, env([first])).models)!.params.before, local(16));
});

void test('the environment is asked only for imports that are neither the user’s nor modelled; the standard library is never read', () => {
  const torchOnly = `import math\nimport torch\nimport torch.nn as nn\nfrom collections import OrderedDict\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 8, 3)\n\n    def forward(self, x):\n        return self.conv(x)\n`;
  const dir = tree({ 'model.py': torchOnly });
  const r = analyse(path.join(dir, 'model.py'), torchOnly, env([]));
  assert.equal(r.asked, 0);
  assert.equal(net(r.models)!.params.before, 3 * 8 * 9 + 8);
  // contextlib is the standard library's (shapes/stdlib.ts): an opaque library, not "not installed",
  // even with a contextlib.py on sys.path, and the environment is not even asked for its sys.path
  const stdlib = `import contextlib\n${torchOnly.replace('return self.conv(x)', 'with contextlib.suppress(Exception):\n            pass\n        return self.conv(x)')}`;
  const site = tree({ 'contextlib.py': 'raise SystemExit\n' });
  const s = analyse(path.join(dir, 'model.py'), stdlib, env([site]));
  assert.equal(s.asked, 0);
  assert.ok(!net(s.models)!.reasons.some((x) => x.includes('not installed')));
});

void test("the interpreter's answer: sys.path without the current folder, the standard library's folders and zip files", () => {
  const out = JSON.stringify({
    path: [
      '',
      '/usr/lib/python311.zip',
      '/usr/lib/python3.11',
      '/usr/lib/python3.11/lib-dynload',
      '/venv/lib/python3.11/site-packages/',
      '/src/pkg',
    ],
    stdlib: ['/usr/lib/python3.11'],
    names: ['os', 'sys'],
  });
  assert.deepEqual(parseEnvironment('python3', `a banner a sitecustomize printed\n${out}\n`), {
    interpreter: 'python3',
    paths: ['/venv/lib/python3.11/site-packages', '/src/pkg'],
    stdlib: ['os', 'sys'],
  });
  assert.throws(() => parseEnvironment('python3', 'Python 2.7'));
});

void test('--python: an interpreter that cannot answer is a usage error (exit 2) with the reason', async () => {
  const missing = await cli('report', '--python', '/nonexistent/python', tempDir());
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--python \/nonexistent\/python: .*no such interpreter/);
  const bad = path.join(tempDir('sepconv-bad-python-'), 'python');
  fs.writeFileSync(bad, '#!/bin/sh\necho "not json"\nexit 0\n', { mode: 0o755 });
  const garbled = await cli('check', '--python', bad, tempDir());
  assert.equal(garbled.code, 2);
  assert.match(garbled.stderr, /did not answer with its sys\.path/);
  const failing = path.join(path.dirname(bad), 'failing');
  fs.writeFileSync(failing, '#!/bin/sh\necho "ImportError: broken site" >&2\nexit 1\n', { mode: 0o755 });
  const failed = await cli('report', '--python', failing, tempDir());
  assert.equal(failed.code, 2);
  assert.match(failed.stderr, /failed: ImportError: broken site/);
  const noValue = await cli('report', '--python');
  assert.equal(noValue.code, 2);
});

void test('the result cache keeps what the environment answered: another answer (another interpreter, a package installed) is a miss', () => {
  const site = tree(convkit(24));
  const dir = tree({ 'model.py': USER });
  const file = path.join(dir, 'model.py');
  const withEnv = (e: PythonEnvironment | undefined) => ({ ...diskSources(file), python: () => e });
  const rec = recording(withEnv(env([site])));
  const a = analyzeText(USER, 'python', defaultOptions(), { sources: rec.sources });
  assert.deepEqual(rec.deps.python, { env: env([site]) });
  assert.ok(
    [...rec.deps.reads.keys()].some((f) => f.startsWith(site + path.sep)),
    'the library files read are recorded',
  );
  const cache = new ResultCache<number | null>(tempDir('sepconv-cache-'), 'aaaaaaaaaaaaaaaa', 'options');
  const params = net(a.models ?? [])!.params.before;
  cache.put(file, USER, rec.deps, params);
  assert.equal(cache.get(file, USER, withEnv(env([site]))), params);
  assert.equal(cache.get(file, USER, withEnv(env([tempDir()]))), undefined);
  assert.equal(cache.get(file, USER, withEnv(undefined)), undefined);
  // a library file changes: a miss through the recorded reads
  fs.appendFileSync(path.join(site, 'convkit', 'layers', 'make.py'), '\nWIDTH = 32\n');
  assert.equal(cache.get(file, USER, withEnv(env([site]))), undefined);
});
