/**
 * The real-zoo oracle: the model source Debian's python3-torchvision and python3-torchaudio install
 * (read in place, never copied) is analysed with `sepconv report --json`, and every model the report
 * finds is built by real PyTorch from the same factory (test/oracle/zoo_probe.py) with the input the
 * report states. A number the tool prints must be exactly PyTorch's (params, conv MACs, output
 * shape); a missing one is counted as unknown with its reason. The conversion figure: of the conv
 * modules PyTorch builds that are eligible (standard, in_channels > 1, separable smaller), how many
 * were written on a line the report converts. Figures are printed per group, and the floor
 * (baselines/zoo.json, one line per model; floor.ts) must hold. UPDATE=1 rewrites it.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { LayerJson, ModelJson } from '../../src/analysis/report';
import { cli, ROOT, tempDir } from '../helpers';
import { holdFloor, type Figures } from './floor';
import { probeBatch } from './probe';

const PYTHON = '/usr/bin/python3';
const SITE = '/usr/lib/python3/dist-packages';
const ZOOS = [path.join(SITE, 'torchvision', 'models'), path.join(SITE, 'torchaudio', 'models')];
/** library files the models build their convs in (Conv2dNormActivation): analysed too, so their lines count */
const LIBRARY = [path.join(SITE, 'torchvision', 'ops', 'misc.py')];

/** The group a model file belongs to, for the figures: the issue counts single-input models apart. */
function group(file: string): string {
  const rel = path.relative(SITE, file);
  if (rel.startsWith('torchaudio')) return 'torchaudio';
  const sub = rel.split(path.sep)[2];
  return sub && !sub.endsWith('.py') ? `torchvision/${sub}` : 'torchvision/classification';
}

interface ProbeConv {
  site: [string, number] | null;
  transposed: boolean;
  in: number;
  out: number;
  groups: number;
  kernel: number[];
  bias: boolean;
}

interface Probe {
  error?: string;
  params?: number;
  macs?: number;
  outputShape?: unknown;
  convs?: ProbeConv[];
}

interface Tally {
  models: number;
  exact: number;
  unknown: number;
  wrong: number;
  failed: number;
}

/** A conv PyTorch built whose separable form is smaller: standard, in_channels > 1 (DESIGN.md 2). */
function eligible(c: ProbeConv): boolean {
  const kvol = c.kernel.reduce((a, b) => a * b, 1);
  if (c.transposed || kvol === 1 || c.groups === c.in || c.in <= 1) return false;
  const before = c.out * (c.in / c.groups) * kvol + (c.bias ? c.out : 0);
  const after = c.in * kvol + (c.in * c.out) / c.groups + (c.bias ? c.out : 0);
  return after < before;
}

/**
 * Does a guarded rewrite's condition hold on a module PyTorch built (`k != 1`: PyTorch keeps the
 * kernel as a tuple, so an int 1 and (1, 1) both read as a 1x1 kernel here)?
 */
function guardHolds(terms: string[], c: ProbeConv): boolean {
  const kvol = c.kernel.reduce((a, b) => a * b, 1);
  const holds: Record<string, boolean> = {
    kernel: kvol !== 1,
    groups: c.groups === 1,
    in: c.in > 1,
    out: c.out > 1,
    notDepthwise: c.groups !== c.in,
  };
  return terms.every((t) => holds[t]);
}

const have = fs.existsSync(ZOOS[0]) && fs.existsSync(PYTHON);

/** A factory the report found (`resnet18()`, not a class built from another file's example). */
interface Found {
  file: string;
  m: ModelJson;
}

interface ZooJob {
  module: string;
  build: string;
  input: number[] | null;
}

/** Runs zoo_probe.py on the jobs; `env` (PYTHONPATH) makes it import another copy of the packages. */
function probeZoo(jobs: ZooJob[], env?: NodeJS.ProcessEnv): Probe[] {
  const probes = JSON.parse(
    execFileSync(PYTHON, [path.join(ROOT, 'test', 'oracle', 'zoo_probe.py')], {
      input: JSON.stringify(jobs),
      encoding: 'utf8',
      maxBuffer: 256 << 20,
      env: env ?? process.env,
    }),
  ) as Probe[];
  assert.equal(probes.length, jobs.length);
  return probes;
}

interface ZooRun {
  report: { files: { path: string; models?: ModelJson[]; layers: LayerJson[] }[] };
  models: Found[];
  jobs: ZooJob[];
  probes: Probe[];
}

let ran: ZooRun | undefined;

/** The report on the installed zoo and what PyTorch builds for each factory it found (once per run of this file). */
function zooRun(): ZooRun {
  if (ran) return ran;
  const report = JSON.parse(
    execFileSync(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'index.ts'), 'report', '--json', ...ZOOS, ...LIBRARY],
      {
        cwd: ROOT,
        encoding: 'utf8',
        maxBuffer: 256 << 20,
      },
    ),
  ) as ZooRun['report'];
  const models: Found[] = [];
  for (const f of report.files)
    for (const m of f.models ?? []) if (m.build.endsWith('()') && !m.build.includes('.')) models.push({ file: f.path, m });
  assert.ok(models.length >= 100, `the report found ${models.length} models in the zoo`);
  const jobs = models.map(({ file, m }) => ({
    module: path.relative(SITE, file).replace(/\.py$/, '').split(path.sep).join('.'),
    build: m.build,
    input: m.inputShape,
  }));
  return (ran = { report, models, jobs, probes: probeZoo(jobs) });
}

void test(
  "the real zoo: every number the report prints for torchvision and torchaudio models is PyTorch's",
  { skip: !have && 'python3-torchvision is not installed (scripts/debian-deps.sh installs it)' },
  () => {
    const { report, models, jobs, probes } = zooRun();

    const tallies = new Map<string, Tally>();
    const wrong: string[] = [];
    const reasons = new Map<string, number>();
    const figures: Record<string, Figures> = {};
    models.forEach(({ file, m }, i) => {
      const g = group(file);
      const t = tallies.get(g) ?? { models: 0, exact: 0, unknown: 0, wrong: 0, failed: 0 };
      tallies.set(g, t);
      const p = probes[i];
      const name = `${path.relative(SITE, file)}: ${m.build}`;
      if (p.error) {
        // PyTorch itself cannot build or run it with the stated input
        t.failed++;
        return;
      }
      t.models++;
      // without an input the model was only built: its MACs and output shape are not known to either side
      const ran = m.inputShape !== null;
      const checks: [string, unknown, unknown][] = [
        ['params', m.params.before, p.params],
        ['conv MACs', ran ? m.macs.before : null, p.macs],
        ['output shape', ran ? m.outputShape : null, p.outputShape],
      ];
      let known = 0;
      let bad = false;
      for (const [what, mine, theirs] of checks) {
        if (mine === null || mine === undefined) continue;
        known++;
        if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
          bad = true;
          wrong.push(`${name}: ${what} ${JSON.stringify(mine)}, PyTorch ${JSON.stringify(theirs)}`);
        }
      }
      figures[name] = { exact: bad ? 0 : known, unknown: checks.length - known };
      if (bad) t.wrong++;
      else if (known === checks.length) t.exact++;
      else {
        t.unknown++;
        const why = (m.reasons[0] ?? 'no reason given').replace(/line \d+/g, 'line N').slice(0, 140);
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
    });

    // conversion: every eligible conv module PyTorch built, by the line it was written on
    const layerAt = new Map<string, LayerJson>();
    for (const f of report.files) for (const l of f.layers) layerAt.set(`${f.path}:${l.line}`, l);
    const seen = new Set<string>();
    let eligibleConvs = 0;
    let converted = 0;
    const declined = new Map<string, number>();
    // a guarded line must leave every module it does not make smaller as it is
    const overreach: string[] = [];
    probes.forEach((p) => {
      for (const c of p.convs ?? []) {
        const l = c.site ? layerAt.get(`${c.site[0]}:${c.site[1]}`) : undefined;
        if (l?.convertible && l.guard && guardHolds(l.guard.terms, c) && !eligible(c))
          overreach.push(
            `${c.site![0]}:${c.site![1]}: \`${l.guard.condition}\` holds on ${c.in}->${c.out} k${c.kernel.join('x')} groups ${c.groups}, which is not smaller separable`,
          );
      }
    });
    assert.deepEqual([...new Set(overreach)], [], 'a guarded rewrite converts a module it does not make smaller');
    probes.forEach((p, i) => {
      // a model built twice (a class and its factory) counts once
      const id = `${jobs[i].module}:${p.params}`;
      if (p.error || seen.has(id)) return;
      seen.add(id);
      for (const c of p.convs ?? []) {
        if (!eligible(c) || !c.site) continue;
        eligibleConvs++;
        const l = layerAt.get(`${c.site[0]}:${c.site[1]}`);
        if (l?.convertible && (!l.guard || guardHolds(l.guard.terms, c))) converted++;
        else {
          const why = l ? (l.reason ?? '?').slice(0, 100) : `${path.relative(SITE, c.site[0])}: not in the report`;
          declined.set(why, (declined.get(why) ?? 0) + 1);
        }
      }
    });

    const rows = [...tallies].sort(([a], [b]) => a.localeCompare(b));
    console.log("zoo models (exact = params, conv MACs and output shape all PyTorch's):");
    for (const [g, t] of rows)
      console.log(
        `  ${g.padEnd(28)} ${t.exact}/${t.models} exact, ${t.unknown} unknown, ${t.wrong} wrong, ${t.failed} not built by PyTorch with the stated input`,
      );
    console.log('most common reasons for unknown totals:');
    for (const [why, n] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${n} × ${why}`);
    console.log(
      `eligible conv modules (standard, in_channels > 1, separable smaller): ${eligibleConvs}, on a converted line: ${converted} (${((100 * converted) / Math.max(1, eligibleConvs)).toFixed(1)}%)`,
    );
    for (const [why, n] of [...declined].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${n} × ${why}`);

    assert.deepEqual(wrong, [], 'a number the tool printed differs from PyTorch');
    figures['conversion: eligible conv modules on a converted line'] = { exact: converted, unknown: eligibleConvs - converted };
    assert.deepEqual(holdFloor('zoo', figures), []);
  },
);

/**
 * A copy of an installed package in `dst`: the trees and files `copies` names (relative, `/`) are real
 * copies (to rewrite), everything else links to the installed package, so that Python imports the
 * copy and SepConv follows its imports as in place. Bytecode caches are left out.
 */
function mirror(src: string, dst: string, copies: string[], rel = ''): void {
  fs.mkdirSync(dst, { recursive: true });
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    if (e.name === '__pycache__') continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    const [from, to] = [path.join(src, e.name), path.join(dst, e.name)];
    const inCopy = copies.some((c) => r === c || r.startsWith(`${c}/`));
    if (e.isDirectory() && (inCopy || copies.some((c) => c.startsWith(`${r}/`)))) mirror(from, to, copies, r);
    else if (inCopy && e.isFile()) fs.copyFileSync(from, to);
    else fs.symlinkSync(from, to);
  }
}

void test(
  'sepconv apply on a copy of the zoo: every factory still builds in PyTorch, with its output shape and exactly the predicted params and MACs',
  { skip: !have && 'python3-torchvision is not installed (scripts/debian-deps.sh installs it)' },
  async () => {
    const { models, jobs, probes } = zooRun();
    const dir = tempDir('sepconv-zoo-apply-');
    mirror(path.join(SITE, 'torchvision'), path.join(dir, 'torchvision'), ['models', 'ops/misc.py']);
    mirror(path.join(SITE, 'torchaudio'), path.join(dir, 'torchaudio'), ['models']);
    const env = { ...process.env, PYTHONPATH: dir, PYTHONDONTWRITEBYTECODE: '1' };
    const where = execFileSync(
      PYTHON,
      [
        '-c',
        'import torchvision.models.resnet as r, torchvision.ops.misc as o, torchaudio.models.conv_tasnet as c; print(r.__file__, o.__file__, c.__file__)',
      ],
      { env, encoding: 'utf8' },
    );
    for (const f of where.trim().split(' ')) assert.ok(f.startsWith(dir), `PyTorch imports ${f}, not the copy`);

    const r = await cli(
      'apply',
      path.join(dir, 'torchvision', 'models'),
      path.join(dir, 'torchaudio', 'models'),
      path.join(dir, 'torchvision', 'ops', 'misc.py'),
    );
    assert.equal(r.code, 0, r.stderr);
    const after = probeZoo(jobs, env);

    const broken: string[] = [];
    const mispredicted: string[] = [];
    let built = 0;
    let changed = 0;
    let predicted = 0;
    models.forEach(({ file, m }, i) => {
      const [was, now] = [probes[i], after[i]];
      if (was.error) return;
      const name = `${path.relative(SITE, file)}: ${m.build}`;
      built++;
      if (now.error) return broken.push(`${name}: ${now.error.split('\n')[0]}`);
      if (JSON.stringify(now.outputShape) !== JSON.stringify(was.outputShape))
        return broken.push(`${name}: output ${JSON.stringify(now.outputShape)}, was ${JSON.stringify(was.outputShape)}`);
      if (now.params !== was.params) changed++;
      const checks: [string, number | null, number | undefined][] = [
        ['params', m.params.after, now.params],
        ['conv MACs', m.inputShape ? m.macs.after : null, now.macs],
      ];
      if (checks.some(([, mine]) => mine === null)) return;
      predicted++;
      for (const [what, mine, theirs] of checks)
        if (mine !== theirs) mispredicted.push(`${name}: ${what} after apply ${theirs}, predicted ${mine}`);
    });
    console.log(
      `apply on a copy of the zoo: ${built} factories PyTorch builds, ${built - broken.length} still build with the same output shape, ${changed} made smaller; ${predicted} with both figures predicted, ${predicted - new Set(mispredicted.map((l) => l.split(':').slice(0, 2).join(':'))).size} exactly`,
    );
    assert.deepEqual(broken, [], 'a factory no longer builds, or computes another shape, after apply');
    assert.deepEqual(mispredicted, [], 'apply made a model whose params or MACs differ from the prediction');
    // and the predictions must cover them: a model's after figures count the lines of other files as
    // those files' own analyses decide them (today 113 of 132)
    assert.ok(predicted >= built * 0.8, `only ${predicted} of ${built} models have both after figures`);
    // the suite must exercise the rewrite: most models are made smaller (today nearly all)
    assert.ok(changed >= built * 0.8, `only ${changed} of ${built} models changed`);
  },
);

/**
 * A user's own model file (in a folder of its own, far from the zoo) that imports torchvision the
 * ways people write it: the names come from the environment `--python` names (its sys.path: Debian's
 * dist-packages), read as source. Every model's totals must be known and PyTorch's.
 */
const USER_MODEL = `import torch
import torch.nn as nn
import torchvision.models as tvm
from torchvision.models import resnet18
from torchvision.ops import SqueezeExcitation
from torchvision.ops.misc import Conv2dNormActivation


class Stem(nn.Module):
    def __init__(self, width=24, num_classes=10):
        super().__init__()
        self.a = Conv2dNormActivation(3, width, kernel_size=3, stride=2)
        self.b = Conv2dNormActivation(width, 2 * width, 5, groups=1, activation_layer=nn.Hardswish)
        self.se = SqueezeExcitation(2 * width, squeeze_channels=8)
        self.c = Conv2dNormActivation(2 * width, 64, 3, 2, norm_layer=None)
        self.mix = nn.Conv2d(64, 64, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.mix(self.c(self.se(self.b(self.a(x)))))
        return self.fc(torch.flatten(self.pool(x), 1))


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = resnet18(num_classes=20)

    def forward(self, x):
        return self.net(x)


def small():
    return tvm.mobilenet_v3_small(num_classes=7)
`;

void test(
  'a user file importing torchvision: names read from the environment of --python, totals exactly PyTorch’s',
  { skip: !have && 'python3-torchvision is not installed (scripts/debian-deps.sh installs it)' },
  async () => {
    const dir = tempDir('sepconv-user-');
    const file = path.join(dir, 'model.py');
    fs.writeFileSync(file, USER_MODEL);
    const r = await cli('report', '--json', '--no-cache', '--python', PYTHON, file);
    assert.equal(r.code, 0, r.stderr);
    const models = (JSON.parse(r.stdout) as { files: { models?: ModelJson[] }[] }).files[0].models ?? [];
    assert.deepEqual(models.map((m) => m.build).sort(), ['Backbone()', 'Stem()', 'small()']);
    const probes = probeBatch(models.map((m) => ({ model: file, build: m.build, input: m.inputShape! })));
    models.forEach((m, i) => {
      const p = probes[i];
      assert.equal(p.error, undefined, `${m.build}: ${p.error}`);
      assert.deepEqual(m.reasons, [], `${m.build}: every total known`);
      assert.equal(m.params.before, p.params, `${m.build}: params`);
      assert.equal(
        m.macs.before,
        p.convs.map((c) => c.macs).reduce((a, b) => a + b, 0),
        `${m.build}: conv MACs`,
      );
      assert.deepEqual(m.outputShape, p.outputShape, `${m.build}: output shape`);
      console.log(
        `  ${m.build}: ${m.params.before} params, ${m.macs.before} conv MACs, output ${JSON.stringify(m.outputShape)}: PyTorch's`,
      );
    });
    // the same file where the interpreter has no torchvision: an unknown with the reason, never a number
    const bare = tempDir('sepconv-bare-python-');
    const fake = path.join(bare, 'python');
    fs.writeFileSync(fake, `#!/bin/sh\necho '{"path": ["${bare}"], "stdlib": [], "names": ["sys"]}'\n`, { mode: 0o755 });
    const none = await cli('report', '--json', '--no-cache', '--python', fake, file);
    const unknown = (JSON.parse(none.stdout) as { files: { models?: ModelJson[] }[] }).files[0].models ?? [];
    // Stem keeps a conv of its own, so it stays a model; the others build nothing known
    assert.ok(unknown.some((m) => m.build === 'Stem()'));
    for (const m of unknown) {
      assert.equal(m.params.before, null, m.build);
      assert.ok(m.reasons.includes(`package torchvision is not installed in ${fake}`), `${m.build}: ${m.reasons.join('; ')}`);
    }
  },
);
