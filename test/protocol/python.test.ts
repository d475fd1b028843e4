/**
 * The server reads imported names from the packages of the Python environment it is given: the
 * interpreter the client chose (`initializationOptions.python`, then `sepconv/pythonInterpreter`
 * notifications), else `sepconv.pythonPath`. Interpreters here are small scripts that answer the
 * sys.path question with a folder of the test (one holding a package, one empty), so that what the
 * analysis finds says which interpreter it asked.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MarkupContent } from 'vscode-languageserver-protocol';
import { formatCount } from '../../src/analysis/report';
import { PythonInterpreterNotification, ServerCommands, type ReportResult } from '../../src/server/protocol';
import { tempDir } from '../helpers';
import { TestClient } from './lsp';

const BLOCK = `import torch.nn as nn


class Stage(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)
`;

const USER = `import torch.nn as nn
from stagekit.blocks import Stage


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stage = Stage(3, 32)
        self.head = nn.Conv2d(32, 64, 3, padding=1)

    def forward(self, x):
        return self.head(self.stage(x))
`;

/** An interpreter that answers sys.path with `folder` (and writes each question to `log`). */
function interpreter(dir: string, name: string, folder: string): string {
  const file = path.join(dir, name);
  const answer = JSON.stringify({ path: ['', folder], stdlib: [], names: ['sys', 'os'] });
  fs.writeFileSync(file, `#!/bin/sh\necho asked >> "${file}.log"\necho '${answer}'\n`, { mode: 0o755 });
  return file;
}

const asked = (python: string) => (fs.existsSync(`${python}.log`) ? fs.readFileSync(`${python}.log`, 'utf8').split('\n').length - 1 : 0);

let dir: string;
let withKit: string;
let without: string;
let uri: string;
const clients: TestClient[] = [];

before(() => {
  dir = tempDir('sepconv-python-');
  const site = path.join(dir, 'site-packages');
  fs.mkdirSync(path.join(site, 'stagekit'), { recursive: true });
  fs.writeFileSync(path.join(site, 'stagekit', '__init__.py'), '');
  fs.writeFileSync(path.join(site, 'stagekit', 'blocks.py'), BLOCK);
  fs.mkdirSync(path.join(dir, 'empty'));
  withKit = interpreter(dir, 'python-with-kit', site);
  without = interpreter(dir, 'python-without', path.join(dir, 'empty'));
  const ws = path.join(dir, 'ws');
  fs.mkdirSync(ws);
  fs.writeFileSync(path.join(ws, 'model.py'), USER);
  uri = pathToFileURL(path.join(ws, 'model.py')).href;
});

after(async () => {
  for (const c of clients) await c.stop();
});

/** The report of the model file: the head conv's layer. */
async function head(c: TestClient) {
  const r = await c.execute<ReportResult>(ServerCommands.report, { files: [{ uri }] });
  const layer = r.files[0].layers.find((l) => l.inChannels === 32);
  assert.ok(layer, JSON.stringify(r));
  return layer;
}

void test('the server reads installed packages from the interpreter of sepconv.pythonPath, then from the one the client sends', async () => {
  const c = await TestClient.start({ settings: { pythonPath: withKit } });
  clients.push(c);
  await c.open(uri, USER);
  const found = await head(c);
  // the library's stage halves 224 to 112: the head runs on 112x112
  assert.deepEqual(found.shapes?.inputShapes, [[1, 32, 112, 112]], JSON.stringify(found));
  assert.equal(found.macs.before, 64 * 32 * 9 * 112 * 112);
  assert.equal(asked(withKit), 1);

  // the client chooses another interpreter: the analysis is made again with its (missing) packages
  await c.connection.sendNotification(PythonInterpreterNotification, { interpreter: without });
  const missing = await head(c);
  assert.deepEqual([missing.shapes?.inputShapes, missing.shapes?.reason], [[], `package stagekit is not installed in ${without}`]);
  const hover = await c.hover(uri, 8, 22);
  assert.match((hover?.contents as MarkupContent).value, /package stagekit is not installed in/);
  // back to the setting's interpreter (null: the client leaves the choice to the server); each asked once per process
  await c.connection.sendNotification(PythonInterpreterNotification, { interpreter: null });
  assert.deepEqual((await head(c)).shapes?.inputShapes, [[1, 32, 112, 112]]);
  assert.deepEqual([asked(withKit), asked(without)], [1, 1]);
});

void test('the interpreter the client sends at initialize comes before the setting; one that cannot run is warned about', async () => {
  const c = await TestClient.start({ settings: { pythonPath: withKit }, python: without });
  clients.push(c);
  await c.open(uri, USER);
  assert.equal((await head(c)).shapes?.reason, `package stagekit is not installed in ${without}`);
  const broken = await TestClient.start({ settings: { pythonPath: path.join(dir, 'no-such-python') } });
  clients.push(broken);
  await broken.open(uri, USER);
  const layer = await head(broken);
  assert.deepEqual(layer.shapes?.inputShapes, []);
  assert.match(layer.shapes?.reason ?? '', /Stage\(\) is not modelled/);
  await broken.waitForLog(/installed packages are not read: .*no-such-python: no such interpreter/);
});

/** An interpreter that answers as `interpreter`'s do, but only once the test lets it (`release`). */
function heldInterpreter(dir: string, name: string, folder: string): { file: string; release: () => void } {
  const file = path.join(dir, name);
  const answer = JSON.stringify({ path: ['', folder], stdlib: [], names: ['sys', 'os'] });
  fs.writeFileSync(file, `#!/bin/sh\necho asked >> "${file}.log"\nwhile [ ! -e "${file}.go" ]; do sleep 0.02; done\necho '${answer}'\n`, {
    mode: 0o755,
  });
  return { file, release: () => fs.writeFileSync(`${file}.go`, '') };
}

/** A model of its own file: torch only, nothing installed to read. */
const PLAIN = `import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, stride=2, padding=1)
        self.body = nn.Conv2d(32, 64, kernel_size=3, padding=1)

    def forward(self, x):
        return self.body(self.stem(x))
`;

void test('the first hints, and a hover whose model reads no installed package, do not wait for the interpreter', async () => {
  const held = heldInterpreter(dir, 'python-held', path.join(dir, 'site-packages'));
  const c = await TestClient.start({ settings: { pythonPath: held.file } });
  clients.push(c);
  const plain = pathToFileURL(path.join(dir, 'ws', 'plain.py')).href;
  fs.writeFileSync(fileURLToPath(plain), PLAIN);
  try {
    await c.open(plain, PLAIN);
    const hints = await c.inlayHints(plain);
    assert.equal(hints?.length, 2, JSON.stringify(hints));
    assert.match(hints[1].label as string, /separable: −/);
    const hover = await c.hover(plain, 7, 22);
    const card = (hover?.contents as MarkupContent | undefined)?.value ?? '';
    assert.match(card, /In model `Net`/);
    // the body conv runs on the stem's 112x112 output
    assert.ok(card.includes(formatCount(64 * 32 * 9 * 112 * 112, null)), card);
    // all of it while the interpreter was still being asked (not after it gave up: 10 s)
    assert.equal(asked(held.file), 1);
    assert.deepEqual(
      c.logs.filter((l) => /installed packages are not read/.test(l)),
      [],
    );
  } finally {
    held.release();
  }
  // the same numbers as the full analysis, made with the interpreter's answer
  const r = await c.execute<ReportResult>(ServerCommands.report, { files: [{ uri: plain }] });
  assert.equal(r.files[0].layers.find((l) => l.inChannels === 32)?.macs.before, 64 * 32 * 9 * 112 * 112);
});

void test('a hover whose model imports an installed package has the shapes of the environment the interpreter gives later', async () => {
  const held = heldInterpreter(dir, 'python-held-kit', path.join(dir, 'site-packages'));
  const c = await TestClient.start({ settings: { pythonPath: held.file }, testHooks: true });
  clients.push(c);
  try {
    await c.open(uri, USER);
    await c.inlayHints(uri);
    let answered = false;
    const hover = c.hover(uri, 8, 22).finally(() => (answered = true));
    // the hover's run starts before the interpreter answers
    const running = () => c.connection.sendRequest<{ running: { kind: string } | null }>('sepconv/test/worker');
    while (!answered && (await running()).running?.kind !== 'focused') await new Promise((r) => setTimeout(r, 10));
    held.release();
    const card = ((await hover)?.contents as MarkupContent | undefined)?.value ?? '';
    // the library's stage halves 224 to 112: the head runs on 112x112
    assert.match(card, /In model `Net`/);
    assert.ok(card.includes(formatCount(64 * 32 * 9 * 112 * 112, null)), card);
  } finally {
    held.release();
  }
});
