// Builds the benchmark corpus: realistic PyTorch model files, ordinary Python (data loading,
// training loops, utilities) and TensorFlow.js files. Deterministic: the same seed gives the same
// bytes. Usage: node bench/corpus.mjs <dir>   (prints the corpus's figures as JSON)
import * as fs from 'node:fs';
import * as path from 'node:path';

let seed = 20261128;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const WORDS = [
  'batch',
  'feature',
  'weight',
  'score',
  'label',
  'sample',
  'record',
  'token',
  'image',
  'frame',
  'loss',
  'metric',
  'state',
  'cache',
  'config',
  'path',
  'index',
  'value',
  'offset',
  'window',
  'shard',
  'epoch',
  'step',
  'grad',
  'mask',
];
const ident = () => `${pick(WORDS)}_${pick(WORDS)}`;
const Cls = () => pick(WORDS)[0].toUpperCase() + pick(WORDS).slice(1) + pick(['Net', 'Block', 'Encoder', 'Head', 'Stem', 'Model']);

const IMPORTS = [
  ['import torch\nimport torch.nn as nn\n', (a) => `nn.Conv${a}`],
  ['import torch\nfrom torch import nn\n', (a) => `nn.Conv${a}`],
  ['import torch\n', (a) => `torch.nn.Conv${a}`],
  ['from torch.nn import Conv1d, Conv2d, Conv3d, Module\nimport torch.nn as nn\n', (a) => `Conv${a}`],
];

function pyModel() {
  const [imp, conv] = pick(IMPORTS);
  const name = Cls();
  const w = pick([16, 32, 48, 64, 96]);
  const lines = [`"""${name}: generated benchmark model."""`, imp, `WIDTH = ${w}`, '', ''];
  lines.push(
    `def conv3x3(in_planes, out_planes, stride=1):`,
    `    """3x3 convolution with padding"""`,
    `    return ${conv('2d')}(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)`,
    '',
    '',
  );
  lines.push(
    `class ${name}(nn.Module):`,
    `    def __init__(self, in_ch=3, features=WIDTH, num_classes=${int(2, 1000)}):`,
    '        super().__init__()',
  );
  const n = int(1, 3);
  for (let i = 0; i < n; i++) {
    const k = pick([3, 5, 7]);
    lines.push(`        # stage ${i + 1}`);
    lines.push(
      `        self.conv${i} = ${conv('2d')}(features * ${2 ** i}, features * ${2 ** (i + 1)}, kernel_size=${k}, stride=${pick([1, 2])}, padding=${k >> 1})`,
    );
    lines.push(`        self.bn${i} = nn.BatchNorm2d(features * ${2 ** (i + 1)})`);
  }
  lines.push(`        self.head = nn.Linear(features * ${2 ** n}, num_classes)`, '', '    def forward(self, x):');
  for (let i = 0; i < n; i++) lines.push(`        x = torch.relu(self.bn${i}(self.conv${i}(x)))`);
  lines.push('        x = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1)', '        return self.head(x)', '');
  lines.push(pyUtility(int(6, 14)));
  return { text: lines.join('\n'), convs: n + 1 };
}

function pyFunction() {
  const f = ident();
  const a = ident();
  const b = ident();
  const body = [
    `def ${f}(${a}, ${b}=None, *, verbose=False):`,
    `    """Return the ${pick(WORDS)} ${pick(WORDS)} for every ${pick(WORDS)} in ${a}.`,
    '',
    `    Walks the ${pick(WORDS)}s once, keeping a running ${pick(WORDS)} so that repeated`,
    `    calls stay cheap. ${b} defaults to the global configuration.`,
    '    """',
    `    ${b} = ${b} or {}`,
    '    result = []',
    `    for i, item in enumerate(${a}):`,
    `        if item is None or i % ${int(2, 9)} == 0:`,
    '            continue',
    `        key = f"{item!r}-{i}"`,
    `        value = ${b}.get(key, len(str(item)) * ${int(2, 50)})`,
    '        if verbose:',
    `            print("${pick(WORDS)}", key, value)`,
    '        result.append((key, value))',
    `    return sorted(result, key=lambda kv: kv[1])[: ${int(10, 500)}]`,
    '',
  ];
  return body.join('\n');
}

function pyClass() {
  const c = Cls().replace(/(Net|Block|Encoder|Head|Stem|Model)$/, 'Dataset');
  return [
    `class ${c}:`,
    `    """Reads ${pick(WORDS)} records from disk and yields ${pick(WORDS)} batches."""`,
    '',
    `    def __init__(self, root, split="train", transform=None, limit=${int(100, 10000)}):`,
    '        self.root = root',
    '        self.split = split',
    '        self.transform = transform',
    '        self.limit = limit',
    '        self._items = None',
    '',
    '    def _load(self):',
    '        items = []',
    '        with open(os.path.join(self.root, f"{self.split}.txt")) as fh:',
    '            for line in fh:',
    '                line = line.strip()',
    '                if line and not line.startswith("#"):',
    '                    items.append(line.split(","))',
    '        return items[: self.limit]',
    '',
    '    def __len__(self):',
    '        if self._items is None:',
    '            self._items = self._load()',
    '        return len(self._items)',
    '',
    '    def __getitem__(self, index):',
    '        if self._items is None:',
    '            self._items = self._load()',
    '        record = self._items[index]',
    '        return self.transform(record) if self.transform else record',
    '',
  ].join('\n');
}

function pyUtility(n) {
  const parts = ['import os', 'import json', 'import logging', '', 'logger = logging.getLogger(__name__)', ''];
  for (let i = 0; i < n; i++) parts.push(rand() < 0.3 ? pyClass() : pyFunction(), '');
  return parts.join('\n');
}

function tfjsFile() {
  const style = int(0, 2);
  const imp = pick([
    `import * as tf from '@tensorflow/tfjs';`,
    `const tf = require('@tensorflow/tfjs-node');`,
    `import * as tf from '@tensorflow/tfjs-node';`,
  ]);
  const f = pick([16, 32, 64]);
  const out = [imp, '', `export function buildModel(numClasses = ${int(2, 100)}) {`];
  if (style === 0) {
    out.push('  const model = tf.sequential();');
    out.push(
      `  model.add(tf.layers.conv2d({inputShape: [${pick([32, 64, 96])}, ${pick([32, 64, 96])}, 3], filters: ${f}, kernelSize: 3, padding: 'same', activation: 'relu'}));`,
    );
    out.push(`  model.add(tf.layers.maxPooling2d({poolSize: 2}));`);
    out.push(`  model.add(tf.layers.conv2d({filters: ${f * 2}, kernelSize: 3, activation: 'relu'}));`);
    out.push(
      '  model.add(tf.layers.flatten());',
      "  model.add(tf.layers.dense({units: numClasses, activation: 'softmax'}));",
      '  return model;',
    );
  } else {
    out.push('  return tf.sequential({', '    layers: [');
    out.push(`      tf.layers.conv2d({inputShape: [28, 28, 1], filters: ${f}, kernelSize: 5, strides: 1, activation: 'relu'}),`);
    out.push(`      tf.layers.conv2d({filters: ${f}, kernelSize: 3, padding: 'same'}),`);
    out.push('      tf.layers.globalAveragePooling2d({}),', '      tf.layers.dense({units: numClasses}),', '    ],', '  });');
  }
  out.push('}', '');
  for (let i = 0; i < int(4, 10); i++) {
    out.push(
      `export function ${ident().replace(/_(.)/, (_, c) => c.toUpperCase())}(items, opts = {}) {`,
      '  const out = [];',
      '  for (const [i, item] of items.entries()) {',
      `    if (!item || i % ${int(2, 7)} === 0) continue;`,
      '    out.push({ key: `${item.id}-${i}`, value: (opts.scale ?? 1) * item.value });',
      '  }',
      '  return out.sort((a, b) => a.value - b.value);',
      '}',
      '',
    );
  }
  return out.join('\n');
}

export function buildCorpus(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  const stats = { pythonFiles: 0, tfjsFiles: 0, bytes: 0, convCalls: 0 };
  const write = (rel, text) => {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    stats.bytes += Buffer.byteLength(text);
  };
  let i = 0;
  while (stats.convCalls < 500) {
    const m = pyModel();
    write(`models/pkg${i % 20}/model_${i}.py`, m.text);
    stats.convCalls += m.convs;
    stats.pythonFiles++;
    i++;
  }
  let j = 0;
  while (stats.pythonFiles < 820 || stats.bytes < 10.5e6) {
    write(`lib/mod${j % 40}/util_${j}.py`, pyUtility(int(12, 30)));
    stats.pythonFiles++;
    j++;
  }
  for (let k = 0; k < 200; k++) {
    write(`web/src/part${k % 10}/model_${k}.${k % 3 === 0 ? 'ts' : 'js'}`, tfjsFile());
    stats.tfjsFiles++;
  }
  return stats;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(buildCorpus(process.argv[2] ?? path.join(path.dirname(new URL(import.meta.url).pathname), '.corpus'))));
}
