/**
 * Fuzz through `apply` (issue 12): a few thousand random edits of real model files (windows of the
 * installed torchvision's model sources, read in place, and of this repository's fixtures) with a
 * fixed seed. `apply` must end on all of them without an internal error, and every file it writes
 * must parse (tree-sitter), come from a file that parsed, and, for a sample, compile with Python
 * when the edited original did.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initParsing } from '../../src/analysis/parsing';
import { fuzzCase, rng, topLevelBlocks } from '../hostile/fuzz';
import { cli, pythonParses, ROOT, tempDir } from '../helpers';

const PYTHON = '/usr/bin/python3';
const CASES = 3000;
const SEED = 20261204;
/** Files whose before/after are compiled by Python. */
const COMPILE_SAMPLE = 150;

function pythonFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === '__pycache__' ? [] : pythonFiles(full);
    return e.name.endsWith('.py') ? [full] : [];
  });
}

/** The installed torchvision's `models` folder (found without importing torch), or undefined. */
function torchvisionModels(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import importlib.util as u; print(u.find_spec("torchvision").submodule_search_locations[0])'], {
    encoding: 'utf8',
  });
  const dir = r.status === 0 ? path.join(r.stdout.trim(), 'models') : undefined;
  return dir && fs.existsSync(dir) ? dir : undefined;
}

void test(
  `apply on ${CASES} random edits of real model files: no crash, no hang, nothing written that does not parse`,
  { timeout: 600_000 },
  async (t) => {
    await initParsing();
    const tv = torchvisionModels();
    assert.ok(tv, 'torchvision is installed (python3-torchvision, scripts/debian-deps.sh)');
    const sources = [...pythonFiles(tv), ...pythonFiles(path.join(ROOT, 'test', 'fixtures')).filter((f) => !f.endsWith('expected.py'))];
    const seeds = sources.map((f) => topLevelBlocks(fs.readFileSync(f, 'utf8'))).filter((b) => b.some((x) => /Conv[123]d/.test(x)));
    assert.ok(seeds.length >= 60, `${seeds.length} seed files with convolutions`);

    const dir = tempDir('sepconv-fuzz-');
    const rand = rng(SEED);
    const before = new Map<string, string>();
    for (let i = 0; i < CASES; i++) {
      const file = path.join(dir, `case${String(i).padStart(4, '0')}.py`);
      const text = fuzzCase(seeds, rand);
      fs.writeFileSync(file, text);
      before.set(file, text);
    }
    const started = Date.now();
    const r = await cli('apply', dir);
    t.diagnostic(`${CASES} cases from ${seeds.length} seed files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr.slice(0, 2000)}`);
    assert.doesNotMatch(r.stdout + r.stderr, /internal error|TypeError|RangeError|is not a function|Cannot read properties/);

    const changed: string[] = [];
    let unparsable = 0;
    for (const [file, text] of before) {
      const now = fs.readFileSync(file, 'utf8');
      if (!pythonParses(text)) unparsable++;
      if (now === text) continue;
      changed.push(file);
      assert.ok(pythonParses(text), `${path.basename(file)} did not parse, yet it was written`);
      assert.ok(pythonParses(now), `${path.basename(file)}: apply wrote a file that does not parse:\n${now}`);
    }
    t.diagnostic(`${changed.length} files rewritten, ${unparsable} edited files that do not parse (never written)`);
    assert.ok(
      changed.length >= CASES / 10,
      `only ${changed.length} of ${CASES} files were rewritten: the fuzz no longer exercises the rewrite`,
    );

    // a sample through CPython: what compiled before the rewrite compiles after it
    const sample = changed.filter((_, i) => i % Math.max(1, Math.floor(changed.length / COMPILE_SAMPLE)) === 0).slice(0, COMPILE_SAMPLE);
    const pairs = sample.map((f) => [before.get(f)!, fs.readFileSync(f, 'utf8')]);
    const script =
      'import json, sys\nfor b, a in json.load(sys.stdin):\n    ok = []\n    for s in (b, a):\n        try:\n            compile(s, "case.py", "exec"); ok.append(True)\n        except (SyntaxError, ValueError):\n            ok.append(False)\n    print(json.dumps(ok))\n';
    const py = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(pairs), encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.equal(py.status, 0, py.stderr);
    const results = py.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as [boolean, boolean]);
    assert.equal(results.length, sample.length);
    results.forEach(([b, a], i) =>
      assert.ok(!b || a, `${path.basename(sample[i])} compiled before the rewrite and not after:\n${pairs[i][1]}`),
    );
    t.diagnostic(
      `${sample.length} rewritten files compiled by ${spawnSync(PYTHON, ['--version'], { encoding: 'utf8' }).stdout.trim()}: ${results.filter(([b]) => b).length} compiled before, all of those after`,
    );
  },
);
