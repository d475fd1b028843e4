/**
 * The PyTorch oracle: the tool's own report (`sepconv report --json`, run as a user runs it: the
 * case's `--assume` values and its input size, defaults and pragmas from the source) against what real
 * PyTorch (Debian's python3-torch, /usr/bin/python3) builds and measures with forward hooks.
 *
 * For every model the report says it built (`models[]`: its build expression and input shape), PyTorch
 * builds the same expression from the original file and from the file `sepconv apply` wrote, and runs
 * the same input. Then, per conv call site of the report:
 * - the instances PyTorch built at that source position are as many as the report's `shapes.instances`,
 *   called `shapes.calls` times;
 * - every number the report gives (in/out channels, groups, kernel, stride, padding, dilation, bias) is
 *   PyTorch's for those instances; where the report's value rests on a default of a helper
 *   (`(default of ...)` in its assumptions) and PyTorch's instances differ, at least one instance has
 *   all of the report's values (the instance built with those defaults);
 * - params and MACs before are the sums over the instances; after the rewrite, the depthwise and
 *   pointwise convs that replace them sum to the report's params and MACs after;
 * and per model: parameters before and after, conv MACs before and after and the output shape are
 * the report's. A number the report leaves unknown is counted, never guessed from PyTorch: the counts
 * per case are held by the floor in test/oracle/baselines/torch.json (see floor.ts).
 *
 * The case's own build (case.json, several inputs, batch 2) also runs before and after the rewrite:
 * output shapes are unchanged, every conv PyTorch built is one the tool found (or a documented
 * limitation), converted convs became a depthwise and a pointwise conv, the others are unchanged.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initParsing } from '../../src/analysis/parsing';
import type { LayerJson, ModelJson } from '../../src/analysis/report';
import { cli, ROOT, tempDir } from '../helpers';
import { holdFloor, type Figures } from './floor';
import { probeBatch, type ProbeConv, type ProbeJob, type ProbeResult } from './probe';

const CASES = path.join(ROOT, 'test', 'fixtures', 'oracle');
/** the cases in test/fixtures/oracle: one added (or lost) changes this on purpose */
const CASE_COUNT = 10;

interface CaseFile {
  build: string;
  inputs: number[][];
  /** what a user passes with `--assume` for names the source leaves open */
  assume?: Record<string, number>;
  /** modules the tool does not find, with the reason: a documented limitation */
  undetected?: Record<string, string>;
  /**
   * answers of the report PyTorch contradicts, with the reason: a known bug, reported and counted as
   * unknown. Keys are a call site `line:column` or `model <name>`; the test fails when one of them stops
   * being wrong (remove it then).
   */
  knownWrong?: Record<string, string>;
}

/** Python columns count code points; ours count UTF-16 units. */
function utf16Column(source: string, line: number, column: number): number {
  const text = source.split('\n')[line - 1] ?? '';
  return [...text].slice(0, column - 1).join('').length + 1;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

/** The report's static values of a layer next to a PyTorch conv's. */
const FIELDS: [keyof LayerJson, keyof ProbeConv][] = [
  ['inChannels', 'inChannels'],
  ['outChannels', 'outChannels'],
  ['groups', 'groups'],
  ['kernelSize', 'kernelSize'],
  ['stride', 'stride'],
  ['padding', 'padding'],
  ['dilation', 'dilation'],
  ['bias', 'bias'],
];

/** Every value the report gives is PyTorch's, for every instance, or (values from a helper's defaults) for one. */
function checkStatic(where: string, layer: LayerJson, instances: ProbeConv[]): void {
  const given = FIELDS.filter(([mine]) => layer[mine] !== null);
  const fromDefaults = layer.assumptions.some((a) => a.includes('(default of'));
  const matches = (c: ProbeConv) => given.every(([mine, theirs]) => same(layer[mine], c[theirs]));
  if (
    fromDefaults &&
    !instances.every((c) =>
      instances.every((d) =>
        same(
          FIELDS.map(([, t]) => c[t]),
          FIELDS.map(([, t]) => d[t]),
        ),
      ),
    )
  ) {
    assert.ok(
      instances.some(matches),
      `${where}: no instance PyTorch built has the report's values ${JSON.stringify(Object.fromEntries(given.map(([m]) => [m, layer[m]])))}`,
    );
    return;
  }
  for (const [mine, theirs] of given) {
    for (const c of instances) assert.deepEqual(layer[mine], c[theirs], `${where}: ${mine} of ${c.module}`);
  }
}

interface Prepared {
  name: string;
  spec: CaseFile;
  source: string;
  layers: LayerJson[];
  models: ModelJson[];
  /** the layers `apply` converted, by position */
  converted: Set<string>;
  /** probe jobs: per tool model [before, after], then per case input [before, after] */
  toolJobs: Map<string, number>;
  caseJobs: number;
}

void test('PyTorch oracle', async (t) => {
  await initParsing();
  const cases = fs
    .readdirSync(CASES)
    .filter((d) => fs.existsSync(path.join(CASES, d, 'case.json')))
    .sort();
  const work = tempDir('sepconv-oracle-');
  const jobs: ProbeJob[] = [];
  const prepared: Prepared[] = [];
  for (const name of cases) {
    const spec = JSON.parse(fs.readFileSync(path.join(CASES, name, 'case.json'), 'utf8')) as CaseFile;
    const file = path.join(CASES, name, 'model.py');
    const source = fs.readFileSync(file, 'utf8');
    // what a user types: the input size of the first input, and --assume for open names
    const args = [
      '--input-size',
      spec.inputs[0].slice(2).join('x'),
      ...Object.entries(spec.assume ?? {}).flatMap(([k, v]) => ['--assume', `${k}=${v}`]),
    ];
    const report = await cli('report', file, '--json', ...args);
    assert.equal(report.code, 0, report.stderr);
    const json = JSON.parse(report.stdout) as { files: { layers: LayerJson[]; models?: ModelJson[] }[] };
    const outDir = path.join(work, name);
    fs.cpSync(path.join(CASES, name), outDir, { recursive: true });
    const rewritten = path.join(outDir, 'model.py');
    const apply = await cli('apply', rewritten, ...args);
    assert.equal(apply.code, 0, apply.stderr);
    const layers = json.files[0].layers;
    const models = json.files[0].models ?? [];
    // the report's convertible layers are what apply converts (no --min-savings)
    const converted = new Set(layers.filter((l) => l.convertible).map((l) => `${l.line}:${l.column}`));
    const toolJobs = new Map<string, number>();
    for (const m of models) {
      if (m.inputShape === null) continue;
      toolJobs.set(m.name, jobs.length);
      jobs.push({ model: file, build: m.build, input: m.inputShape }, { model: rewritten, build: m.build, input: m.inputShape });
    }
    const caseJobs = jobs.length;
    for (const input of spec.inputs) jobs.push({ model: file, build: spec.build, input }, { model: rewritten, build: spec.build, input });
    prepared.push({ name, spec, source, layers, models, converted, toolJobs, caseJobs });
  }
  // one python process for everything: importing torch costs more than all the models together
  const results = probeBatch(jobs);
  fs.rmSync(work, { recursive: true, force: true });

  const floors: Record<string, Figures> = {};
  let sites = 0;
  let modelsChecked = 0;
  let caseRuns = 0;
  for (const c of prepared) {
    const fig: Figures = { exact: 0, unknown: 0 };
    floors[c.name] = fig;
    const at = (conv: ProbeConv) =>
      `${conv.line}:${conv.line === null || conv.column === null ? '?' : utf16Column(c.source, conv.line, conv.column)}`;
    await t.test(c.name, () => {
      // the models the report says it built, built and run by PyTorch
      const ran = new Map<string, [ProbeResult, ProbeResult]>();
      const knownWrong = new Set(Object.keys(c.spec.knownWrong ?? {}));
      /** runs `check`; for a known wrong answer, expects it to fail. True when the answer was checked and right. */
      const checked = (key: string, check: () => void): boolean => {
        if (!knownWrong.has(key)) {
          check();
          return true;
        }
        knownWrong.delete(key);
        assert.throws(check, `${c.name} ${key}: listed in knownWrong (${c.spec.knownWrong![key]}) but PyTorch now agrees: remove it`);
        return false;
      };
      for (const m of c.models) {
        const k = c.toolJobs.get(m.name);
        if (k === undefined) {
          fig.unknown++;
          continue;
        }
        const [before, after] = [results[k], results[k + 1]];
        const where = `${c.name}: model ${m.build} at ${m.inputShape!.join('x')}`;
        assert.equal(before.error, undefined, `${where}: PyTorch could not build or run what the report says it built: ${before.error}`);
        assert.equal(after.error, undefined, `${where}: the rewritten file failed in PyTorch: ${after.error}`);
        ran.set(m.name, [before, after]);
        modelsChecked++;
        assert.deepEqual(after.outputShape, before.outputShape, `${where}: output shape changed by the rewrite`);
        const pairs: [string, number | null, number][] = [
          ['params before', m.params.before, before.params],
          ['params after', m.params.after, after.params],
          ['conv MACs before', m.macs.before, sum(before.convs.map((x) => x.macs))],
          ['conv MACs after', m.macs.after, sum(after.convs.map((x) => x.macs))],
        ];
        const right = checked(`model ${m.name}`, () => {
          for (const [what, mine, theirs] of pairs) if (mine !== null) assert.equal(mine, theirs, `${where}: ${what}`);
          if (m.outputShape !== null) assert.deepEqual(m.outputShape, before.outputShape, `${where}: output shape`);
        });
        if (right && pairs.every(([, mine]) => mine !== null) && m.outputShape !== null) fig.exact++;
        else fig.unknown++;
      }

      // every call site of the report
      for (const layer of c.layers) {
        sites++;
        const key = `${layer.line}:${layer.column}`;
        const where = `${c.name} ${layer.op} at ${key}`;
        const run = layer.shapes ? ran.get(layer.shapes.model) : undefined;
        if (!run) {
          // not run in a model PyTorch built: its static values against the case's build
          const instances = results[c.caseJobs].convs.filter((x) => at(x) === key);
          assert.ok(instances.length > 0, `${where}: PyTorch built no conv here`);
          checkStatic(where, layer, instances);
          fig.unknown++;
          continue;
        }
        const [before, after] = run;
        const instances = before.convs.filter((x) => at(x) === key);
        assert.equal(instances.length, layer.shapes!.instances, `${where}: instances`);
        assert.equal(sum(instances.map((x) => x.calls)), layer.shapes!.calls, `${where}: calls`);
        const staticRight = checked(key, () => checkStatic(where, layer, instances));
        if (layer.params.before !== null) assert.equal(layer.params.before, sum(instances.map((x) => x.params)), `${where}: params`);
        if (layer.macs.before !== null) assert.equal(layer.macs.before, sum(instances.map((x) => x.macs)), `${where}: MACs`);
        let known = staticRight && layer.params.before !== null && layer.macs.before !== null;
        if (c.converted.has(key)) {
          const parts = instances.flatMap((i) => after.convs.filter((x) => x.module.startsWith(`${i.module}.`)));
          assert.equal(
            parts.length,
            2 * instances.length,
            `${where}: each instance should become a depthwise and a pointwise conv: ${parts.map((x) => x.module).join(', ')}`,
          );
          for (const i of instances) {
            const [dw] = after.convs.filter((x) => x.module === `${i.module}.0`);
            assert.ok(dw && dw.groups === i.inChannels && dw.inChannels === i.inChannels, `${where}: ${i.module}.0 is not depthwise`);
          }
          if (layer.params.after !== null)
            assert.equal(layer.params.after, sum(parts.map((x) => x.params)), `${where}: params after the rewrite`);
          if (layer.macs.after !== null) assert.equal(layer.macs.after, sum(parts.map((x) => x.macs)), `${where}: MACs after the rewrite`);
          known &&= layer.params.after !== null && layer.macs.after !== null;
        } else {
          for (const i of instances) {
            const kept = after.convs.find((x) => x.module === i.module);
            assert.ok(
              kept && kept.params === i.params && kept.macs === i.macs,
              `${where}: ${i.module} is not converted and must stay as it was`,
            );
          }
        }
        if (known) fig.exact++;
        else fig.unknown++;
      }
      assert.deepEqual([...knownWrong], [], `${c.name}: knownWrong entries that name no model or site of the report`);
      // every conv PyTorch built in a model the report ran is at one of the report's sites, or documented
      const found = new Set(c.layers.map((l) => `${l.line}:${l.column}`));
      for (const [, [before]] of ran) {
        for (const conv of before.convs) {
          if (!found.has(at(conv)))
            assert.ok(
              c.spec.undetected?.[conv.module],
              `${c.name}: ${conv.module} (${conv.op} at ${conv.line}:${conv.column}) is not in the report`,
            );
        }
      }

      // the case's own build at each of its inputs, before and after the rewrite
      c.spec.inputs.forEach((input, k) => {
        const before = results[c.caseJobs + 2 * k];
        const after = results[c.caseJobs + 2 * k + 1];
        const where = `${c.name} ${c.spec.build} at ${input.join('x')}`;
        assert.equal(before.error, undefined, `${where}: the original failed: ${before.error}`);
        assert.equal(after.error, undefined, `${where}: the rewritten file failed: ${after.error}`);
        caseRuns++;
        assert.deepEqual(after.outputShape, before.outputShape, `${where}: output shape changed`);
        for (const conv of before.convs) {
          const key = at(conv);
          if (!found.has(key)) {
            assert.ok(c.spec.undetected?.[conv.module], `${where}: ${conv.module} (${conv.op} at ${key}) is not in the report`);
            continue;
          }
          if (c.converted.has(key)) {
            const dw = after.convs.find((x) => x.module === `${conv.module}.0`);
            const pw = after.convs.find((x) => x.module === `${conv.module}.1`);
            assert.ok(dw && pw, `${where}: ${conv.module} should have become a depthwise and a pointwise conv`);
            assert.equal(dw.groups, conv.inChannels, `${where}: ${conv.module}.0 groups`);
            assert.equal(pw.outChannels, conv.outChannels, `${where}: ${conv.module}.1 out_channels`);
          } else {
            const kept = after.convs.find((x) => x.module === conv.module);
            assert.ok(kept && kept.params === conv.params && kept.macs === conv.macs, `${where}: ${conv.module} must stay as it was`);
          }
        }
      });
    });
  }
  await t.test('summary', () => {
    const total = Object.values(floors).reduce((s, f) => ({ exact: s.exact + f.exact, unknown: s.unknown + f.unknown }), {
      exact: 0,
      unknown: 0,
    });
    console.log(
      `PyTorch oracle: ${prepared.length} cases; ${modelsChecked} models the report built, built by PyTorch before and after the rewrite; ` +
        `${sites} call sites; ${total.exact} sites and models with every number exact, ${total.unknown} with a number left unknown; ${caseRuns} runs of the cases' own builds`,
    );
    assert.equal(prepared.length, CASE_COUNT, 'cases in test/fixtures/oracle');
    assert.ok(modelsChecked >= CASE_COUNT, `every case has at least one model the report built: ${modelsChecked}`);
    assert.deepEqual(holdFloor('torch', floors), [], 'the PyTorch oracle holds its floor');
  });
});
