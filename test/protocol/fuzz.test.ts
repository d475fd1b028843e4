/**
 * Fuzzing the language server with broken versions of real model files (issue #12): the installed
 * torchvision models (read in place, when Debian's python3-torchvision is there) and the repo's
 * fixtures are opened and edited at random (deletions, duplications, bracket flips) through
 * incremental `didChange`s, with hovers, inlay hints, code actions and lenses asked for in between
 * and while the edits go on. Fixed seed, bounded number of cases and wall time. Every request must
 * be answered (a result, never an error) within the bound, and the server must survive.
 *
 * FUZZ_SEED, FUZZ_CASES and FUZZ_SECONDS change the seed and the bounds (CI runs the defaults).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { ROOT } from '../helpers';
import { TestClient } from './lsp';
import { rng } from '../hostile/fuzz';

const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const MAX_CASES = Number(process.env.FUZZ_CASES ?? 2000);
/** no case starts after this; each case's requests must then answer within HANG_MS */
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 150);
const HANG_MS = 30_000;

/** Real model files: torchvision's models (read where Debian installed them) and the repo's fixtures. */
function modelFiles(): string[] {
  const out: string[] = [];
  const py = spawnSync('/usr/bin/python3', ['-c', 'import torchvision, os; print(os.path.dirname(torchvision.__file__))'], {
    encoding: 'utf8',
  });
  const tv = py.status === 0 ? path.join(py.stdout.trim(), 'models') : undefined;
  if (tv && fs.existsSync(tv)) {
    for (const f of fs.readdirSync(tv).sort()) if (f.endsWith('.py') && !f.startsWith('_')) out.push(path.join(tv, f));
  }
  for (const dir of ['test/fixtures/shapes', 'test/fixtures/pytorch']) {
    for (const c of fs.readdirSync(path.join(ROOT, dir)).sort()) {
      for (const f of ['model.py', 'input.py']) {
        const p = path.join(ROOT, dir, c, f);
        if (fs.existsSync(p)) out.push(p);
      }
    }
  }
  return out;
}

const BRACKETS = '()[]{}';

/** One random edit of `doc`: a deletion, a duplication of some lines, or a bracket turned into another. */
function mutation(
  rand: () => number,
  doc: TextDocument,
): { range: { start: { line: number; character: number }; end: { line: number; character: number } }; text: string } {
  const text = doc.getText();
  const at = Math.floor(rand() * (text.length + 1));
  const kind = rand();
  if (kind < 0.35) {
    const end = Math.min(text.length, at + 1 + Math.floor(rand() * 120));
    return { range: { start: doc.positionAt(at), end: doc.positionAt(end) }, text: '' };
  }
  if (kind < 0.7) {
    const lines = text.split('\n');
    const from = Math.floor(rand() * lines.length);
    const block = lines.slice(from, from + 1 + Math.floor(rand() * 12)).join('\n') + '\n';
    const line = Math.floor(rand() * (lines.length + 1));
    return { range: { start: { line, character: 0 }, end: { line, character: 0 } }, text: block };
  }
  // a bracket near `at` becomes another one
  let i = at;
  while (i < text.length && !BRACKETS.includes(text[i])) i++;
  if (i >= text.length) i = Math.max(0, Math.min(text.length - 1, at));
  const repl = BRACKETS[Math.floor(rand() * BRACKETS.length)];
  return { range: { start: doc.positionAt(i), end: doc.positionAt(Math.min(text.length, i + 1)) }, text: repl };
}

let c: TestClient;
before(async () => {
  c = await TestClient.start({ limits: { timeMs: 1000 } });
});
after(() => c.stop());

void test(`random edits of real model files through the server (seed ${SEED}): every request answered, no crash`, async (t) => {
  const files = modelFiles();
  assert.ok(files.length > 10, 'model files to fuzz');
  const rand = rng(SEED);
  const start = performance.now();
  let cases = 0;
  let requests = 0;
  for (; cases < MAX_CASES && performance.now() - start < SECONDS * 1000; cases++) {
    const file = files[Math.floor(rand() * files.length)];
    const uri = `file:///fuzz/case${cases}/${path.basename(file)}`;
    /** what this case sent, for the reproduction a hang leaves behind */
    const log: string[] = [];
    const versions: string[] = [];
    const runCase = async () => {
      await c.open(uri, fs.readFileSync(file, 'utf8'));
      const pending: Promise<unknown>[] = [];
      const ask = () => {
        const doc = c.docs.get(uri)!;
        const p = doc.positionAt(Math.floor(rand() * (doc.getText().length + 1)));
        const what = rand();
        const kind = what < 0.35 ? 'hover' : what < 0.65 ? 'inlayHints' : what < 0.9 ? 'codeActions' : 'codeLens';
        const request =
          kind === 'hover'
            ? c.hover(uri, p.line, p.character)
            : kind === 'inlayHints'
              ? c.inlayHints(uri, { start: { line: Math.max(0, p.line - 20), character: 0 }, end: { line: p.line + 40, character: 0 } })
              : kind === 'codeActions'
                ? c.codeActions(uri, p.line, p.character)
                : c.codeLens(uri);
        pending.push(request);
        log.push(`${kind} ${p.line}:${p.character} on version ${doc.version}`);
        requests++;
      };
      const edits = 1 + Math.floor(rand() * 6);
      for (let e = 0; e < edits; e++) {
        await c.change(uri, [mutation(rand, c.docs.get(uri)!)]);
        versions.push(c.docs.get(uri)!.getText());
        const asks = Math.floor(rand() * 3);
        for (let a = 0; a < asks; a++) ask();
        // sometimes wait for the answers before the next edit, sometimes edit on while they are pending
        if (rand() < 0.3) await Promise.all(pending);
      }
      ask();
      await Promise.all(pending);
      await c.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
    };
    // the whole case is bounded: a server stuck in a loop stops reading, and then even an edit never completes
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const dump = path.join(os.tmpdir(), `sepconv-fuzz-hang-${SEED}-${cases}`);
        fs.mkdirSync(dump, { recursive: true });
        versions.forEach((text, i) => fs.writeFileSync(path.join(dump, `edit${i + 1}.py`), text));
        reject(
          new Error(
            `case ${cases} (${file}): unanswered after ${HANG_MS / 1000} s; every edited version is in ${dump}; asked:\n${log.join('\n')}`,
          ),
        );
      }, HANG_MS);
    });
    try {
      // a rejected request (an error from the server) fails the case as a hang does
      await Promise.race([runCase(), hang]);
    } finally {
      clearTimeout(timer);
    }
  }
  assert.ok(c.alive, 'the server survived');
  // thousands of cases, unless the machine is so slow that the wall-time bound ends it first
  assert.ok(cases >= Math.min(MAX_CASES, 500), `only ${cases} cases ran`);
  t.diagnostic(`${cases} cases over ${files.length} files, ${requests} requests, ${((performance.now() - start) / 1000).toFixed(1)} s`);
});
