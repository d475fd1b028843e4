/**
 * The weights oracle: checkpoints saved by real PyTorch (Debian's python3-torch, /usr/bin/python3)
 * from random-weight models, converted by `sepconv apply --weights` together with the code, and
 * loaded back by PyTorch into the rewritten model with `strict=True`:
 * - at full rank (`--energy 1`: each layer's K = min(Cout/g, kvol); `--depth-multiplier 25`: every
 *   layer at or past it) the outputs equal the original's (relative error ≤ 1e-5, float32);
 * - at K = 1 and with `--energy 0.9` the energy and error SepConv reports per module equal those of
 *   torch.linalg.svd (≤ 1e-6), and each site's K is the smallest that keeps the energy;
 * - .safetensors (read back in Python by hand), float16 and bfloat16 checkpoints, `module.` prefixes,
 *   a training checkpoint (its optimizer's buffers kept), `--norm bn` (an identity BatchNorm), and
 *   torchvision's resnet18 and squeezenet1_1;
 * - refusals write nothing: a pickle that calls os.system (and nothing runs), a missing key,
 *   `--norm bn-relu`.
 * The output error of each model is printed as a diagnostic.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, ROOT, tempDir } from '../helpers';
import type { ModuleResult } from '../../src/weights/convert';

const PYTHON = '/usr/bin/python3';
const PROBE = path.join(ROOT, 'test', 'oracle', 'weights_probe.py');
const NET = path.join(ROOT, 'test', 'fixtures', 'weights', 'net.py');
const TV = execFileSync(PYTHON, ['-c', 'import torchvision, os; print(os.path.dirname(torchvision.__file__))'], {
  encoding: 'utf8',
}).trim();

interface Compared {
  outputError: number;
  keys: string[];
  dtypes: string[];
  prefixed: boolean;
  extrasKept: boolean | null;
  svd: { key: string; k: number; energy: number; error: number }[];
  params: { orig: number; new: number };
}

/** One module of `report --weights --json` (the core's own type). */
type ModuleJson = ModuleResult;

/**
 * A torchvision tree in `dir` whose `models/<file>` is a copy (to rewrite) and everything else links
 * to the installed package, so that the copy's relative imports resolve for SepConv as in place.
 */
function torchvisionCopy(dir: string, file: string): string {
  const root = path.join(dir, 'torchvision');
  fs.mkdirSync(path.join(root, 'models'), { recursive: true });
  for (const name of fs.readdirSync(TV)) if (name !== 'models') fs.symlinkSync(path.join(TV, name), path.join(root, name));
  for (const name of fs.readdirSync(path.join(TV, 'models')))
    if (name !== file) fs.symlinkSync(path.join(TV, 'models', name), path.join(root, 'models', name));
  const copy = path.join(root, 'models', file);
  fs.copyFileSync(path.join(TV, 'models', file), copy);
  return copy;
}

function probe<T>(jobs: object[]): T[] {
  return JSON.parse(execFileSync(PYTHON, [PROBE], { input: JSON.stringify(jobs), encoding: 'utf8', maxBuffer: 64 << 20 })) as T[];
}

interface Case {
  name: string;
  /** the code file (copied), or a torchvision model file */
  source: string;
  build: string;
  input: number[];
  args: string[];
  format?: 'torch' | 'safetensors';
  dtype?: string;
  prefix?: string;
  /** the largest output error allowed (full rank); undefined: printed only */
  tolerance?: number;
  /** compare reported energies with torch.linalg.svd */
  svd?: boolean;
  /** a training checkpoint (state dict, epoch, loss, optimizer) made with inputs of this shape */
  train?: number[];
}

const CASES: Case[] = [
  {
    name: 'net, --energy 1 (each layer at full rank)',
    source: NET,
    build: 'Net()',
    input: [2, 3, 32, 32],
    args: ['--energy', '1'],
    tolerance: 1e-5,
  },
  {
    name: 'net, --depth-multiplier 25',
    source: NET,
    build: 'Net()',
    input: [2, 3, 32, 32],
    args: ['--depth-multiplier', '25'],
    tolerance: 1e-5,
  },
  { name: 'net, K = 1', source: NET, build: 'Net()', input: [2, 3, 32, 32], args: ['--depth-multiplier', '1'], svd: true },
  { name: 'net, --energy 0.9', source: NET, build: 'Net()', input: [2, 3, 32, 32], args: ['--energy', '0.9'], svd: true },
  {
    name: 'net, --norm bn at full rank',
    source: NET,
    build: 'Net()',
    input: [2, 3, 32, 32],
    args: ['--energy', '1', '--norm', 'bn'],
    tolerance: 1e-5,
  },
  {
    name: 'net, safetensors with module. prefix',
    source: NET,
    build: 'Net()',
    input: [2, 3, 32, 32],
    args: ['--energy', '1'],
    format: 'safetensors',
    prefix: 'module.',
    tolerance: 1e-5,
  },
  {
    name: 'net, training checkpoint (state_dict beside epoch, loss, optimizer)',
    source: NET,
    build: 'Net()',
    input: [2, 3, 32, 32],
    args: ['--energy', '1'],
    train: [3, 32, 32],
    tolerance: 1e-5,
  },
  { name: 'net, float16', source: NET, build: 'Net()', input: [2, 3, 32, 32], args: ['--energy', '1'], dtype: 'float16', tolerance: 1e-2 },
  {
    name: 'net, bfloat16',
    source: NET,
    build: 'Net()',
    input: [2, 3, 32, 32],
    args: ['--energy', '1'],
    dtype: 'bfloat16',
    tolerance: 5e-2,
  },
  {
    name: 'torchvision resnet18, full rank',
    source: path.join(TV, 'models', 'resnet.py'),
    build: 'resnet18()',
    input: [1, 3, 64, 64],
    args: ['--energy', '1'],
    tolerance: 1e-5,
  },
  {
    name: 'torchvision resnet18, K = 1',
    source: path.join(TV, 'models', 'resnet.py'),
    build: 'resnet18()',
    input: [1, 3, 64, 64],
    args: ['--depth-multiplier', '1'],
    svd: true,
  },
  {
    name: 'torchvision squeezenet1_1, full rank',
    source: path.join(TV, 'models', 'squeezenet.py'),
    build: 'squeezenet1_1()',
    input: [1, 3, 96, 96],
    args: ['--energy', '1'],
    tolerance: 1e-5,
  },
];

void test('weights oracle (PyTorch)', async (t) => {
  const work = tempDir('sepconv-weights-');
  const prepared = CASES.map((c, i) => {
    const dir = path.join(work, `case${i}`);
    fs.mkdirSync(dir);
    const base = path.basename(c.source);
    const inTorchvision = c.source.startsWith(TV);
    const code = inTorchvision ? torchvisionCopy(dir, base) : path.join(dir, base);
    const orig = inTorchvision ? c.source : path.join(dir, `orig_${base}`);
    if (!inTorchvision) {
      fs.copyFileSync(c.source, code);
      fs.copyFileSync(c.source, orig);
    }
    const ext = c.format === 'safetensors' ? '.safetensors' : '.pt';
    return { c, dir, code, orig, ckpt: path.join(dir, `model${ext}`), out: path.join(dir, `converted${ext}`) };
  });
  const refusals = path.join(work, 'refusals');
  fs.mkdirSync(refusals);
  const marker = path.join(refusals, 'PWNED');
  probe([
    ...prepared.map((p) => ({
      op: 'save',
      file: p.orig,
      build: p.c.build,
      out: p.ckpt,
      format: p.c.format ?? 'torch',
      dtype: p.c.dtype ?? 'float32',
      prefix: p.c.prefix ?? '',
      seed: 7,
      train: p.c.train,
    })),
    { op: 'save', file: NET, build: 'Net()', out: path.join(refusals, 'missing.pt'), drop: 'grouped.weight' },
    { op: 'save', file: NET, build: 'Net()', out: path.join(refusals, 'good.pt') },
    { op: 'evil', out: path.join(refusals, 'evil.pt'), marker },
  ]);

  const reports = new Map<number, { modules: ModuleJson[] }>();
  for (const [i, p] of prepared.entries()) {
    const r = await cli('apply', p.code, '--weights', p.ckpt, '--out', p.out, '--json', ...p.c.args);
    assert.equal(r.code, 0, `${p.c.name}: ${r.stderr}`);
    reports.set(i, JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { modules: ModuleJson[] });
  }
  const compared = probe<Compared>(
    prepared.map((p, i) => ({
      op: 'compare',
      orig: p.orig,
      new: p.code,
      build: p.c.build,
      ckpt: p.ckpt,
      newCkpt: p.out,
      format: p.c.format ?? 'torch',
      prefix: p.c.prefix ?? '',
      input: p.c.input,
      train: p.c.train,
      // each module at its K, and at K - 1 (the energy there must fall short)
      svd: p.c.svd ? reports.get(i)!.modules.flatMap((m) => [[m.key, m.k], ...(m.k > 1 ? [[m.key, m.k - 1]] : [])]) : [],
    })),
  );

  for (const [i, p] of prepared.entries()) {
    await t.test(p.c.name, () => {
      const got = compared[i];
      const modules = reports.get(i)!.modules;
      t.diagnostic(
        `${p.c.name}: output relative error ${got.outputError.toExponential(3)}; params ${got.params.orig} -> ${got.params.new}`,
      );
      assert.ok(modules.length > 0, 'no module converted');
      // the parameters SepConv reports per module at its K add up to what PyTorch counts
      assert.equal(
        got.params.new - got.params.orig,
        modules.reduce((n, m) => n + m.params!.after - m.params!.before, 0),
        'parameter counts',
      );
      if (p.c.tolerance !== undefined)
        assert.ok(got.outputError <= p.c.tolerance, `output error ${got.outputError} above ${p.c.tolerance}`);
      if (p.c.prefix) assert.ok(got.prefixed, `keys lost the ${p.c.prefix} prefix`);
      if (p.c.train) assert.equal(got.extrasKept, true, 'the epoch, loss or optimizer buffers changed');
      assert.deepEqual(
        got.dtypes.filter((d) => d !== 'torch.int64'),
        [`torch.${p.c.dtype ?? 'float32'}`],
      );
      if (p.c.args.includes('--norm'))
        assert.ok(
          got.keys.some((k) => k.endsWith('.1.running_var')),
          'no BatchNorm between the convs',
        );
      for (const m of modules) {
        assert.ok(got.keys.includes(`${m.key}.0.weight`), `${m.key}.0.weight missing`);
        if (p.c.args[0] === '--energy' && p.c.args[1] === '1') assert.equal(m.k, m.fullRank, `${m.key}: K at energy 1`);
      }
      if (p.c.svd) {
        const sites = new Map<string, ModuleJson[]>();
        for (const m of modules) sites.set(m.site, [...(sites.get(m.site) ?? []), m]);
        for (const m of modules) {
          const ref = got.svd.find((s) => s.key === m.key && s.k === m.k)!;
          assert.ok(Math.abs(ref.energy - m.energy) <= 1e-6, `${m.key} K=${m.k}: energy ${m.energy} vs torch ${ref.energy}`);
          assert.ok(Math.abs(ref.error - m.error) <= 1e-6, `${m.key} K=${m.k}: error ${m.error} vs torch ${ref.error}`);
        }
        const energy = p.c.args[0] === '--energy' ? Number(p.c.args[1]) : undefined;
        if (energy !== undefined) {
          for (const [site, ms] of sites) {
            // every module keeps the energy at the site's K, and one of them would not at K - 1
            for (const m of ms)
              assert.ok(got.svd.find((s) => s.key === m.key && s.k === m.k)!.energy >= energy - 1e-12, `${m.key}: energy below ${energy}`);
            const k = ms[0].k;
            if (k > 1)
              assert.ok(
                ms.some((m) => got.svd.find((s) => s.key === m.key && s.k === k - 1)!.energy < energy),
                `${site}: K=${k} is not the smallest`,
              );
          }
        }
      }
    });
  }

  await t.test('a pickle outside the state-dict subset is refused and nothing runs', async () => {
    const code = path.join(refusals, 'evil_net.py');
    fs.copyFileSync(NET, code);
    const out = path.join(refusals, 'evil.separable.pt');
    const r = await cli('apply', code, '--weights', path.join(refusals, 'evil.pt'), '--out', out);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /refused: .*posix\.system.*nothing was executed/);
    assert.equal(fs.existsSync(marker), false, 'the payload ran');
    assert.equal(fs.existsSync(out), false, 'a checkpoint was written');
    assert.equal(fs.readFileSync(code, 'utf8'), fs.readFileSync(NET, 'utf8'), 'the code was changed');
  });

  await t.test('a key the plan expects but the checkpoint lacks: an error, nothing written', async () => {
    const code = path.join(refusals, 'missing_net.py');
    fs.copyFileSync(NET, code);
    const out = path.join(refusals, 'missing.separable.pt');
    const r = await cli('apply', code, '--weights', path.join(refusals, 'missing.pt'), '--out', out);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /grouped\.weight is missing/);
    assert.equal(fs.existsSync(out), false);
    assert.equal(fs.readFileSync(code, 'utf8'), fs.readFileSync(NET, 'utf8'));
  });

  await t.test('--norm bn-relu cannot carry the weights', async () => {
    const code = path.join(refusals, 'relu_net.py');
    fs.copyFileSync(NET, code);
    const out = path.join(refusals, 'relu.separable.pt');
    const r = await cli('apply', code, '--weights', path.join(refusals, 'good.pt'), '--out', out, '--norm', 'bn-relu');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bn-relu cannot carry the weights/);
    assert.equal(fs.existsSync(out), false);
    assert.equal(fs.readFileSync(code, 'utf8'), fs.readFileSync(NET, 'utf8'));
  });

  fs.rmSync(work, { recursive: true, force: true });
});
