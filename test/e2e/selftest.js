#!/usr/bin/env node
// Self-test of harness.js: build the toy extension (./toy-ext) into a .vsix, start a real VS Code with it, and check
// hover, inlay hint and code action on a Python file, and an inlay hint / hover / code action in a notebook cell.
// Usage: node selftest.js      (after `bash setup.sh`). Prints "N passed, N failed" last; exit 1 on any failure.
//   env: KEEP_RUN=1 keep runs/selftest-*/ (kept anyway on failure, with fail-*.png screenshots) · see harness.js
'use strict';
const path = require('path');
const h = require('./harness');

const EXT_ID = 'harness.toy-python-ext';
const ACTION = 'Replace Conv2d with SepConv2d';
const r = h.createRunner();
const test = r.test;
const log = (...a) => console.log('      ', ...a);
let ed = null;
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function main() {
  let vsix;
  await test(
    'package toy-ext into a .vsix (vsce)',
    async () => {
      vsix = await h.packageVsix(path.join(__dirname, 'toy-ext'), path.join(__dirname, 'tmp', 'toy-ext.vsix'));
    },
    { critical: true },
  );

  await test(
    'startEditor: install vsix, code-server, Chromium, workbench',
    async () => {
      ed = r.editor = await h.startEditor({
        name: 'selftest',
        vsixPaths: [vsix],
        workspaceDir: path.join(__dirname, 'fixtures', 'selftest'),
        settings: { 'editor.hover.delay': 200 },
      });
      log('timings', JSON.stringify(ed.timings));
    },
    { critical: true },
  );
  if (!ed) return;
  const { page } = ed;
  const pyFile = path.join(ed.workspaceDir, 'model.py');
  const nbFile = path.join(ed.workspaceDir, 'model.ipynb');

  // ---------------- Python file ----------------
  await test(
    'openFile model.py',
    async () => {
      await h.openFile(page, 'model.py', { waitForText: 'Conv2d' });
    },
    { critical: true },
  );

  await test(
    'waitForActivation + output channel',
    async () => {
      const line = await h.waitForActivation(ed.logsDir, EXT_ID);
      assert(/activationEvent: 'onLanguage:python'/.test(line), `unexpected activation line: ${line}`);
      await page.waitForSelector('.statusbar-item:has-text("TOY_ACTIVE")');
      await h.waitFor(
        () => /TOY_ACTIVATED/.test(h.readOutputChannel(ed.logsDir, 'Toy Python Ext')),
        10000,
        'TOY_ACTIVATED in output channel log',
      );
    },
    { critical: true },
  );

  await test('hoverWord (mouse) on line 7 "Conv2d"', async () => {
    const text = await h.hoverWord(page, 7, 'Conv2d', { expect: /TOY_HOVER_MARKER word=Conv2d/ });
    log('  hover:', JSON.stringify(text));
    const other = await h.hoverWord(page, 4, 'Module');
    assert(/TOY_HOVER_MARKER word=Module/.test(other), `hover on Module: ${other}`);
  });

  await test('gotoWord + hoverAtCursor (Ctrl+K Ctrl+I)', async () => {
    const col = await h.gotoWord(page, 7, 'Conv2d');
    assert(col === 27, `column ${col}`); // Conv2d starts at col 24; caret goes to its middle
    await h.hoverAtCursor(page, { expect: /TOY_HOVER_MARKER word=Conv2d/ });
  });

  await test('runCommand "Show or Focus Hover" at gotoLine 7:24', async () => {
    await h.gotoLine(page, 7, 24);
    await h.runCommand(page, 'Show or Focus Hover');
    await h.waitForHover(page, { expect: /TOY_HOVER_MARKER word=Conv2d/ });
    await h.dismissHover(page);
  });

  await test('inlayHints: TOY_INLAY_MARKER on line 7 only', async () => {
    const hint = await h.waitForInlayHint(page, 'TOY_INLAY_MARKER');
    const all = await h.inlayHints(page);
    const l7 = await h.inlayHints(page, { line: 7 });
    const l1 = await h.inlayHints(page, { line: 1 });
    log('  hints:', JSON.stringify({ hint, all, l7, l1 }));
    assert(all.length === 1 && all[0] === 'TOY_INLAY_MARKER', `all hints: ${JSON.stringify(all)}`);
    assert(l7.length === 1 && l1.length === 0, `per line: ${JSON.stringify({ l7, l1 })}`);
  });

  await test('codeLenses + clickCodeLens', async () => {
    const lenses = await h.codeLenses(page, { minCount: 2 });
    assert(JSON.stringify(lenses) === '["TOY_LENS","TOY_LENS_2"]', `lenses: ${JSON.stringify(lenses)}`);
    await h.clickCodeLens(page, 'TOY_LENS');
    await page.waitForSelector('.statusbar-item:has-text("TOY_LENS_CLICKED line=7")');
  });

  await test('listCodeActions: offered on Conv2d, not on "class"', async () => {
    await h.gotoWord(page, 7, 'Conv2d');
    const onConv = await h.listCodeActions(page);
    assert(onConv.includes(ACTION), `offered on Conv2d: ${JSON.stringify(onConv)}`);
    await h.gotoWord(page, 4, 'class');
    const onClass = await h.listCodeActions(page);
    assert(!onClass.includes(ACTION), `offered on class: ${JSON.stringify(onClass)}`);
  });

  await test('runCodeAction -> save -> waitForFile', async () => {
    await h.gotoWord(page, 7, 'Conv2d');
    await h.runCodeAction(page, ACTION);
    await page.locator(`${h.SEL.activeEditor} .view-lines`, { hasText: 'SepConv2d' }).waitFor();
    await h.save(page);
    const text = await h.waitForFile(pyFile, (t) => /nn\.SepConv2d\(3, 16, 3\)/.test(t));
    assert(!/nn\.Conv2d/.test(text), 'old Conv2d still on disk');
  });

  // ---------------- notebook ----------------
  await test(
    'openNotebook model.ipynb -> 2 code cells',
    async () => {
      const n = await h.openNotebook(page, 'model.ipynb', { waitForText: 'Conv2d' });
      assert(n === 2, `${n} code cells`);
      assert((await h.cellText(page, 0)) === 'import torch.nn as nn', `cell 0: ${await h.cellText(page, 0)}`);
    },
    { critical: true },
  );

  await test('notebook cell inlay hint (cell 1 only)', async () => {
    const hint = await h.waitForInlayHintInCell(page, 1, 'TOY_INLAY_MARKER');
    assert(hint === 'TOY_INLAY_MARKER', hint);
    const l4 = await h.inlayHintsInCell(page, 1, { line: 4 });
    const c0 = await h.inlayHintsInCell(page, 0);
    assert(l4.length === 1 && c0.length === 0, JSON.stringify({ l4, c0 }));
  });

  await test('notebook cell hover (mouse) on line 4 "Conv2d"', async () => {
    const text = await h.hoverWordInCell(page, 1, 4, 'Conv2d', { expect: /TOY_HOVER_MARKER word=Conv2d/ });
    log('  cell hover:', JSON.stringify(text));
  });

  await test('notebook: focusCell on word / gotoLineInCell + hoverAtCursor', async () => {
    await h.focusCell(page, 1, { word: 'Conv2d' });
    await h.hoverAtCursor(page, { expect: /word=Conv2d/ });
    await h.gotoLineInCell(page, 1, 6, 9); // "    def forward" -> inside "forward"
    await h.hoverAtCursor(page, { expect: /word=forward/ });
  });

  await test('notebook code action -> save -> .ipynb on disk', async () => {
    await h.focusCell(page, 1, { word: 'Conv2d' });
    await h.runCodeAction(page, ACTION);
    await page.locator(`${h.SEL.cellEditor(1)} .view-lines`, { hasText: 'SepConv2d' }).waitFor();
    await h.save(page);
    await h.waitForFile(nbFile, () => /nn\.SepConv2d\(3, 16, 3\)/.test(h.readNotebookCells(nbFile)[1]));
    assert(h.readNotebookCells(nbFile)[0] === 'import torch.nn as nn', 'cell 0 changed');
  });

  await test('no extension-host errors for the extension', async () => {
    const errs = h.extHostErrors(ed.logsDir, EXT_ID);
    assert(!errs.length, errs.slice(0, 3).join(' | '));
  });
}

const hardTimeout = setTimeout(async () => {
  console.error('HARD TIMEOUT (300s)');
  if (ed) await ed.stop({ keepRunDir: true });
  process.exit(3);
}, 300000);

main()
  .catch((e) => {
    r.results.push({ name: 'selftest', ok: false, err: e.stack || e.message });
    console.error('ERROR', e.stack || e.message);
  })
  .then(async () => {
    const failed = r.failed;
    if (ed) {
      await ed.stop({ keepRunDir: failed > 0 || !!process.env.KEEP_RUN });
      if (failed) console.log(`run dir kept: ${ed.runDir}`);
    }
    clearTimeout(hardTimeout);
    process.exit(r.finish().failed ? 1 : 0);
  });
