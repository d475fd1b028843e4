/**
 * Weight-initialisation loops (`for m in self.modules(): ... nn.init.kaiming_normal_(m.weight)`)
 * are not run (shapes/initLoops.ts): the analysis of a model with them is the analysis of the same
 * model without them, and a loop that may do anything else, or read a name that is not there, runs.
 */
import * as assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { analyzeText } from '../../src/analysis/analyze';
import { defaultOptions } from '../../src/analysis/options';
import { initParsing } from '../../src/analysis/parsing';
import { skipped } from '../../src/analysis/python/shapes/initLoops';

before(async () => {
  await initParsing(['python']);
});

/** A torchvision-style model: `{init}` is where the loops go, at the end of `__init__`. */
const model = (init: string, imports = ''): string =>
  `import math
import torch
import torch.nn as nn
from torch.nn import init as tinit
${imports}

class Block(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Net(nn.Module):
    def __init__(self, num_classes: int = 10, zero_init: bool = True) -> None:
        super().__init__()
        self.features = nn.Sequential(Block(3, 32, 2), Block(32, 64, 2), Block(64, 128, 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, num_classes)
${init}

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))
`;

const indent = (lines: string[]): string => lines.map((l) => `        ${l}`).join('\n');

const TORCHVISION = indent([
  'for m in self.modules():',
  '    if isinstance(m, nn.Conv2d):',
  '        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")',
  '    elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):',
  '        nn.init.constant_(m.weight, 1)',
  '        nn.init.constant_(m.bias, 0)',
  '    elif isinstance(m, nn.Linear):',
  '        init_range = 1.0 / math.sqrt(m.out_features)',
  '        nn.init.uniform_(m.weight, -init_range, init_range)',
  '        if m.bias is not None:',
  '            torch.nn.init.zeros_(m.bias)',
  '',
  '# the last BN of each block starts at zero',
  'if zero_init:',
  '    for m in self.modules():',
  '        if isinstance(m, Block) and m.bn.weight is not None:',
  '            tinit.constant_(m.bn.weight, 0)  # type: ignore[arg-type]',
  'for layer in self.features.modules():',
  '    if isinstance(layer, nn.Conv2d):',
  '        fan_out = layer.kernel_size[0] * layer.kernel_size[1] * layer.out_channels',
  '        fan_out //= layer.groups',
  '        layer.weight.data.normal_(0, math.sqrt(2.0 / fan_out))',
  '    elif isinstance(layer, nn.BatchNorm2d):',
  '        layer.weight.data.fill_(1)',
  '        layer.bias.data.zero_()',
  '    else:',
  '        pass',
]);

function analysis(text: string) {
  const before = skipped.loops;
  const a = analyzeText(text, 'python', defaultOptions());
  return { a: JSON.parse(JSON.stringify(a)) as ReturnType<typeof analyzeText>, skipped: skipped.loops - before };
}

void test('weight-initialisation loops are not run, and the analysis is that of the model without them', () => {
  const without = analysis(model(indent(['pass'])));
  const withLoops = analysis(model(TORCHVISION));
  // Net is run twice (its default input, then twice its size: the mismatch check), each run builds it once
  assert.ok(withLoops.skipped >= 3, `${withLoops.skipped} loops skipped`);
  assert.equal(withLoops.skipped % 3, 0);
  const net = withLoops.a.models?.find((m) => m.name === 'Net');
  assert.ok(net);
  // what PyTorch counts: 3 convs (864 + 18,432 + 73,728), 3 BNs (64 + 128 + 256), the Linear (1,290)
  assert.equal(net.params.before, 864 + 18_432 + 73_728 + 64 + 128 + 256 + 1_290);
  // every layer and model as without the loops (the text differs: positions are compared as they are)
  assert.deepEqual(
    withLoops.a.models?.map((m) => [m.name, m.params, m.macs, m.output]),
    without.a.models?.map((m) => [m.name, m.params, m.macs, m.output]),
  );
  assert.deepEqual(
    withLoops.a.layers.map((l) => [l.shapes, l.cost, l.convertible]),
    without.a.layers.map((l) => [l.shapes, l.cost, l.convertible]),
  );
});

void test('a loop over the modules that may change the model, or would fail, is run (its twin without that is not)', () => {
  const conv = ['for m in self.modules():', '    if isinstance(m, nn.Conv2d):'];
  // [what, a loop that runs, its twin that is skipped, the module's extra lines]
  const cases: [string, string[], string[], string?][] = [
    ['an attribute written', [...conv, '        m.padding_mode = "reflect"'], [...conv, '        m.weight.data.zero_()']],
    ['a function of the file', [...conv, '        self._init(m)'], [...conv, '        nn.init.zeros_(m.weight)']],
    [
      'the loop variable read after it',
      [...conv, '        nn.init.zeros_(m.weight)', 'self.last = m'],
      [...conv, '        nn.init.zeros_(m.weight)', 'self.last = 1'],
    ],
    // Python raises NameError, which the run reports
    ['an unbound name', [...conv, '        nn.init.normal_(m.weight, std=STD)'], [...conv, '        nn.init.normal_(m.weight, std=0.01)']],
    // `init` is the file's own here, not torch.nn.init
    ['a shadowed init', [...conv, '        init.zeros_(m.weight)'], [...conv, '        tinit.zeros_(m.weight)'], 'def init():\n    pass'],
    [
      'an f-string',
      [...conv, '        nn.init.zeros_(m.weight) if f"{self._init(m)}" else None'],
      [...conv, '        nn.init.zeros_(m.weight)'],
    ],
  ];
  for (const [what, runs, twin, extra] of cases) {
    const text = (lines: string[]) =>
      model(indent(lines), extra ?? '').replace(
        '    def forward(self, x):',
        '    def _init(self, m):\n        m.bias = None\n\n    def forward(self, x):',
      );
    assert.equal(analysis(text(runs)).skipped, 0, `${what}: run`);
    assert.ok(analysis(text(twin)).skipped > 0, `${what}: the twin is skipped`);
  }
});
