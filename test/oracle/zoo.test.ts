/**
 * The real-zoo oracle: the model source Debian's python3-torchvision and python3-torchaudio install
 * (read in place, never copied) is analysed with `sepconv report --json`, and every model the report
 * finds is built by real PyTorch from the same factory (test/oracle/zoo_probe.py) with the input the
 * report states. A number the tool prints must be exactly PyTorch's (params, conv MACs, output
 * shape); a missing one is counted as unknown with its reason. Figures are printed per group, and
 * the committed floor (zoo.floor.json) must hold: exact may rise, never drop.
 *
 * UPDATE=1 rewrites zoo.floor.json with today's figures (review the diff).
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { ModelJson } from '../../src/analysis/report';
import { ROOT } from '../helpers';

const PYTHON = '/usr/bin/python3';
const SITE = '/usr/lib/python3/dist-packages';
const ZOOS = [path.join(SITE, 'torchvision', 'models'), path.join(SITE, 'torchaudio', 'models')];
const FLOOR = path.join(ROOT, 'test', 'oracle', 'zoo.floor.json');

/** The group a model file belongs to, for the figures: the issue counts single-input models apart. */
function group(file: string): string {
  const rel = path.relative(SITE, file);
  if (rel.startsWith('torchaudio')) return 'torchaudio';
  const sub = rel.split(path.sep)[2];
  return sub && !sub.endsWith('.py') ? `torchvision/${sub}` : 'torchvision/classification';
}

interface Probe {
  error?: string;
  params?: number;
  macs?: number;
  outputShape?: unknown;
}

interface Tally {
  models: number;
  exact: number;
  unknown: number;
  wrong: number;
  failed: number;
}

const have = fs.existsSync(ZOOS[0]) && fs.existsSync(PYTHON);

void test('the real zoo: every number the report prints for torchvision and torchaudio models is PyTorch\'s', { skip: !have && 'python3-torchvision is not installed (scripts/debian-deps.sh installs it)' }, () => {
  const report = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli', 'index.ts'), 'report', '--json', ...ZOOS], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 << 20 }),
  ) as { files: { path: string; models?: ModelJson[] }[] };
  const models: { file: string; m: ModelJson }[] = [];
  for (const f of report.files) for (const m of f.models ?? []) if (m.build.endsWith('()') && !m.build.includes('.')) models.push({ file: f.path, m });
  const jobs = models.map(({ file, m }) => ({
    module: path.relative(SITE, file).replace(/\.py$/, '').split(path.sep).join('.'),
    build: m.build,
    input: m.inputShape,
  }));
  const probes = JSON.parse(execFileSync(PYTHON, [path.join(ROOT, 'test', 'oracle', 'zoo_probe.py')], { input: JSON.stringify(jobs), encoding: 'utf8', maxBuffer: 256 << 20 })) as Probe[];
  assert.equal(probes.length, jobs.length);

  const tallies = new Map<string, Tally>();
  const wrong: string[] = [];
  const reasons = new Map<string, number>();
  models.forEach(({ file, m }, i) => {
    const g = group(file);
    const t = tallies.get(g) ?? { models: 0, exact: 0, unknown: 0, wrong: 0, failed: 0 };
    tallies.set(g, t);
    const p = probes[i];
    const name = `${path.relative(SITE, file)}: ${m.build}`;
    if (p.error) {
      // PyTorch itself cannot build or run it with the stated input (several inputs, or no input found)
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
    let exact = true;
    for (const [what, mine, theirs] of checks) {
      if (mine === null || mine === undefined) {
        exact = false;
        continue;
      }
      if (JSON.stringify(mine) !== JSON.stringify(theirs)) wrong.push(`${name}: ${what} ${JSON.stringify(mine)}, PyTorch ${JSON.stringify(theirs)}`);
    }
    if (wrong.length && wrong[wrong.length - 1].startsWith(name)) t.wrong++;
    else if (exact) t.exact++;
    else {
      t.unknown++;
      const why = (m.reasons[0] ?? 'no reason given').replace(/line \d+/g, 'line N').slice(0, 140);
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
    }
  });

  const rows = [...tallies].sort(([a], [b]) => a.localeCompare(b));
  console.log('zoo models (exact = params, conv MACs and output shape all PyTorch\'s):');
  for (const [g, t] of rows) console.log(`  ${g.padEnd(28)} ${t.exact}/${t.models} exact, ${t.unknown} unknown, ${t.wrong} wrong, ${t.failed} not built by PyTorch with the stated input`);
  console.log('most common reasons for unknown totals:');
  for (const [why, n] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${n} × ${why}`);

  const figures = Object.fromEntries(rows.map(([g, t]) => [g, { exact: t.exact, models: t.models }]));
  if (process.env.UPDATE) fs.writeFileSync(FLOOR, JSON.stringify(figures, null, 2) + '\n');
  const floor = JSON.parse(fs.readFileSync(FLOOR, 'utf8')) as Record<string, { exact: number; models: number }>;
  assert.deepEqual(wrong, [], 'a number the tool printed differs from PyTorch');
  for (const [g, f] of Object.entries(floor)) {
    const t = tallies.get(g);
    assert.ok(t, `group ${g} found no models`);
    assert.ok(t.exact >= f.exact, `${g}: ${t.exact} models exact, the floor is ${f.exact}`);
    if (t.exact > f.exact) console.log(`  ${g}: the floor can be raised to ${t.exact} (UPDATE=1)`);
  }
});
