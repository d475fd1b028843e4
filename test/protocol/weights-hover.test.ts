/**
 * `sepconv.weights.checkpoint` through the protocol: a checkpoint saved by real PyTorch (Debian's
 * python3-torch, /usr/bin/python3, test/oracle/weights_probe.py), the hover of each conv call site
 * of test/fixtures/weights/net.py (a plain conv, a helper building four modules, a grouped conv, a
 * Conv1d). The hover says `weights: loading…` until the server's reader thread has read the file
 * (its log says when), then shows per module K, the energy kept, the relative error, params and
 * MACs: the same numbers `sepconv report --weights` prints for that file and checkpoint, and an
 * energy and error equal to torch.linalg.svd's. The checkpoint is read once (a new setting that
 * keeps it reads nothing), again when it changes on disk; a refused pickle (nothing runs), a
 * missing key and a missing file are one short reason in the hover.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { MarkupContent } from 'vscode-languageserver-protocol';
import { cli, ROOT, tempDir } from '../helpers';
import { positionOf, TestClient } from './lsp';
import type { ModuleResult } from '../../src/weights/convert';

const PYTHON = '/usr/bin/python3';
const PROBE = path.join(ROOT, 'test', 'oracle', 'weights_probe.py');
const NET = path.join(ROOT, 'test', 'fixtures', 'weights', 'net.py');

/** One module of `report --weights --json` (the core's own type). */
type ModuleJson = ModuleResult;

interface Row {
  key: string;
  k: string;
  energy: string;
  error: string;
  params: string;
  macs: string;
}

function probe<T>(jobs: object[]): T[] {
  return JSON.parse(execFileSync(PYTHON, [PROBE], { input: JSON.stringify(jobs), encoding: 'utf8' })) as T[];
}

const markdown = (h: { contents: unknown } | null) => (h?.contents as MarkupContent | undefined)?.value ?? '';

/** The rows of the hover's weights table. */
function rows(card: string): Row[] {
  const out: Row[] = [];
  for (const m of card.matchAll(/^\| `([\w.]+)` \| (\d+\/\d+) \| ([\d.]+%) \| ([\d.e+-]+) \| ([^|]+) \| ([^|]+) \|$/gm)) {
    out.push({ key: m[1], k: m[2], energy: m[3], error: m[4], params: m[5].trim(), macs: m[6].trim() });
  }
  return out;
}

/** The call sites of net.py: the stem, the helper conv3x3 (four modules), the grouped conv, the Conv1d. */
const SITES = ['nn.Conv2d(3, 16', 'nn.Conv2d(cin, cout', 'nn.Conv2d(32, 48', 'nn.Conv1d(48'];

void test('the hover shows, per module, what report --weights prints for the same checkpoint', async (t) => {
  const dir = tempDir('sepconv-hover-weights-');
  const code = path.join(dir, 'net.py');
  fs.copyFileSync(NET, code);
  const text = fs.readFileSync(code, 'utf8');
  const ckpt = path.join(dir, 'net.pt');
  const missing = path.join(dir, 'missing.pt');
  const evil = path.join(dir, 'evil.pt');
  const marker = path.join(dir, 'PWNED');
  probe([
    { op: 'save', file: NET, build: 'Net()', out: ckpt, seed: 7 },
    { op: 'save', file: NET, build: 'Net()', out: missing, drop: 'grouped.weight' },
    { op: 'evil', out: evil, marker },
  ]);
  const uri = pathToFileURL(code).href;
  // relative: without workspace folders, under the document's folder
  const c = await TestClient.start({ settings: { weights: { checkpoint: 'net.pt', energy: 0 } } });
  const hoverAll = async () => {
    const cards: string[] = [];
    for (const s of SITES) {
      const p = positionOf(text, s);
      cards.push(markdown(await c.hover(uri, p.line, p.character + 4)));
    }
    return cards;
  };
  try {
    await c.open(uri, text);
    const stem = positionOf(text, SITES[0]);
    const first = markdown(await c.hover(uri, stem.line, stem.character + 4));
    assert.match(first, /weights: loading… \(reading the checkpoint: `net\.pt`\)/);
    assert.match(await c.waitForLog(/read checkpoint .*net\.pt/), /: 32 tensors, 7 conv weights factored/);

    for (const [name, settings, args] of [
      ['K = 1 (sepconv.depthMultiplier)', { checkpoint: 'net.pt', energy: 0 }, ['--depth-multiplier', '1']],
      ['K by energy 0.9', { checkpoint: ckpt, energy: 0.9 }, ['--energy', '0.9']],
    ] as const) {
      await t.test(name, async () => {
        await c.configure({ weights: settings });
        const cards = await hoverAll();
        const shown = cards.flatMap(rows);
        const report = await cli('report', code, '--weights', ckpt, '--json', ...args);
        assert.equal(report.code, 0, report.stderr);
        const modules = (JSON.parse(report.stdout.slice(report.stdout.indexOf('{'))) as { modules: ModuleJson[] }).modules;
        const lines = (await cli('report', code, '--weights', ckpt, ...args)).stdout.split('\n');
        // every module of the report is in the hover of its call site, once; the helper's site shows four
        assert.deepEqual(shown.map((r) => r.key).sort(), modules.map((m) => m.key).sort());
        assert.deepEqual(
          cards.map((card) => rows(card).length),
          [1, 4, 1, 1],
        );
        const count = (p: { before: number; after: number } | null) =>
          p ? `${p.before.toLocaleString('en-US')} → ${p.after.toLocaleString('en-US')}` : '?';
        for (const r of shown) {
          const m = modules.find((x) => x.key === r.key)!;
          assert.deepEqual(
            r,
            {
              key: m.key,
              k: `${m.k}/${m.fullRank}`,
              energy: `${(m.energy * 100).toFixed(4)}%`,
              error: m.error.toExponential(3),
              params: count(m.params),
              macs: count(m.macs),
            },
            r.key,
          );
          // the text report's line: the same K, params and MACs
          const line = lines.find((l) => l.trim().startsWith(`${m.key}  `))!;
          assert.match(
            line,
            new RegExp(
              `K=${m.k}/${m.fullRank} .*params ${m.params!.before} -> ${m.params!.after}  MACs ${m.macs!.before} -> ${m.macs!.after}`,
            ),
          );
        }
        // and torch.linalg.svd's energy and error at each module's K
        const [svd] = probe<{ key: string; k: number; energy: number; error: number }[]>([
          { op: 'svd', file: NET, build: 'Net()', ckpt, svd: shown.map((r) => [r.key, Number(r.k.split('/')[0])]) },
        ]);
        for (const s of svd) {
          const r = shown.find((x) => x.key === s.key)!;
          assert.ok(Math.abs(Number(r.energy.slice(0, -1)) / 100 - s.energy) <= 1e-6, `${s.key}: energy ${r.energy} vs torch ${s.energy}`);
          assert.ok(Math.abs(Number(r.error) - s.error) <= 5e-4 * s.error, `${s.key}: error ${r.error} vs torch ${s.error}`);
        }
        if (settings.energy)
          assert.ok(
            shown.some((r) => !r.k.startsWith('1/')),
            'energy 0.9 gives some layer K > 1',
          );
        t.diagnostic(`${name}: ${shown.map((r) => `${r.key} K=${r.k} ${r.energy}`).join(', ')}`);
      });
    }

    await t.test('read once per size and modification time', async () => {
      assert.equal(c.logs.filter((l) => /read checkpoint/.test(l)).length, 1, 'read again for a new setting');
      const later = new Date(Date.now() + 5000);
      fs.utimesSync(ckpt, later, later);
      assert.match(markdown(await c.hover(uri, stem.line, stem.character + 4)), /weights: loading…/);
      await c.waitForLog(/read checkpoint .*net\.pt/, 1);
      assert.equal(rows(markdown(await c.hover(uri, stem.line, stem.character + 4))).length, 1);
    });

    await t.test('errors are one short reason in the hover', async () => {
      await c.configure({ weights: { checkpoint: evil } });
      assert.match(markdown(await c.hover(uri, stem.line, stem.character + 4)), /weights: loading…/);
      await c.waitForLog(/cannot read checkpoint .*evil\.pt/);
      const refused = markdown(await c.hover(uri, stem.line, stem.character + 4));
      assert.match(refused, /^weights \(`evil\.pt`\): refused: .*posix\.system.*nothing was executed/m);
      assert.equal(fs.existsSync(marker), false, 'the payload ran');

      await c.configure({ weights: { checkpoint: missing } });
      assert.match(markdown(await c.hover(uri, stem.line, stem.character + 4)), /weights: loading…/);
      await c.waitForLog(/read checkpoint .*missing\.pt/);
      const card = markdown(await c.hover(uri, stem.line, stem.character + 4));
      assert.match(card, /^weights \(`missing\.pt`\): the checkpoint does not match the converted code: grouped\.weight is missing$/m);
      assert.equal(rows(card).length, 0);

      await c.configure({ weights: { checkpoint: path.join(dir, 'nowhere.pt') } });
      assert.match(markdown(await c.hover(uri, stem.line, stem.character + 4)), /^weights \(`nowhere\.pt`\): no such file: /m);
      assert.ok(c.alive);
    });
  } finally {
    await c.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
