/**
 * The server's editor-free parts: settings against package.json, the per-version tree cache
 * (incremental parses equal full ones; evicted trees are deleted), and notebook units.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import type { Tree } from 'web-tree-sitter';
import manifest from '../../package.json';
import { analyzeText } from '../../src/analysis/analyze';
import { defaultOptions } from '../../src/analysis/options';
import { initParsing, parse } from '../../src/analysis/parsing';
import { DocumentStore } from '../../src/server/documents';
import {
  analysisOptions,
  declaredSettings,
  defaultSettings,
  parseSettings,
  SETTING_PARSERS,
  settingsTable,
} from '../../src/server/settings';
import { TreeCache } from '../../src/server/trees';
import { ROOT, UPDATE } from '../helpers';

before(() => initParsing());

void test('every setting in package.json has a typed parser, a markdownDescription and a valid default, and no other exists', () => {
  const declared = declaredSettings();
  assert.deepEqual(Object.keys(declared).sort(), Object.keys(SETTING_PARSERS).sort());
  for (const [key, schema] of Object.entries(declared)) {
    assert.ok(schema.markdownDescription && schema.markdownDescription.length > 20, `sepconv.${key} needs a markdownDescription`);
    const parsed = parseSettings({ [key]: schema.default });
    assert.deepEqual(parsed.problems, [], `the default of sepconv.${key} passes its parser`);
    assert.deepEqual(parsed.settings[key as keyof typeof SETTING_PARSERS], schema.default);
    // an enum's values are exactly what the parser accepts
    for (const v of schema.enum ?? []) assert.deepEqual(parseSettings({ [key]: v }).problems, [], `sepconv.${key}: ${v}`);
    if (schema.enum) assert.equal(parseSettings({ [key]: 'not-a-value' }).problems.length, 1);
  }
});

void test('the README settings table is the one generated from package.json (UPDATE=1 rewrites it)', () => {
  const file = path.join(ROOT, 'README.md');
  const readme = fs.readFileSync(file, 'utf8');
  const start = readme.indexOf('<!-- settings:start');
  const end = readme.indexOf('<!-- settings:end -->');
  assert.ok(start >= 0 && end > start, 'README.md has the settings:start and settings:end markers');
  const from = readme.indexOf('-->', start) + 3;
  const table = `\n${settingsTable()}\n`;
  if (UPDATE) fs.writeFileSync(file, readme.slice(0, from) + table + readme.slice(end));
  else assert.equal(readme.slice(from, end), table);
});

void test('settings parse nested (VS Code) and flat (other clients) forms; invalid values fall back to the default', () => {
  const { settings, problems } = parseSettings({
    inlayHints: { enabled: false, unit: 'FLOPs' },
    'codeLens.enabled': false,
    minSavings: 1.5,
    depthMultiplier: 2,
    inputSize: ['32x32', '16000'],
    assumptions: { features: 64 },
  });
  assert.equal(settings['inlayHints.enabled'], false);
  assert.equal(settings['inlayHints.unit'], 'FLOPs');
  assert.equal(settings['codeLens.enabled'], false);
  assert.equal(settings.minSavings, 0);
  assert.deepEqual(problems, ['sepconv.minSavings: 1.5 is not valid; using 0']);
  assert.deepEqual(
    analysisOptions(settings),
    defaultOptions({ inputSizes: { 2: [32, 32], 1: [16000] }, assumptions: { features: 64 }, depthMultiplier: 2, countBiasAdds: false }),
  );
  assert.deepEqual(parseSettings({ depthMultiplier: 1.5, inputSize: ['big'], assumptions: { x: 'y' } }).problems.length, 3);
  assert.deepEqual(defaultSettings(), parseSettings(undefined).settings);
});

void test('the manifest is the extension manifest: engine, entry, activation, trust and no editor newer than 1.100', () => {
  assert.equal(manifest.engines.vscode, '^1.95.0');
  assert.equal(manifest.main, './dist/extension.js');
  // untrusted: a checkpoint path or an interpreter from the workspace's settings is not used (the user's setting is)
  assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, [
    'sepconv.weights.checkpoint',
    'sepconv.pythonPath',
  ]);
  // an interpreter is a machine's: settable per machine and overridable by a workspace (when trusted)
  assert.equal(manifest.contributes.configuration.properties['sepconv.pythonPath'].scope, 'machine-overridable');
  assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.equal(manifest.capabilities.virtualWorkspaces, true);
  assert.ok(
    manifest.activationEvents.every((e) =>
      /^onLanguage:(python|javascript|javascriptreact|typescript|typescriptreact)$|^onNotebook:jupyter-notebook$/.test(e),
    ),
  );
  assert.equal(manifest.devDependencies['@types/vscode'], '1.95.0');
});

void test('countBiasAdds adds one MAC per output element of a biased conv, before and after', () => {
  const text = 'import torch.nn as nn\nc = nn.Conv2d(64, 128, 3, padding=1)\n';
  const input = { 2: [32, 32] };
  const plain = analyzeText(text, 'python', defaultOptions({ inputSizes: input })).layers[0].cost.macs;
  const withBias = analyzeText(text, 'python', defaultOptions({ inputSizes: input, countBiasAdds: true })).layers[0].cost.macs;
  assert.equal(withBias.before!.constant! - plain.before!.constant!, 128 * 32 * 32);
  assert.equal(withBias.after!.constant! - plain.after!.constant!, 128 * 32 * 32);
});

const MODEL = `import torch.nn as nn

class Net(nn.Module):
    def __init__(self, w=64):
        super().__init__()
        self.a = nn.Conv2d(3, w, 3)  # é😀 wide characters shift UTF-16 columns
        self.b = nn.Conv2d(w, w * 2, 3, padding=1)
`;

/** A deterministic sequence of edits: inserts, deletes and replacements, some multi-line. */
function* edits(text: string, n: number): Generator<{ start: number; end: number; insert: string }> {
  let seed = 7;
  const rnd = (k: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % k;
  };
  const pieces = ['x', '\n', ' = nn.Conv2d(8, 16, 3)', '😀', '(', ')', '\n        self.c = nn.Conv2d(4, 4, 5)\n', ''];
  // never between the two halves of a surrogate pair
  const boundary = (i: number) => (/[\uDC00-\uDFFF]/.test(text[i] ?? '') ? i - 1 : i);
  for (let i = 0; i < n; i++) {
    const start = boundary(rnd(text.length + 1));
    const end = Math.max(start, boundary(Math.min(text.length, start + rnd(6))));
    const e = { start, end, insert: pieces[rnd(pieces.length)] };
    text = text.slice(0, e.start) + e.insert + text.slice(e.end);
    yield e;
  }
}

void test('incremental reparses through the document store give the same tree as parsing from scratch', () => {
  const trees = new TreeCache();
  const store = new DocumentStore(trees);
  const uri = 'file:///m.py';
  store.open(uri, 'python', 1, MODEL);
  let version = 1;
  for (const e of edits(MODEL, 200)) {
    const doc = store.get(uri)!;
    store.change(uri, ++version, [{ range: { start: doc.positionAt(e.start), end: doc.positionAt(e.end) }, text: e.insert }]);
    if (version % 5 !== 0) continue; // several edits between two parses, as when typing fast
    const unit = store.unitFor(uri)!;
    const fresh = parse('python', unit.text);
    try {
      assert.equal(trees.tree(unit).rootNode.toString(), fresh.rootNode.toString(), `after edit ${version}`);
    } finally {
      fresh.delete();
    }
  }
  assert.ok(trees.stats.incrementalParses >= 39, `incremental: ${trees.stats.incrementalParses}, full: ${trees.stats.fullParses}`);
  assert.equal(trees.stats.fullParses, 1);
});

void test('an unchanged document is parsed and analysed once; options changes reanalyse without reparsing', () => {
  const trees = new TreeCache();
  const store = new DocumentStore(trees);
  store.open('file:///a.py', 'python', 1, MODEL);
  const unit = store.unitFor('file:///a.py')!;
  const opts = analysisOptions(defaultSettings());
  const first = trees.analysis(unit, opts);
  for (let i = 0; i < 5; i++) assert.equal(trees.analysis(store.unitFor('file:///a.py')!, opts), first);
  trees.analysis(unit, { ...opts, depthMultiplier: 2 });
  assert.deepEqual(trees.stats, { fullParses: 1, incrementalParses: 0, analyses: 2, evicted: 0, layersKept: 0, focused: 0, reached: 0 });
});

void test('the LRU deletes the trees it evicts, and closing a document deletes its tree', () => {
  const trees = new TreeCache(3);
  const store = new DocumentStore(trees);
  const held: Tree[] = [];
  for (let i = 0; i < 5; i++) {
    store.open(`file:///${i}.py`, 'python', 1, MODEL);
    held.push(trees.tree(store.unitFor(`file:///${i}.py`)!));
  }
  assert.equal(trees.size, 3);
  assert.equal(trees.stats.evicted, 2);
  // a deleted tree has no root any more (web-tree-sitter frees the WASM memory)
  const alive = (t: Tree) => {
    try {
      return t.rootNode.type === 'module';
    } catch {
      return false;
    }
  };
  assert.deepEqual(held.map(alive), [false, false, true, true, true]);
  store.close('file:///4.py');
  assert.equal(alive(held[4]), false);
  assert.equal(trees.size, 2);
  trees.dispose();
  assert.equal(trees.size, 0);
});

void test('a notebook unit joins its Python cells in order, neutralises magics and maps cells back', () => {
  const trees = new TreeCache();
  const store = new DocumentStore(trees);
  const cells = ['cell:0', 'cell:1', 'cell:2'];
  store.openNotebook('file:///n.ipynb', 1, cells);
  store.open('cell:0', 'python', 1, '!pip install torch\nimport torch.nn as nn');
  store.open('cell:1', 'markdown', 1, '# Title');
  store.open('cell:2', 'python', 1, 'c = nn.Conv2d(8, 16, 3)');
  const unit = store.unitFor('cell:2')!;
  assert.equal(unit.text, '#pip install torch\nimport torch.nn as nn\nc = nn.Conv2d(8, 16, 3)');
  assert.deepEqual(
    unit.segments.map((s) => [s.uri, s.start, s.end]),
    [
      ['cell:0', 0, 40],
      ['cell:2', 41, 64],
    ],
  );
  assert.equal(store.unitFor('cell:0')!.key, 'file:///n.ipynb');
  // an edit in cell 0 is an incremental edit of the joined text
  trees.tree(unit);
  store.change('cell:0', 2, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } }, text: '%' }]);
  const next = store.unitFor('cell:2')!;
  assert.equal(next.text, unit.text);
  assert.notEqual(next.version, unit.version);
  const fresh = parse('python', next.text);
  assert.equal(trees.tree(next).rootNode.toString(), fresh.rootNode.toString());
  fresh.delete();
  assert.equal(trees.stats.incrementalParses, 1);
  // removing a cell restructures the unit
  store.spliceCells('file:///n.ipynb', 2, 0, 1, []);
  assert.equal(store.unitFor('cell:2')!.text, 'c = nn.Conv2d(8, 16, 3)');
  store.closeNotebook('file:///n.ipynb');
  assert.equal(store.notebookOf('cell:2'), undefined);
});

void test('bin/sepconv-lsp.js starts node with the environment and flags package.json gives the server; bin/sepconv.js without the same variables', () => {
  const first = (bin: string) => fs.readFileSync(path.join(ROOT, 'bin', bin), 'utf8').split('\n')[0];
  const unset = manifest.sepconvServer.unset.map((name) => `-u ${name}`).join(' ');
  const env = Object.entries(manifest.sepconvServer.env).map(([k, v]) => `${k}=${v}`);
  assert.equal(first('sepconv-lsp.js'), `#!/usr/bin/env -S ${unset} ${env.join(' ')} node ${manifest.sepconvServer.nodeFlags.join(' ')}`);
  assert.equal(first('sepconv.js'), `#!/usr/bin/env -S ${unset} node`);
});

void test('bin/sepconv.js run as a program leaves NODE_EXTRA_CA_CERTS out of its environment (Node would read the bundle at start)', () => {
  // Node warns on stderr when the bundle it was told to read is missing: run as a program, it is never told
  const ca = { ...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' };
  const direct = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'sepconv.js'), '--help'], { encoding: 'utf8', env: ca });
  assert.match(direct.stderr, /extra certs/, 'the check sees the variable when it is passed');
  const run = spawnSync(path.join(ROOT, 'bin', 'sepconv.js'), ['--help'], { encoding: 'utf8', env: ca });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /sepconv report/);
  assert.doesNotMatch(run.stderr, /extra certs/);
});
