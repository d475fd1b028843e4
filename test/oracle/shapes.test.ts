/**
 * The shape oracle: for every model in test/fixtures/shapes (and the models of the PyTorch oracle in
 * test/fixtures/oracle), built the way its case.json says and run at two input sizes, the static
 * shape inference must give what PyTorch measures with forward hooks (torch_probe.py, one python
 * process for everything): the model's output shape and parameter count, its total conv MACs, and
 * per conv instance (by module path) the number of calls, each call's input and output shape and
 * the MACs. A static number is either exact or absent with a reason — never different.
 *
 * Prints the coverage: the share of conv instances whose MACs are exact from the source alone.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { defaultOptions } from '../../src/analysis/options';
import { initParsing, parse } from '../../src/analysis/parsing';
import { inferModels, type ModelShapes } from '../../src/analysis/python/shapes/models';
import { ROOT } from '../helpers';
import { holdFloor, type Figures } from './floor';
import { probeBatch } from './probe';

/** the cases (test/fixtures/shapes and test/fixtures/oracle): one added or lost changes this on purpose */
const CASE_COUNT = 21;

interface Case {
  name: string;
  dir: string;
  builds: { build: string; inputs: number[][] }[];
  /** model names discovery must find, in order (shapes fixtures only) */
  discovered?: string[];
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const group of ['shapes', 'oracle']) {
    const base = path.join(ROOT, 'test', 'fixtures', group);
    for (const name of fs.readdirSync(base).sort()) {
      const file = path.join(base, name, 'case.json');
      if (!fs.existsSync(file)) continue;
      // {"build": expr, "inputs": [...]}, or {"builds": [expr | {"build", "inputs"}], "inputs": [...]}
      const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as {
        build?: string;
        builds?: (string | { build: string; inputs: number[][] })[];
        inputs?: number[][];
        discovered?: string[];
      };
      const builds = (spec.builds ?? [spec.build!]).map((b) => (typeof b === 'string' ? { build: b, inputs: spec.inputs! } : b));
      out.push({ name: `${group}/${name}`, dir: path.join(base, name), builds, discovered: spec.discovered });
    }
  }
  return out;
}

const read = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

function analyse(file: string, build?: string, input?: number[]): ModelShapes[] {
  const text = fs.readFileSync(file, 'utf8');
  const tree = parse('python', text);
  try {
    return inferModels({ path: file, text, root: tree.rootNode }, { path: file, read }, defaultOptions(), { build, input });
  } finally {
    tree.delete();
  }
}

void test('shape oracle', async (t) => {
  await initParsing();
  const all = cases();
  const jobs: { model: string; build: string; input: number[] }[] = [];
  const runs: { c: Case; build: string; input: number[]; model: string; static: ModelShapes }[] = [];
  for (const c of all) {
    const model = path.join(c.dir, 'model.py');
    for (const { build, inputs } of c.builds) {
      for (const input of inputs) {
        const models = analyse(model, build, input);
        assert.equal(models.length, 1, `${c.name}: ${build} should build one model`);
        jobs.push({ model, build, input });
        runs.push({ c, build, input, model, static: models[0] });
      }
    }
  }
  const results = probeBatch(jobs);

  let instances = 0;
  let exact = 0;
  const inexact: string[] = [];
  const floors: Record<string, Figures> = {};
  for (const c of all) {
    const fig: Figures = { exact: 0, unknown: 0 };
    floors[c.name] = fig;
    await t.test(c.name, () => {
      runs.forEach((r, i) => {
        if (r.c !== c) return;
        const probe = results[i];
        const where = `${c.name} ${r.build} at ${r.input.join('x')}`;
        assert.equal(probe.error, undefined, `${where}: PyTorch failed: ${probe.error}`);
        const s = r.static;
        assert.deepEqual(s.reasons, [], `${where}: static inference stopped`);
        assert.deepEqual(s.output, probe.outputShape, `${where}: output shape`);
        assert.equal(s.params, probe.params, `${where}: parameter count`);
        const byPath = new Map(s.convs.map((x) => [x.path, x]));
        assert.deepEqual(s.convs.map((x) => x.path).sort(), probe.convs.map((x) => x.module).sort(), `${where}: conv modules`);
        let total = 0;
        for (const pc of probe.convs) {
          total += pc.macs;
          const sc = byPath.get(pc.module)!;
          instances++;
          if (!sc.exact) {
            inexact.push(`${where} ${pc.module}: ${sc.reason}`);
            fig.unknown++;
            continue;
          }
          exact++;
          fig.exact++;
          assert.equal(sc.calls.length, pc.calls, `${where} ${pc.module}: calls`);
          assert.deepEqual(
            sc.calls.map((x) => x.input),
            pc.inputShapes,
            `${where} ${pc.module}: input shapes`,
          );
          assert.deepEqual(
            sc.calls.map((x) => x.output),
            pc.outputShapes,
            `${where} ${pc.module}: output shapes`,
          );
          assert.equal(sc.macs, pc.macs, `${where} ${pc.module}: MACs`);
        }
        assert.equal(s.macs, total, `${where}: total conv MACs`);
      });
      if (c.discovered) {
        const found = analyse(path.join(c.dir, 'model.py'));
        assert.deepEqual(
          found.map((m) => m.name),
          c.discovered,
          `${c.name}: the models discovery finds`,
        );
        for (const m of found) assert.deepEqual(m.reasons, [], `${c.name} ${m.name}: discovered model stopped`);
      }
    });
  }
  await t.test('coverage', () => {
    const pct = instances ? ((100 * exact) / instances).toFixed(1) : '0';
    console.log(
      `shape oracle: ${runs.length / 2} model builds x 2 inputs over ${all.length} files; ${instances} conv instance runs, ${exact} with exact MACs from the source alone (${pct}%)`,
    );
    for (const line of inexact) console.log(`  not exact: ${line}`);
    assert.equal(all.length, CASE_COUNT, 'shape oracle cases');
    assert.equal(runs.length, results.length);
    assert.deepEqual(holdFloor('shapes', floors), [], 'the shape oracle holds its floor');
  });
});
