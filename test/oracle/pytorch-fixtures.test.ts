/**
 * The PyTorch before/after fixtures (test/fixtures/pytorch/<case>/input.py and expected.py, the file
 * `sepconv apply` writes) built in real PyTorch. For every model the report (`sepconv report --json`
 * with the case's flags) says it built, PyTorch builds the same expression from input.py and from
 * expected.py and runs the report's input (on the meta device: shapes and MACs without arithmetic, so
 * 224x224 inputs cost nothing; one python process for all). Then:
 * - the output shape is the report's, before and after;
 * - the model's parameters and conv MACs are the report's `params` / `macs`, before and after;
 * - per conv call site: the report's params and MACs are the sums over the instances PyTorch built
 *   there, and after the rewrite the convs that replaced them sum to the report's `after` numbers;
 * - a model the report says it could not run (`reasons`) fails in PyTorch too.
 * Fixtures that have no model to build say why in NOT_BUILT; the number built is asserted, and the
 * numbers the report leaves unknown are held by the floor in test/oracle/baselines/pytorch-fixtures.json.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initParsing } from '../../src/analysis/parsing';
import type { LayerJson, ModelJson } from '../../src/analysis/report';
import { cli, ROOT } from '../helpers';
import { holdFloor, type Figures } from './floor';
import { probeBatch, type ProbeConv, type ProbeJob } from './probe';

const CASES = path.join(ROOT, 'test', 'fixtures', 'pytorch');

/** Fixtures PyTorch cannot build as they are, and why. A fixture that gains a model fails until it is taken off. */
const NOT_BUILT: Record<string, string> = {
  args_argparse_defaults:
    'widths from argparse options: the static evaluator reads their defaults, shape inference does not model argparse, so no model is built (its case.json `oracle` builds the rewrite in PyTorch)',
  args_symbolic: 'a constructor with required arguments and no defaults, pragmas or --assume: the report builds no model',
  no_import_snippet: 'a notebook-style snippet that uses `nn` without importing it: not a module PyTorch can import',
  pragma_class: 'classes without forward(): widths from class pragmas, but nothing to run',
  site_conv3x3_helper: 'helper functions and a class without forward(): nothing to run',
  skip_kwargs: 'convs configured through **kwargs the caller fills: no model with its arguments',
  skip_lazy: 'a LazyConv2d model: its input channels are open, so the report has no input to run it with',
  skip_syntax_error: 'the file does not parse',
};

/** how many fixtures are built: a fixture added (or one that stops being built) changes it on purpose */
const BUILT_FIXTURES = 50;

interface FileJson {
  error: string | null;
  layers: LayerJson[];
  models?: ModelJson[];
}

/** Python columns count code points; ours count UTF-16 units. */
function utf16Column(source: string, line: number, column: number): number {
  const text = source.split('\n')[line - 1] ?? '';
  return [...text].slice(0, column - 1).join('').length + 1;
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

void test('PyTorch fixtures built in PyTorch, before and after', async (t) => {
  await initParsing();
  const names = fs
    .readdirSync(CASES)
    .filter((n) => fs.existsSync(path.join(CASES, n, 'input.py')))
    .sort();
  const jobs: ProbeJob[] = [];
  const prepared: {
    name: string;
    source: string;
    file: FileJson;
    models: { m: ModelJson; job: number }[];
    own?: { build: string; job: number };
  }[] = [];
  for (const name of names) {
    const dir = path.join(CASES, name);
    const caseFile = path.join(dir, 'case.json');
    const spec = fs.existsSync(caseFile)
      ? (JSON.parse(fs.readFileSync(caseFile, 'utf8')) as { args?: string[]; oracle?: { build: string; input: number[] } })
      : {};
    const args = spec.args ?? [];
    const input = path.join(dir, 'input.py');
    const report = await cli('report', input, '--json', ...args);
    assert.equal(report.code, 0, `${name}: ${report.stderr}`);
    const file = (JSON.parse(report.stdout) as { files: FileJson[] }).files[0];
    const models = (file.models ?? [])
      .filter((m) => m.inputShape !== null)
      .map((m) => {
        const job = jobs.length;
        jobs.push(
          { model: input, build: m.build, input: m.inputShape!, meta: true },
          { model: path.join(dir, 'expected.py'), build: m.build, input: m.inputShape!, meta: true },
        );
        return { m, job };
      });
    // a fixture the report builds no model of names one for PyTorch to build (case.json `oracle`)
    let own: { build: string; job: number } | undefined;
    if (spec.oracle) {
      own = { build: spec.oracle.build, job: jobs.length };
      jobs.push(
        { model: input, build: spec.oracle.build, input: spec.oracle.input, meta: true },
        { model: path.join(dir, 'expected.py'), build: spec.oracle.build, input: spec.oracle.input, meta: true },
      );
    }
    prepared.push({ name, source: fs.readFileSync(input, 'utf8'), file, models, own });
  }
  const results = probeBatch(jobs);

  const floors: Record<string, Figures> = {};
  const built: string[] = [];
  for (const c of prepared) {
    if (c.name in NOT_BUILT) {
      await t.test(`${c.name} (not built: ${NOT_BUILT[c.name]})`, () => {
        assert.equal(
          c.models.length,
          0,
          `${c.name} now has a model to build (${c.models.map((x) => x.m.build).join(', ')}): take it off NOT_BUILT`,
        );
        if (c.own) {
          // the static layers' numbers against PyTorch building the fixture's own model before and after
          const [before, after] = [results[c.own.job], results[c.own.job + 1]];
          const where = `${c.name}: ${c.own.build}`;
          assert.equal(before.error, undefined, `${where}: ${before.error}`);
          assert.equal(after.error, undefined, `${where}: expected.py: ${after.error}`);
          assert.deepEqual(after.outputShape, before.outputShape, `${where}: output shape changed by the rewrite`);
          const converted = c.file.layers.filter((l) => l.convertible);
          assert.ok(
            converted.length > 0 && converted.every((l) => l.params.before !== null && l.params.after !== null),
            `${where}: converted layers with static params`,
          );
          assert.equal(
            after.params - before.params,
            sum(converted.map((l) => l.params.after! - l.params.before!)),
            `${where}: params saved`,
          );
          for (const l of converted) {
            const at = before.convs.find((x) => x.line === l.line);
            assert.equal(at?.params, l.params.before, `${where}: params of the conv at line ${l.line}`);
          }
        }
      });
      continue;
    }
    const fig: Figures = { exact: 0, unknown: 0 };
    floors[c.name] = fig;
    await t.test(c.name, () => {
      assert.ok(c.models.length > 0, `${c.name}: the report builds no model; give the reason in NOT_BUILT`);
      built.push(c.name);
      const at = (conv: ProbeConv) =>
        `${conv.line}:${conv.line === null || conv.column === null ? '?' : utf16Column(c.source, conv.line, conv.column)}`;
      for (const { m, job } of c.models) {
        const before = results[job];
        const after = results[job + 1];
        const where = `${c.name}: ${m.build} at ${m.inputShape!.join('x')}`;
        if (before.error) {
          // a model that fails in PyTorch: the report must not have priced its run
          assert.ok(
            m.reasons.length > 0 || m.macs.before === null,
            `${where}: PyTorch fails (${before.error}) where the report gives its MACs`,
          );
          fig.unknown++;
          continue;
        }
        assert.equal(after.error, undefined, `${where}: expected.py failed in PyTorch: ${after.error}`);
        assert.deepEqual(after.outputShape, before.outputShape, `${where}: output shape changed by the rewrite`);
        assert.deepEqual(m.outputShape, before.outputShape, `${where}: output shape`);
        const pairs: [string, number | null, number][] = [
          ['params before', m.params.before, before.params],
          ['params after', m.params.after, after.params],
          ['conv MACs before', m.macs.before, sum(before.convs.map((x) => x.macs))],
          ['conv MACs after', m.macs.after, sum(after.convs.map((x) => x.macs))],
        ];
        for (const [what, mine, theirs] of pairs) {
          if (mine === null) fig.unknown++;
          else {
            assert.equal(mine, theirs, `${where}: ${what}`);
            fig.exact++;
          }
        }
        // per call site of this model
        for (const layer of c.file.layers.filter((l) => l.shapes?.model === m.name)) {
          const key = `${layer.line}:${layer.column}`;
          const w = `${where}: ${layer.op} at ${key}`;
          const instances = before.convs.filter((x) => at(x) === key);
          assert.equal(instances.length, layer.shapes!.instances, `${w}: instances`);
          const numbers: [string, number | null, number][] = [
            ['params', layer.params.before, sum(instances.map((x) => x.params))],
            ['MACs', layer.macs.before, sum(instances.map((x) => x.macs))],
          ];
          const partsOf = (i: ProbeConv) => after.convs.filter((x) => x.module.startsWith(`${i.module}.`));
          const parts = instances.flatMap(partsOf);
          if (layer.guard) {
            // a guarded rewrite: the instances the report counts as converted became the pair, the others stay
            const converted = instances.filter((i) => partsOf(i).length > 0);
            assert.equal(converted.length, layer.guard.converted, `${w}: instances the guard converts`);
            assert.equal(instances.length, layer.guard.instances, `${w}: instances the guard was judged on`);
            for (const i of converted) assert.equal(partsOf(i).length, 2, `${w}: ${i.module} becomes a depthwise and a pointwise conv`);
            for (const i of instances.filter((x) => !converted.includes(x))) {
              assert.ok(
                after.convs.some((x) => x.module === i.module && x.params === i.params && x.macs === i.macs),
                `${w}: ${i.module} left as it was`,
              );
            }
            // exactly the instances whose separable form is smaller are converted
            for (const i of instances) {
              const kvol = i.kernelSize.reduce((x, y) => x * y, 1);
              const [cin, cout] = [i.inChannels, i.outChannels];
              const smaller =
                kvol > 1 && cin > 1 && i.groups < cin && cin * kvol + (cin * cout) / i.groups < cout * (cin / i.groups) * kvol;
              assert.equal(
                converted.includes(i),
                smaller,
                `${w}: ${i.module} (${cin}->${cout}, k${i.kernelSize.join('x')}, groups ${i.groups}) ${smaller ? 'is smaller separable but was left' : 'was converted though not smaller'}`,
              );
            }
            const replacedOrKept = instances.map((i) => after.sequentials.find((x) => x.module === i.module)?.params ?? i.params);
            numbers.push(
              ['params after', layer.params.after, sum(replacedOrKept)],
              [
                'MACs after',
                layer.macs.after,
                sum(instances.map((i) => (partsOf(i).length ? sum(partsOf(i).map((x) => x.macs)) : i.macs))),
              ],
            );
          } else if (parts.length) {
            assert.equal(parts.length, 2 * instances.length, `${w}: each instance becomes a depthwise and a pointwise conv`);
            // the Sequential that replaced each instance: its parameters (a --norm layer's too) and its convs' MACs
            const replaced = instances.map((i) => after.sequentials.find((x) => x.module === i.module));
            assert.ok(
              replaced.every((x) => x !== undefined),
              `${w}: the converted convs are not nn.Sequentials after the rewrite`,
            );
            numbers.push(
              ['params after', layer.params.after, sum(replaced.map((x) => x.params))],
              ['MACs after', layer.macs.after, sum(parts.map((x) => x.macs))],
            );
          } else {
            for (const i of instances)
              assert.ok(
                after.convs.some((x) => x.module === i.module && x.params === i.params && x.macs === i.macs),
                `${w}: ${i.module} left as it was`,
              );
          }
          for (const [what, mine, theirs] of numbers) {
            if (mine === null) fig.unknown++;
            else {
              assert.equal(mine, theirs, `${w}: ${what}`);
              fig.exact++;
            }
          }
        }
      }
    });
  }
  await t.test('summary', () => {
    console.log(
      `PyTorch fixtures: ${built.length} of ${prepared.length} built in PyTorch before and after (${jobs.length} builds); not built: ${Object.entries(
        NOT_BUILT,
      )
        .map(([n, why]) => `${n} (${why})`)
        .join('; ')}`,
    );
    assert.deepEqual(
      Object.keys(NOT_BUILT).filter((n) => !prepared.some((c) => c.name === n)),
      [],
      'NOT_BUILT names fixtures that do not exist',
    );
    assert.equal(built.length, BUILT_FIXTURES, 'fixtures built in PyTorch');
    assert.equal(built.length + Object.keys(NOT_BUILT).length, prepared.length, 'every fixture is built or says why not');
    assert.deepEqual(holdFloor('pytorch-fixtures', floors), [], 'the PyTorch fixtures hold their floor');
  });
});
