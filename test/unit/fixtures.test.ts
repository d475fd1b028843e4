/**
 * Before/after fixtures: test/fixtures/<framework>/<case>/input.<ext> with expected.<ext> (the file
 * after `sepconv apply`), report.json (`sepconv report --json`, path made relative) and an optional
 * case.json {"args": [...extra CLI flags]}. `UPDATE=1 npm run test:unit` rewrites the expectations.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { initParsing, languageForPath, parse } from '../../src/analysis/parsing';
import { cli, ROOT, tempDir, UPDATE } from '../helpers';

const FIXTURES = path.join(ROOT, 'test', 'fixtures');

/** the fixtures per framework: one added (or lost) changes these on purpose */
const COUNTS: Record<string, number> = { pytorch: 58, tfjs: 38 };

function cases(): { framework: string; name: string; dir: string; input: string }[] {
  const out = [];
  for (const framework of Object.keys(COUNTS)) {
    const base = path.join(FIXTURES, framework);
    for (const name of fs.readdirSync(base).sort()) {
      const dir = path.join(base, name);
      const input = fs.readdirSync(dir).find((f) => f.startsWith('input.'));
      assert.ok(input, `${path.relative(ROOT, dir)} has no input.<ext>`);
      out.push({ framework, name, dir, input });
    }
  }
  return out;
}

function expectFile(file: string, actual: string): void {
  if (UPDATE || !fs.existsSync(file)) {
    fs.writeFileSync(file, actual);
    if (!UPDATE) assert.fail(`${path.relative(ROOT, file)} did not exist; written now, review it`);
    return;
  }
  assert.equal(actual, fs.readFileSync(file, 'utf8'), `${path.relative(ROOT, file)} differs (UPDATE=1 rewrites it)`);
}

function parsesCleanly(file: string, text: string): void {
  const tree = parse(languageForPath(file)!, text);
  try {
    assert.equal(tree.rootNode.hasError, false, `${file} has syntax errors after the rewrite`);
  } finally {
    tree.delete();
  }
}

void test('fixtures', async (t) => {
  await initParsing();
  const all = cases();
  for (const [framework, n] of Object.entries(COUNTS))
    assert.equal(all.filter((c) => c.framework === framework).length, n, `${framework} fixtures`);
  for (const c of all) {
    await t.test(`${c.framework}/${c.name}`, async () => {
      const caseFile = path.join(c.dir, 'case.json');
      const extra: string[] = fs.existsSync(caseFile) ? (JSON.parse(fs.readFileSync(caseFile, 'utf8')) as { args: string[] }).args : [];
      const ext = path.extname(c.input);
      const work = tempDir();
      const file = path.join(work, c.input);
      const original = fs.readFileSync(path.join(c.dir, c.input), 'utf8');
      fs.writeFileSync(file, original);

      const report = await cli('report', file, '--json', ...extra);
      assert.equal(report.code, 0, report.stderr);
      const json = JSON.parse(report.stdout) as { files: { path: string }[] };
      for (const f of json.files) f.path = path.basename(f.path);
      expectFile(path.join(c.dir, 'report.json'), JSON.stringify(json, null, 2) + '\n');

      const apply = await cli('apply', file, ...extra);
      const expectedFile = path.join(c.dir, `expected${ext}`);
      const rewritten = fs.readFileSync(file, 'utf8');
      const hasSyntaxError = json.files.some((f) => (f as unknown as { error: string | null }).error);
      if (hasSyntaxError) {
        assert.equal(apply.code, 1, 'a file with syntax errors must be refused');
        assert.equal(rewritten, original, 'a file with syntax errors must never be written');
        return;
      }
      assert.equal(apply.code, 0, apply.stderr);
      expectFile(expectedFile, rewritten);
      parsesCleanly(file, rewritten);

      // applying twice changes nothing the second time
      await cli('apply', file, ...extra);
      assert.equal(fs.readFileSync(file, 'utf8'), rewritten, 'a second apply changed the file');
      fs.rmSync(work, { recursive: true, force: true });
    });
  }
});
