/**
 * The mismatch oracle: every shape mismatch `sepconv report --json` says a model of
 * test/fixtures/mismatch has is one real PyTorch (Debian's python3-torch, /usr/bin/python3) raises
 * when it builds the model the report names and runs the input the report names
 * (mismatch_probe.py): the first mismatch of the run has the numbers of PyTorch's error message, and
 * its call and the chain that led to it are the lines of the model file on PyTorch's traceback.
 *
 * And what is not proven is not reported: without the input the file gives (an example, a pragma),
 * a mismatch whose numbers depend on the input's size is left out (PyTorch still fails at the
 * default size: the model is wrong, but the numbers would be a guess), and where the model pins its
 * input down (MNIST's Linear after flatten) the inferred input runs in PyTorch. A mismatch the
 * default input shows is reported when its numbers do not depend on the size: PyTorch gives the
 * same numbers at another size.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initParsing } from '../../src/analysis/parsing';
import type { MismatchJson, ModelJson } from '../../src/analysis/report';
import { cli, ROOT, tempDir } from '../helpers';

const DIR = path.join(ROOT, 'test', 'fixtures', 'mismatch');
const PROBE = path.join(ROOT, 'test', 'oracle', 'mismatch_probe.py');

interface Job {
  model: string;
  build: string;
  input: number[];
  /** run the file as a module of this package (a copy of a zoo file: its relative imports resolve) */
  package?: string;
}
type Outcome = { ok: true; output: number[] } | { error: string; lines: number[] };

function probe(jobs: Job[]): Outcome[] {
  const out = execFileSync('/usr/bin/python3', [PROBE], { input: JSON.stringify(jobs), maxBuffer: 64 << 20, encoding: 'utf8' });
  return JSON.parse(out) as Outcome[];
}

async function report(file: string): Promise<ModelJson[]> {
  const r = await cli('report', '--json', '--no-cache', file);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as { files: { models?: ModelJson[] }[] };
  return json.files.flatMap((f) => f.models ?? []);
}

/** The two numbers of PyTorch's message for a check, as (expected, got). */
function torchNumbers(m: MismatchJson, error: string): [number, number] | undefined {
  const num = (re: RegExp, e: number, g: number) => {
    const x = re.exec(error);
    return x ? ([Number(x[e]), Number(x[g])] as [number, number]) : undefined;
  };
  switch (m.check) {
    case 'in_channels':
      return num(/to have (\d+) channels, but got (\d+) channels instead/, 1, 2);
    case 'in_features':
      return num(/mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)/, 3, 2);
    case 'num_features':
      return num(/running_mean should contain (\d+) elements not (\d+)/, 2, 1);
    case 'cat':
      return num(/Expected size (\d+) but got size (\d+)/, 1, 2);
    case 'broadcast':
      return num(/size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)/, 1, 2);
    default:
      return undefined;
  }
}

/** Our numbers in PyTorch's terms: counts as they are; for shapes, the sizes that differ. */
function ours(m: MismatchJson): [number, number] {
  if (typeof m.expected === 'number' && typeof m.got === 'number') return [m.expected, m.got];
  const e = m.expected as number[];
  const g = m.got as number[];
  // torch.cat: the sizes of the dimension the message names (the concatenated one may differ too)
  const dim = /sizes differ in dim (\d+)/.exec(m.message);
  const i = dim ? Number(dim[1]) : e.findIndex((v, k) => v !== g[k]);
  return [e[i], g[i]];
}

/** The lines of the model file PyTorch's traceback goes through, as the report gives them. */
const reportLines = (m: MismatchJson) => [...m.chain.slice(1).map((c) => c.line), m.line];

void test('shape mismatches: what the report proves is what PyTorch raises, nothing it does not prove is reported', async () => {
  await initParsing();
  const files = fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith('.py'))
    .sort();
  assert.ok(files.length >= 5, 'the fixtures are there');
  const proven: { file: string; model: ModelJson }[] = [];
  for (const f of files) {
    const models = await report(path.join(DIR, f));
    const broken = models.filter((m) => m.mismatches?.length);
    assert.ok(broken.length > 0, `${f}: a mismatch is reported`);
    for (const model of broken) proven.push({ file: path.join(DIR, f), model });
  }
  const outcomes = probe(proven.map(({ file, model }) => ({ model: file, build: model.build, input: model.inputShape! })));
  const seen = new Set<string>();
  proven.forEach(({ file, model }, i) => {
    const o = outcomes[i];
    const first = model.mismatches![0];
    const name = `${path.basename(file)} ${model.name}`;
    assert.ok('error' in o, `${name}: PyTorch runs ${model.build} on ${model.inputShape!.join('x')} without an error`);
    assert.deepEqual(ours(first), torchNumbers(first, o.error), `${name}: ${first.message} vs PyTorch's ${o.error}`);
    assert.deepEqual(reportLines(first), o.lines, `${name}: the chain of ${first.message}`);
    seen.add(first.check);
    // the chain starts at the model's forward
    assert.equal(first.chain[0].call, 'def forward');
  });
  // every kind of check the fixtures exercise was compared with PyTorch
  assert.deepEqual([...seen].sort(), ['broadcast', 'cat', 'in_channels', 'in_features', 'num_features']);
  console.log(`# ${proven.length} models with proven mismatches, each PyTorch's first error: ${[...seen].sort().join(', ')}`);
});

void test('a mismatch the default input shows is reported only when its numbers do not depend on the size', async () => {
  await initParsing();
  // CIFAR's Net reported at the default 224x224: PyTorch gives the same numbers at CIFAR's 32x32
  const cifar = path.join(DIR, 'cifar_net.py');
  const [net] = await report(cifar);
  assert.equal(net.inputFrom, 'default');
  const m = net.mismatches![0];
  const [at32] = probe([{ model: cifar, build: net.build, input: [1, 3, 32, 32] }]);
  assert.ok('error' in at32);
  assert.deepEqual(ours(m), torchNumbers(m, at32.error));

  // the same files without the input they give
  const dir = tempDir('sepconv-mismatch-');
  const strip = (name: string, edit: (text: string) => string) => {
    const to = path.join(dir, name);
    fs.writeFileSync(to, edit(fs.readFileSync(path.join(DIR, name), 'utf8')));
    return to;
  };
  const noMain = (t: string) => t.slice(0, t.indexOf("if __name__ == '__main__':"));
  const mnist = strip('mnist_net.py', noMain);
  const residual = strip('residual_add.py', noMain);
  const unet = strip('unet_skip.py', (t) => t.replace('# sepconv: input=1x3x100x100\n', ''));
  const jobs: Job[] = [];
  for (const file of [mnist, residual, unet]) {
    const models = await report(file);
    assert.ok(models.length > 0, file);
    for (const model of models) {
      assert.equal(model.mismatches, undefined, `${path.basename(file)} ${model.name}: nothing proven without the input the file gives`);
      jobs.push({ model: file, build: model.build, input: model.inputShape ?? [] });
    }
    if (file === mnist)
      assert.match(models[0].inputFrom, /^inferred: the smallest size at which `self.fc1\(x\)` gets the 12544 input features/);
  }
  const [mnistRun, residualRun, unetRun] = probe(jobs);
  // MNIST's Net runs at the input it pins down (32x32, not the 28x28 its author meant)
  assert.deepEqual(mnistRun, { ok: true, output: [1, 10] });
  // the residual block is wrong at every size, but its numbers would be those of a guessed size
  assert.ok('error' in residualRun && /must match the size of tensor b/.test(residualRun.error));
  // the U-Net is right at the default size
  assert.ok('ok' in unetRun);
});

const TORCHVISION = '/usr/lib/python3/dist-packages/torchvision/models';

/** Bugs seeded into copies of torchvision's own model files (in a temporary folder, never the repository). */
const SEEDED: { file: string; bug: [string, string]; factories: string[] }[] = [
  // _make_layer forgets the width the next block gets
  { file: 'resnet.py', bug: ['        self.inplanes = planes * block.expansion\n', ''], factories: ['resnet18', 'resnet50'] },
  // make_layers forgets the width the next conv gets
  { file: 'vgg.py', bug: ['            in_channels = v\n', ''], factories: ['vgg11', 'vgg16_bn'] },
  // the classifier sized for another pooling
  { file: 'alexnet.py', bug: ['nn.Linear(256 * 6 * 6, 4096)', 'nn.Linear(256 * 7 * 7, 4096)'], factories: ['alexnet'] },
];

void test(
  "bugs seeded into torchvision's model source: the same numbers and chain as PyTorch's error",
  { skip: !fs.existsSync(TORCHVISION) && 'python3-torchvision is not installed (scripts/debian-deps.sh installs it)' },
  async () => {
    await initParsing();
    const dir = tempDir('sepconv-seeded-');
    const runs: { file: string; model: ModelJson }[] = [];
    for (const s of SEEDED) {
      const text = fs.readFileSync(path.join(TORCHVISION, s.file), 'utf8');
      assert.ok(text.includes(s.bug[0]), `${s.file} has ${s.bug[0]}`);
      const file = path.join(dir, s.file);
      fs.writeFileSync(file, text.replace(s.bug[0], s.bug[1]));
      const models = await report(file);
      for (const name of s.factories) {
        const model = models.find((m) => m.name === name);
        assert.ok(model?.mismatches?.length, `${s.file} ${name}: a mismatch is reported`);
        runs.push({ file, model });
      }
    }
    const outcomes = probe(
      runs.map(({ file, model }) => ({ model: file, build: model.build, input: model.inputShape!, package: 'torchvision.models' })),
    );
    runs.forEach(({ file, model }, i) => {
      const o = outcomes[i];
      const first = model.mismatches![0];
      const name = `${path.basename(file)} ${model.name}`;
      assert.ok('error' in o, `${name}: PyTorch runs it without an error`);
      assert.deepEqual(ours(first), torchNumbers(first, o.error), `${name}: ${first.message} vs PyTorch's ${o.error}`);
      assert.deepEqual(reportLines(first), o.lines, `${name}: the chain of ${first.message}`);
      console.log(`# ${name}: ${first.message} (${first.chain.length} calls deep)`);
    });
  },
);
