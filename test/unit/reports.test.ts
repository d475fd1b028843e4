/**
 * The command's output on every fixture, on the examples and on the generated benchmark corpus
 * (bench/corpus.mjs) stays byte-identical to a stored expectation: a refactoring that is meant to
 * change nothing is checked to change nothing. Per input set, test/unit/reports/<set>.txt holds one
 * line per file: a hash of its `report --json` entry, a hash of its `apply --diff` patch, and a short
 * summary of each layer (where, op, convertible, params before → after) so that a change reads as a
 * diff. On a mismatch the test prints, per file, the summary lines that changed and the file's
 * current entry. `UPDATE=1` rewrites the expectations (review the diff, as for test/oracle/floor.ts).
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { initParsing } from '../../src/analysis/parsing';
import type { LayerJson } from '../../src/analysis/report';
import { cli, ROOT, tempDir, UPDATE } from '../helpers';

const EXPECTED = path.join(ROOT, 'test', 'unit', 'reports');

interface Entry {
  path: string;
  error: string | null;
  layers: LayerJson[];
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** `12:9 Conv2d yes 1179648->133376`, or `no` with a few words of the reason */
function layerSummary(l: LayerJson): string {
  const where = `${l.cell ? `c${l.cell}:` : ''}${l.line}:${l.column}`;
  const params = `${l.params.before ?? '?'}->${l.params.after ?? '?'}`;
  return `${where} ${l.op} ${l.convertible ? 'yes' : 'no'} ${params}`;
}

/** One line per file of `root`: `path<TAB>report hash<TAB>diff hash<TAB>layers`, sorted by path. */
async function snapshot(root: string): Promise<{ lines: Map<string, string>; entries: Map<string, string> }> {
  const rel = (s: string) =>
    s
      .split(root + path.sep)
      .join('')
      .split(root)
      .join('.');
  const report = await cli('report', '--json', root);
  assert.ok(report.code === 0 || report.code === 2, report.stderr);
  const json = JSON.parse(report.stdout) as { files: Entry[]; totals: unknown };
  const apply = await cli('apply', '--diff', root);
  // the patches, one per file: each starts with a line of `=` and names the file on its `---` line
  const patches = new Map<string, string>();
  for (const p of apply.stdout.split(/^(?====================================================================$)/m)) {
    const name = /^--- (.*)$/m.exec(p)?.[1];
    if (name) patches.set(rel(name), rel(p));
  }
  const lines = new Map<string, string>();
  const entries = new Map<string, string>();
  for (const f of json.files) {
    const name = rel(f.path);
    const entry = rel(JSON.stringify(f, null, 2));
    entries.set(name, entry);
    const patch = patches.get(name);
    patches.delete(name);
    const layers = f.layers.map(layerSummary).join(' | ');
    lines.set(
      name,
      `${name}\t${hash(entry)}\t${patch === undefined ? '-' : hash(patch)}\t${f.error ? `error: ${f.error.slice(0, 40)}` : layers}`,
    );
  }
  assert.deepEqual([...patches.keys()], [], 'every patch names a file of the report');
  lines.set('(totals)', `(totals)\t${hash(JSON.stringify(json.totals))}\t-\t${JSON.stringify(json.totals)}`);
  // the command's messages (skipped layers, refused rewrites), in the order it printed them
  lines.set('(stderr)', `(stderr)\t${hash(rel(report.stderr) + '\n' + rel(apply.stderr))}\t-\t${apply.code}`);
  return { lines, entries };
}

function compare(set: string, root: string, now: { lines: Map<string, string>; entries: Map<string, string> }): void {
  const file = path.join(EXPECTED, `${set}.txt`);
  const text =
    [...now.lines.keys()]
      .sort()
      .map((k) => now.lines.get(k))
      .join('\n') + '\n';
  if (UPDATE) {
    fs.mkdirSync(EXPECTED, { recursive: true });
    fs.writeFileSync(file, text);
    return;
  }
  assert.ok(fs.existsSync(file), `${file} is missing: UPDATE=1 writes it`);
  const stored = new Map(
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.split('\t')[0], l] as const),
  );
  const problems: string[] = [];
  for (const [name, line] of now.lines) {
    const old = stored.get(name);
    stored.delete(name);
    if (old === line) continue;
    if (old === undefined) problems.push(`+ ${line}`);
    else problems.push(`- ${old}`, `+ ${line}`);
    const entry = now.entries.get(name);
    if (entry) problems.push(`  its entry now (${root}):`, ...entry.split('\n').map((l) => `    ${l}`));
  }
  for (const old of stored.values()) problems.push(`- ${old}  (no longer reported)`);
  assert.equal(problems.length, 0, `the ${set} report changed (UPDATE=1 accepts it after review):\n${problems.join('\n')}`);
}

before(async () => {
  await initParsing();
});

for (const [set, dir] of [
  ['fixtures', 'test/fixtures'],
  ['examples', 'examples'],
] as const) {
  void test(`the report and the rewrite of ${dir} are unchanged`, async () => {
    const root = path.join(ROOT, dir);
    compare(set, dir, await snapshot(root));
  });
}

void test('the report and the rewrite of the generated benchmark corpus are unchanged', async () => {
  const root = tempDir('sepconv-corpus-');
  try {
    const { buildCorpus } = (await import(path.join(ROOT, 'bench', 'corpus.mjs'))) as { buildCorpus: (dir: string) => unknown };
    buildCorpus(root);
    compare('corpus', 'bench/corpus.mjs', await snapshot(root));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
