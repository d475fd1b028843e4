/**
 * Shape inference through the core and the command: where the input comes from, which classes are
 * models, how unknowns stop propagation (with the reason), and what the JSON, table and Markdown
 * reports carry. Numbers are checked against PyTorch in test/oracle/shapes.test.ts.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { diskSources } from '../../src/analysis/files';
import { defaultOptions, type AnalysisOptions } from '../../src/analysis/options';
import { initParsing, parse } from '../../src/analysis/parsing';
import { fileModels } from '../../src/analysis/python/shapes/fileRuns';
import { inferModels, type ModelShapes } from '../../src/analysis/python/shapes/models';
import type { LayerJson, ModelJson } from '../../src/analysis/report';
import { cli, modelsOf, tempDir } from '../helpers';

const models = modelsOf;

/** 1-based line of the first line holding `needle` */
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

function project(files: Record<string, string>): string {
  const dir = tempDir('sepconv-shapes-');
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

interface Report {
  files: { path: string; layers: LayerJson[]; models?: ModelJson[] }[];
}

const NET = `import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class Net(nn.Module):
    def __init__(self, width=16, num_classes=10):
        super().__init__()
        self.blocks = nn.Sequential(Block(3, width), Block(width, 2 * width, stride=2), Block(2 * width, 2 * width))
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        x = self.blocks(x)
        return self.head(x.mean(dim=(2, 3)))
`;

void test('the input: class pragma, file pragma, example, --input-size, default', async () => {
  await initParsing();
  const pick = (text: string, options: Partial<AnalysisOptions> = {}) => {
    const [m] = models(text, options);
    return m ? [m.input, m.inputFrom] : undefined;
  };
  assert.deepEqual(pick(NET), [[1, 3, 224, 224], 'default']);
  assert.deepEqual(pick(NET, { inputSizes: { 2: [32, 48] } }), [[1, 3, 32, 48], '--input-size']);
  assert.deepEqual(pick(NET.replace('class Net(nn.Module):', 'class Net(nn.Module):  # sepconv: input=2x3x64x64')), [
    [2, 3, 64, 64],
    'pragma on class Net',
  ]);
  assert.deepEqual(pick(`# sepconv: input=1x3x40x40\n${NET}`), [[1, 3, 40, 40], 'file pragma']);
  // a spatial-only pragma keeps N=1 and takes the channels from the first layer
  assert.deepEqual(pick(`# sepconv: input=40x30\n${NET}`), [[1, 3, 40, 30], 'file pragma']);
  const main = `${NET}\n\nif __name__ == "__main__":\n    net = Net(width=8)\n    y = net(torch.randn(4, 3, 96, 96))\n    print(y.shape)\n`;
  const [m] = models(main);
  assert.deepEqual([m.input, m.inputFrom, m.build], [[4, 3, 96, 96], `example at line ${lineOf(main, 'torch.randn')}`, 'Net(width=8)']);
  // kuangliu/pytorch-cifar style: a test function that is never called
  const fn = `${NET}\n\ndef test():\n    net = Net()\n    x = torch.zeros(2, 3, 32, 32)\n    y = net(x)\n    print(y.size())\n`;
  assert.deepEqual(pick(fn), [[2, 3, 32, 32], `example at line ${lineOf(fn, 'torch.zeros')}`]);
  // the pragma wins over the example
  assert.deepEqual(pick(main.replace('class Net(nn.Module):', 'class Net(nn.Module):  # sepconv: input=1x3x8x8')), [
    [1, 3, 8, 8],
    'pragma on class Net',
  ]);
});

void test('models: runnable classes and factories, not their parts', async () => {
  await initParsing();
  assert.deepEqual(
    models(NET).map((m) => m.name),
    ['Net'],
    'Block needs arguments and is a part of Net',
  );
  const factory = `${NET}\n\ndef net_wide(**kwargs):\n    return Net(width=64, **kwargs)\n\n\ndef make_block(c):\n    return Block(c, c)\n`;
  assert.deepEqual(
    models(factory).map((m) => [m.name, m.className, m.build]),
    [
      ['Net', 'Net', 'Net()'],
      ['net_wide', 'Net', 'net_wide()'],
    ],
  );
  // a class whose default construction is a part of another model is not a model of its own
  const part = NET.replace('def __init__(self, cin, cout, stride=1)', 'def __init__(self, cin=3, cout=3, stride=1)');
  assert.deepEqual(
    models(part).map((m) => m.name),
    ['Net'],
  );
  // required constructor arguments from --assume
  const required = NET.replace('def __init__(self, width=16, num_classes=10)', 'def __init__(self, width, num_classes=10)');
  assert.deepEqual(
    models(required).map((m) => m.name),
    [],
  );
  assert.deepEqual(
    models(required, { assumptions: { width: 8 } }).map((m) => [m.name, m.build]),
    [['Net', 'Net(width=8)']],
  );
  // --assume and pragmas override parameter defaults, as they do for the static arguments
  const wide = models(NET, { assumptions: { width: 8 } })[0];
  assert.deepEqual(
    wide.convs.map((c) => c.args.outChannels?.constant),
    [8, 16, 16],
  );
  const pragma = models(NET.replace('class Net(nn.Module):', 'class Net(nn.Module):  # sepconv: width=4'))[0];
  assert.deepEqual(
    pragma.convs.map((c) => c.args.outChannels?.constant),
    [4, 8, 8],
  );
  // a container without forward() is not a model
  assert.deepEqual(
    models(
      'import torch.nn as nn\n\nclass Holder(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 8, 3)\n',
    ).length,
    0,
  );
});

void test('what cannot be followed stops propagation with the reason, and nothing is guessed', async () => {
  await initParsing();
  const opaque = NET.replace('x = self.blocks(x)', 'x = some_library.warp(self.blocks[0](x))\n        x = self.blocks[1](x)');
  const [m] = models(opaque);
  assert.equal(m.macs, null);
  assert.equal(m.output, null);
  const why = `shape unknown after line ${lineOf(opaque, 'some_library')}: \`some_library.warp(self.blocks[0](x))\` (\`some_library\` is not defined)`;
  assert.deepEqual(m.reasons, [why], 'the output is unknown, and why');
  const byPath = Object.fromEntries(m.convs.map((c) => [c.path, c]));
  assert.equal(byPath['blocks.0.conv'].exact, true, 'what ran before the unknown call is exact');
  assert.equal(byPath['blocks.1.conv'].exact, false);
  assert.equal(byPath['blocks.1.conv'].reason, why);
  assert.equal(byPath['blocks.2.conv'].calls.length, 0, 'never called: 0 calls, exact');

  // a branch on tensor values cannot be decided: both sides run and are joined; which layers run
  // depends on it, so the model's MACs are unknown, with the condition's line
  const branch = NET.replace('x = self.blocks(x)', 'x = self.blocks[0](x)\n        if x.sum() > 0:\n            x = self.blocks[1](x)');
  const [b] = models(branch);
  assert.equal(b.macs, null);
  assert.equal(
    b.reasons[0],
    `shape unknown after line ${lineOf(branch, 'x.sum()')}: the layers that run depend on \`x.sum() > 0\` (line ${lineOf(branch, 'x.sum()')})`,
  );
  assert.notEqual(b.params, null, 'the parameters do not depend on it');

  // a mismatch PyTorch would raise on is reported, not papered over
  const [bad] = models(NET.replace('Block(width, 2 * width, stride=2)', 'Block(2 * width, 2 * width, stride=2)'));
  assert.match(bad.convs[1].reason!, /in_channels expects 32, got 16/);
});

void test('report --json: models with totals, layers with shapes and exact MACs', async () => {
  const dir = project({ 'net.py': NET });
  const r = await cli('report', path.join(dir, 'net.py'), '--json', '--input-size', '32x32');
  assert.equal(r.code, 0, r.stderr);
  const file = (JSON.parse(r.stdout) as Report).files[0];
  const [model] = file.models!;
  assert.deepEqual(
    { ...model, params: undefined, macs: undefined, savings: undefined },
    {
      name: 'Net',
      class: 'Net',
      line: 15,
      build: 'Net()',
      inputShape: [1, 3, 32, 32],
      inputFrom: '--input-size',
      outputShape: [1, 10],
      params: undefined,
      macs: undefined,
      savings: undefined,
      convs: 3,
      exactConvs: 3,
      reasons: [],
    },
  );
  // 3->16 at 32x32, 16->32 stride 2 at 16x16, 32->32 at 16x16
  const macs = [3 * 16 * 9 * 32 * 32, 16 * 32 * 9 * 16 * 16, 32 * 32 * 9 * 16 * 16];
  assert.equal(model.macs.before, macs[0] + macs[1] + macs[2]);
  assert.equal(model.params.before, 3 * 16 * 9 + 2 * 16 + 16 * 32 * 9 + 2 * 32 + 32 * 32 * 9 + 2 * 32 + 32 * 10 + 10);
  const [layer] = file.layers;
  assert.equal(layer.macs.before, macs[0] + macs[1] + macs[2], 'the one call site builds all three instances');
  assert.deepEqual(layer.shapes, {
    model: 'Net',
    instances: 3,
    calls: 3,
    inputShapes: [
      [1, 3, 32, 32],
      [1, 16, 32, 32],
      [1, 32, 16, 16],
    ],
    outputShapes: [
      [1, 16, 32, 32],
      [1, 32, 16, 16],
    ],
    exact: true,
    reason: null,
  });
  assert.equal(layer.assumptions[0], 'input 1x3x32x32 (--input-size) of model Net');
  // the model's separable totals follow from the layers that get converted
  const after = model.params.after!;
  assert.ok(after < model.params.before && model.macs.after! < model.macs.before);
});

void test('models over several files: relative imports, sibling modules, paths on the command line', async () => {
  const blocks = NET.split('class Net')[0];
  const net = `import torch.nn as nn\nfrom .blocks import Block\n\n\nclass Net${NET.split('class Net')[1]}`;
  const dir = project({
    'pkg/blocks.py': blocks,
    'pkg/net.py': net,
    'other/net2.py': net.replace('from .blocks import', 'from blocks import'),
  });
  const r = await cli('report', path.join(dir, 'pkg', 'net.py'), '--json');
  const m = (JSON.parse(r.stdout) as Report).files[0].models![0];
  assert.deepEqual([m.name, m.convs, m.exactConvs, m.reasons], ['Net', 3, 3, []]);
  // the file of building blocks has no model of its own: its layer runs in the model that imports it
  const rb = await cli('report', path.join(dir, 'pkg', 'blocks.py'), '--json');
  const layer = (JSON.parse(rb.stdout) as Report).files[0].layers[0];
  assert.deepEqual([layer.shapes?.model, layer.shapes?.instances, layer.shapes?.exact], ['Net', 3, true]);
  // `from blocks import Block` in another folder: found because pkg/ is named on the command line
  const r2 = await cli('report', path.join(dir, 'other', 'net2.py'), path.join(dir, 'pkg'), '--json');
  const m2 = (JSON.parse(r2.stdout) as Report).files.find((f) => f.path.endsWith('net2.py'))!.models![0];
  assert.deepEqual([m2.convs, m2.exactConvs], [3, 3]);
  // without it the import stays unknown, and says so
  const r3 = await cli('report', path.join(dir, 'other', 'net2.py'), '--json');
  const f3 = (JSON.parse(r3.stdout) as Report).files[0];
  assert.equal(f3.models, undefined, 'no conv is reachable, so no model');
});

void test('a call site is converted only where its modules get smaller', async () => {
  // the helper builds depthwise modules too: a guard on its own groups converts only the standard one
  const text = `import torch.nn as nn


def conv(cin, cout, k=3, groups=1):
    return nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = conv(2, 4)
        self.p = nn.Conv2d(4, 64, 1)
        self.b = conv(64, 64, groups=64)
        self.c = conv(64, 64, groups=64)
        self.d = conv(64, 64, groups=64)

    def forward(self, x):
        return self.d(self.c(self.b(self.p(self.a(x)))))
`;
  const dir = project({ 'net.py': text });
  const r = await cli('report', path.join(dir, 'net.py'), '--json');
  const [layer] = (JSON.parse(r.stdout) as Report).files[0].layers;
  assert.equal(layer.convertible, true);
  assert.deepEqual(layer.guard, { condition: 'groups == 1', terms: ['groups'], converted: 1, instances: 4 });
  // 2->4 k3 becomes 2*9 + 2*4; the three depthwise 64-channel convs stay 64*9 each
  assert.deepEqual(layer.params, { before: 2 * 4 * 9 + 3 * 64 * 9, after: 2 * 9 + 2 * 4 + 3 * 64 * 9 });
  const diff = await cli('apply', '--diff', path.join(dir, 'net.py'));
  assert.match(
    diff.stdout,
    /\+    return \(\n\+        nn\.Sequential\([\s\S]*\+        if groups == 1\n\+        else nn\.Conv2d\(cin, cout, k, padding=k \/\/ 2, groups=groups, bias=False\)\n\+    \)/,
  );

  // a Conv1d helper whose k=2 convs are smaller separable only from 3 outputs on: no test of the line tells them apart
  const inseparable = project({
    'net.py': `import torch.nn as nn


def conv(cin, cout, k=2):
    return nn.Conv1d(cin, cout, k)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = conv(8, 2)
        self.b = conv(2, 3)

    def forward(self, x):
        return self.b(self.a(x))
`,
  });
  const r2 = await cli('report', path.join(inseparable, 'net.py'), '--json');
  const [l2] = (JSON.parse(r2.stdout) as Report).files[0].layers;
  assert.equal(l2.convertible, false);
  assert.equal(
    l2.reason,
    "1 of the 2 modules built here are smaller separable, and no test of the line's kernel size, groups or widths tells them from the others",
  );
});

void test('table and Markdown show the models', async () => {
  const dir = project({ 'net.py': NET });
  const table = await cli('report', path.join(dir, 'net.py'));
  assert.match(
    table.stdout,
    /model Net \(line 15\): input 1x3x224x224 \(default\); params [\d.]+K → \d+ \(−[\d.]+%\); conv MACs [\d.]+M → [\d.]+M \(−[\d.]+%\); 3\/3 conv modules exact/,
  );
  assert.match(table.stdout, /8:21 1x3x224x224, 1x16x224x224, 1x32x112x112 → 1x16x224x224, 1x32x112x112, 3 instances, 3 calls in Net/);
  const md = await cli('report', path.join(dir, 'net.py'), '--markdown');
  assert.match(
    md.stdout,
    /\| Model \| Input \| Params \| Params \(separable\) \| Conv MACs \| Conv MACs \(separable\) \| Savings \(MACs\) \| Exact conv modules \|/,
  );
  assert.match(md.stdout, /net\.py:15 Net \| 1x3x224x224 \(default\) \| [\d,]+ \| [\d,]+ \| [\d,]+ \| [\d,]+ \| −[\d.]+% \| 3\/3 \|/);
});

void test('a condition that cannot be decided runs both sides and joins them: what they agree on stays exact', async () => {
  await initParsing();
  // telemetry with an undecidable test, a validation that raises, an enum default, `del` and a value only one side sets
  const src = `import enum
import torch.nn as nn


def _record_usage(obj):
    module = obj.__module__
    if not module.startswith("torchvision"):
        module = f"torchvision.internal.{module}"
    name = obj.__class__.__name__


class Weights(enum.Enum):
    IMAGENET1K_V1 = "url"


class Net(nn.Module):
    def __init__(self, weights=Weights.IMAGENET1K_V1, width=16):
        super().__init__()
        _record_usage(self)
        if not isinstance(weights, Weights):
            raise TypeError("bad weights")
        layers = {"a": nn.Conv2d(3, width, 3, padding=1), "b": nn.Conv2d(width, width, 3, padding=1), "c": nn.Linear(1, 1)}
        del layers["c"]
        self.body = nn.Sequential(*layers.values())
        self.head = nn.Conv2d(width, 10, 1)

    def forward(self, x):
        x = self.body(x)
        if self.training.__class__.__name__ == "unknowable" or x.sum() > 0:
            y = x
        else:
            y = x
        return self.head(y)
`;
  const [m] = models(src, { inputSizes: { 2: [32, 32] } });
  assert.equal(m.name, 'Net');
  assert.deepEqual(m.reasons, []);
  const params = 3 * 16 * 9 + 16 + 16 * 16 * 9 + 16 + 16 * 10 + 10;
  assert.equal(m.params, params, 'the Linear deleted from the dict is not counted');
  assert.equal(m.macs, 32 * 32 * (16 * 3 * 9 + 16 * 16 * 9 + 10 * 16));
  assert.deepEqual(m.output, [1, 10, 32, 32]);

  // sides that build different layers: the parameters are unknown, with the condition's line
  const differ = src.replace(
    '        self.head = nn.Conv2d(width, 10, 1)',
    '        if weights.value.startswith(unknown_name):\n            self.head = nn.Conv2d(width, 10, 1)\n        else:\n            self.head = nn.Conv2d(width, 20, 1)',
  );
  const [d] = models(differ);
  assert.equal(d.params, null);
  assert.ok(
    d.reasons.some((r) => r.includes(`line ${lineOf(differ, 'unknown_name')}`)),
    d.reasons.join('\n'),
  );
});

void test("an Enum's member values and a class's __annotations__ are computed when read: an unread member reads nothing, a read one (an alias, torchvision's __getattr__ to its fields) is exact", async () => {
  await initParsing();
  // torchvision's pattern: a weights enum whose members hold transforms (another module) and
  // metadata, models built with weights=None (the default) that never read them, and a legacy URL
  // dict at the end
  const src = `import enum
from dataclasses import dataclass, fields
from functools import partial

import torch.nn as nn
import typing_helpers
from presets import ImageClassification
from legacy import _ModelURLs

_COMMON = {"categories": ["a", "b", "c", "d", "e"]}


@dataclass
class Weights:
    url: str
    transforms: object
    meta: dict


class WeightsEnum(enum.Enum):
    def __getattr__(self, name):
        for f in fields(Weights):
            if f.name == name:
                return object.__getattribute__(self.value, name)
        return super().__getattr__(name)


class Net_Weights(WeightsEnum):
    V1 = Weights(url="https://example.com/v1.pth", transforms=partial(ImageClassification, crop_size=224), meta={**_COMMON, "acc": 1.0})
    V2 = Weights(url="https://example.com/v2.pth", transforms=None, meta={"categories": ["x", "y"]})
    DEFAULT = V2


class Net(nn.Module):
    __annotations__ = {"conv": typing_helpers.ConvType}

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.conv(x)).flatten(1))


def net(weights=None, num_classes=10):
    if weights is not None:
        num_classes = len(weights.meta["categories"])
    return Net(num_classes)


def pretrained():
    return net(weights=Net_Weights.DEFAULT)


model_urls = _ModelURLs({"net": Net_Weights.V1.url})
`;
  const dir = project({
    'model.py': src,
    // as torchvision's transforms/_presets.py: its classes' defaults come from another module
    'presets.py':
      'from interpolation import InterpolationMode\n\n\nclass ImageClassification:\n    def __init__(self, crop_size, interpolation=InterpolationMode.BILINEAR):\n        self.crop_size = crop_size\n',
    'interpolation.py': 'import enum\n\n\nclass InterpolationMode(enum.Enum):\n    BILINEAR = "bilinear"\n',
    'legacy.py': 'class _ModelURLs(dict):\n    pass\n',
    'typing_helpers.py': 'import torch.nn as nn\n\nConvType = nn.Conv2d\n',
  });
  const file = path.join(dir, 'model.py');
  const read: string[] = [];
  const tree = parse('python', src);
  const sources = diskSources(file, [], (f) => void read.push(path.basename(f)));
  const found = inferModels({ path: file, text: src, root: tree.rootNode }, sources, defaultOptions({ inputSizes: { 2: [32, 32] } }));
  tree.delete();
  const byName = new Map(found.map((m) => [m.name, m]));
  const conv = 3 * 16 * 9 + 16;
  assert.deepEqual(byName.get('Net')?.reasons, []);
  assert.equal(byName.get('Net')?.params, conv + 16 * 10 + 10);
  // DEFAULT is V2 (an alias of the raw value), read through the enum's __getattr__: two classes
  assert.deepEqual(byName.get('pretrained')?.reasons, []);
  assert.equal(byName.get('pretrained')?.params, conv + 16 * 2 + 2);
  // V1 is never read (the URL dict's arguments are not evaluated): its transforms' class is not
  // defined, so the module its defaults import is not read
  assert.ok(read.includes('presets.py') && !read.includes('interpolation.py'), read.join(', '));
  // nor is a class's __annotations__ (TorchScript's types): the module it names is not read
  assert.ok(!read.includes('typing_helpers.py'), read.join(', '));
});

void test("a norm layer's weight and bias are None without affine parameters, tensors with them: an init loop over self.modules() is decided", async () => {
  await initParsing();
  const src = `import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(8, elementwise_affine=False)
        self.gn = nn.GroupNorm(2, 8, affine=False)
        self.bn = nn.BatchNorm2d(8)
        self.ln = nn.LayerNorm([4, 4])
        width = 4
        for m in self.modules():
            if isinstance(m, (nn.LayerNorm, nn.GroupNorm)) and m.weight is None:
                width += 4
            elif isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)) and m.bias is not None:
                width += m.weight.shape[0]
        self.conv = nn.Conv2d(3, width, 3)

    def forward(self, x):
        return self.conv(x)
`;
  const [m] = models(src, { inputSizes: { 2: [16, 16] } });
  assert.deepEqual(m.reasons, []);
  // PyTorch 1.13 builds this with conv.out_channels 24 and 720 parameters
  assert.equal(m.convs[0].args.outChannels?.constant, 24);
  assert.equal(m.params, 720);
});

void test("a conv read as a conv from a file that imports its class is not converted (torchaudio's hubert init)", async () => {
  const components = `import torch.nn as nn


class ConvLayerBlock(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super().__init__()
        self.conv = nn.Conv1d(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size, stride=stride)

    def forward(self, x):
        return self.conv(x)


class Head(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv = nn.Conv1d(dim, dim, 3, padding=1)

    def forward(self, x):
        return self.conv(x)
`;
  const model = `import torch
import torch.nn as nn
from . import components


def _init_pretrain(module):
    if isinstance(module, components.ConvLayerBlock):
        torch.nn.init.kaiming_normal_(module.conv.weight)  # the conv as PyTorch built it


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(components.ConvLayerBlock(16, 32, 3, 2), components.ConvLayerBlock(32, 32, 3, 2))
        self.head = components.Head(32)

    def forward(self, x):
        return self.head(self.blocks(x))


def pretrain_model():
    model = Encoder()
    model.apply(_init_pretrain)
    return model
`;
  const dir = project({ 'pkg/components.py': components, 'pkg/model.py': model, 'pkg/__init__.py': '' });
  const r = await cli('report', path.join(dir, 'pkg'), '--json', '--no-cache');
  const layers = (JSON.parse(r.stdout) as Report).files.find((f) => f.path.endsWith('components.py'))!.layers;
  const [block, head] = [
    layers.find((l) => l.line === lineOf(components, 'kernel_size=kernel_size'))!,
    layers.find((l) => l.line === lineOf(components, 'nn.Conv1d(dim'))!,
  ];
  assert.equal(block.convertible, false);
  assert.equal(
    block.reason,
    "line 8 of model.py reads `torch.nn.init.kaiming_normal_(module.conv.weight)` on a `ConvLayerBlock`'s conv, which is a separable Sequential after the rewrite",
  );
  // the other class's conv is not read there: converted
  assert.equal(head.convertible, true, head.reason ?? '');
  // and without that read the block's conv is converted too (the instances decide its arguments)
  // (a new folder: a process reads a neighbour once)
  const dir2 = project({
    'pkg/components.py': components,
    'pkg/model.py': model.replace('torch.nn.init.kaiming_normal_(module.conv.weight)', 'pass'),
    'pkg/__init__.py': '',
  });
  const r2 = await cli('report', path.join(dir2, 'pkg'), '--json', '--no-cache');
  const again = (JSON.parse(r2.stdout) as Report).files.find((f) => f.path.endsWith('components.py'))!.layers;
  assert.equal(again.find((l) => l.line === block.line)!.convertible, true, again.find((l) => l.line === block.line)!.reason ?? '');
});

void test('a helper whose every module seen is smaller separable is guarded on the kernel size and groups its callers pass (a depthwise caller keeps its conv)', async () => {
  const blocks = `import torch.nn as nn


class ConvBNAct(nn.Sequential):
    def __init__(self, in_ch, out_ch, kernel_size=3, stride=1, groups=1):
        padding = (kernel_size - 1) // 2
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel_size, stride, padding, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class InvertedResidual(nn.Module):
    # a depthwise conv through the same helper: no model of this file builds it
    def __init__(self, channels, expand=4):
        super().__init__()
        hidden = channels * expand
        self.block = nn.Sequential(
            ConvBNAct(channels, hidden, kernel_size=1),
            ConvBNAct(hidden, hidden, groups=hidden),
            nn.Conv2d(hidden, channels, 1, bias=False),
        )

    def forward(self, x):
        return x + self.block(x)


class Stem(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        self.conv1 = ConvBNAct(3, width, stride=2)
        self.conv2 = ConvBNAct(width, width * 2)

    def forward(self, x):
        return self.conv2(self.conv1(x))
`;
  const dir = project({ 'blocks.py': blocks });
  const r = await cli('report', path.join(dir, 'blocks.py'), '--json', '--no-cache');
  const layer = (JSON.parse(r.stdout) as Report).files[0].layers.find((l) => l.line === lineOf(blocks, 'nn.Conv2d(in_ch'))!;
  assert.equal(layer.convertible, true, layer.reason ?? '');
  assert.deepEqual(layer.guard, {
    condition: 'kernel_size != 1 and groups != in_ch',
    terms: ['kernel', 'notDepthwise'],
    converted: 2,
    instances: 2,
  });
  const diff = await cli('apply', '--diff', path.join(dir, 'blocks.py'));
  assert.match(diff.stdout, /\n\+\s+if kernel_size != 1 and groups != in_ch\n/);
});

void test("a file's run is kept per thread and given again only while it, the files it read, the environment and the options are the same", async () => {
  await initParsing(['python']);
  const blocks = (k: number) => `import torch.nn as nn


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, ${k}, padding=${k} // 2, bias=False)

    def forward(self, x):
        return self.conv(x).relu()
`;
  const src = `import torch.nn as nn
from blocks import Block


class Net(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        self.stem = Block(3, width)
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        return self.head(self.stem(x).mean((2, 3)))
`;
  const dir = project({ 'model.py': src, 'blocks.py': blocks(3) });
  const file = path.join(dir, 'model.py');
  // blocks.py as an editor holds it: on disk, or an unsaved version
  const unsaved = new Map<string, string>();
  const sources = diskSources(file, [], (f) => unsaved.get(path.basename(f)));
  const options = defaultOptions({ inputSizes: { 2: [32, 32] } });
  const params = (ms: ModelShapes[]) => ms.find((m) => m.name === 'Net')?.params;
  const first = fileModels(file, src, undefined, sources, options);
  assert.equal(params(first), 3 * 32 * 9 + 32 * 10 + 10);
  // nothing changed: the kept run
  assert.equal(fileModels(file, src, undefined, sources, options), first);
  // the block it imports changed: run again, with the new kernel
  unsaved.set('blocks.py', blocks(5));
  const edited = fileModels(file, src, undefined, sources, options);
  assert.notEqual(edited, first);
  assert.equal(params(edited), 3 * 32 * 25 + 32 * 10 + 10);
  assert.equal(fileModels(file, src, undefined, sources, options), edited);
  // its own text, or the options changed: run again
  const wider = src.replace('width=32', 'width=64');
  assert.equal(params(fileModels(file, wider, undefined, sources, options)), 3 * 64 * 25 + 64 * 10 + 10);
  const other = defaultOptions({ inputSizes: { 2: [64, 64] } });
  const again = fileModels(file, wider, undefined, sources, other);
  assert.equal(again.find((m) => m.name === 'Net')?.macs, 3 * 64 * 25 * 64 * 64);
});

void test('a factory discovery called (its docstring makes a tensor) is built as a build goes: a module it runs inside is run', async () => {
  await initParsing(['python']);
  const src = `import torch
import torch.nn as nn


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 24, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


class Net(nn.Module):
    def __init__(self, backbone, channels):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Conv2d(channels, 10, 1)

    def forward(self, x):
        return self.head(self.backbone(x))


def net():
    """
    >>> model = net()
    >>> y = model(torch.rand(1, 3, 64, 64))
    """
    backbone = Backbone()
    # the width the backbone gives, as torchvision's SSD finds it
    channels = backbone(torch.zeros(1, 3, 32, 32)).shape[1]
    return Net(backbone, channels)


def plain():
    """>>> plain()(torch.rand(1, 3, 64, 64))"""
    return Net(Backbone(), 24)
`;
  const found = models(src, { inputSizes: { 2: [32, 32] } });
  const params = 3 * 24 * 9 + 24 + 24 * 10 + 10;
  for (const name of ['net', 'plain']) {
    const m = found.find((x) => x.name === name);
    assert.deepEqual(m?.reasons, [], name);
    assert.equal(m?.params, params, name);
    assert.equal(m?.macs, (3 * 24 * 9 + 24 * 10) * 32 * 32, name);
  }
});
