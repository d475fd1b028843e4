#!/usr/bin/env node
// The SepConv extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3, Chromium, playwright-core; see
// harness.js and README.md here). Installs the packaged .vsix, opens the fixture workspace (fixtures/sepconv, with
// `sepconv.inputSize: ["32x32"]` in its .vscode/settings.json) and checks what a user sees and what lands on disk:
//   - activation on a Python file; the inlay hint and the CodeLens;
//   - the hover card's numbers (DESIGN.md's test vector: 64 -> 128, 3x3, padding 1, 32x32 input);
//   - the code action and a CodeLens click rewrite the file on disk exactly as `sepconv apply` does;
//   - "SepConv: Convert Convolutions in File" converts every conv, again exactly as `sepconv apply`;
//   - a notebook cell gets a hint (its import and width come from an earlier cell) and a hover;
//   - TensorFlow.js: hint and hover with the numbers real @tensorflow/tfjs measures on the model before and after the
//     rewrite (test/oracle/tfjs-runtime.ts), and the code action writes what `sepconv apply` does;
//   - "Convert Convolutions in Workspace…": QuickPick (every candidate pre-selected), refactor preview, a file changed
//     since the scan skipped and kept; the command resolves with the converted file saved (no Save All needed);
//   - "Show Report" for the workspace (the webview's table) and its JSON export, equal to `sepconv report --json`;
//   - no extension errors in the extension host log.
// Usage: bash setup.sh (once), then `node sepconv.e2e.js` (packages the extension with `npm run package` unless
// SEPCONV_VSIX=<file>). Prints "N passed, N failed" last; exit 1 on any failure.
// env: UPDATE_DOCS=1 writes the screenshots into docs/ for the README (else runs/screenshots/) · SEPCONV_TRACE=1 logs
// the LSP traffic in the SepConv output channel (runs/<run>/user-data/logs/.../output_logging_*) · KEEP_RUN=1 · see harness.js
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const h = require('./harness');

const ROOT = path.resolve(__dirname, '..', '..');
const MANIFEST = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const EXT_ID = `${MANIFEST.publisher}.${MANIFEST.name}`;
const FIXTURES = path.join(__dirname, 'fixtures', 'sepconv');
const SHOTS = process.env.UPDATE_DOCS ? path.join(ROOT, 'docs') : path.join(__dirname, 'runs', 'screenshots');

const r = h.createRunner();
const test = r.test;
const log = (...a) => console.log('      ', ...a);
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
function includesAll(text, parts, what) {
  const missing = parts.filter((p) => !text.includes(p));
  assert(missing.length === 0, `${what} lacks ${JSON.stringify(missing)}:\n${text}`);
}

/** The CLI on a copy of a fixture: what `sepconv apply` writes, and `sepconv report --json`. */
function cli(args, file) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sepconv-e2e-cli-'));
  const copy = path.join(dir, path.basename(file));
  fs.copyFileSync(file, copy);
  try {
    const out = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'sepconv.js'), ...args, copy], { encoding: 'utf8' });
    return { out, text: fs.readFileSync(copy, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const cliApplied = (file) => cli(['apply'], file).text;
/** What real @tensorflow/tfjs builds from a file: its model's layers with params and MACs (the tfjs oracle's runtime). */
function tfjsMeasure(file, expr) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'oracle', 'tfjs-runtime.ts'), file, expr], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(out);
}
// the fixture workspace sets sepconv.inputSize to 32x32
const cliReport = (file) => JSON.parse(cli(['report', '--json', '--input-size', '32x32'], file).out);
const pct = (f) => `${f >= 0 ? '−' : '+'}${Math.abs(f * 100).toFixed(1)}%`;

const editorShows = (page, text) => page.locator(`${h.SEL.activeEditor} .view-lines`, { hasText: text }).waitFor({ timeout: 15000 });

/** A screenshot for the README, once the hovers have faded in (VS Code animates their opacity). */
async function shot(page, name, { full = false } = {}) {
  await h.waitFor(
    () =>
      page.evaluate(() =>
        Array.from(document.querySelectorAll('.monaco-hover')).every((el) => {
          for (let e = el; e; e = e.parentElement) if (Number(getComputedStyle(e).opacity) < 1) return false;
          return true;
        }),
      ),
    5000,
    'hovers to fade in',
  );
  // the editor area, top part: what the README needs to show
  const box = full ? null : await page.locator('.editor-group-container.active').boundingBox();
  const file = path.join(SHOTS, name);
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({
    path: file,
    ...(box ? { clip: { x: box.x, y: box.y, width: box.width, height: Math.min(box.height, 460) } } : {}),
  });
  log(`screenshot ${path.relative(ROOT, file)}`);
}

async function main() {
  let vsix = process.env.SEPCONV_VSIX && path.resolve(process.env.SEPCONV_VSIX);
  await test(
    'npm run package builds the .vsix',
    async () => {
      if (vsix) return;
      execFileSync('npm', ['run', 'package', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
      vsix = path.join(ROOT, `${MANIFEST.name}-${MANIFEST.version}.vsix`);
      assert(fs.existsSync(vsix), `no ${vsix}`);
    },
    { critical: true },
  );

  let ed = null;
  await test(
    'VS Code starts with the .vsix installed',
    async () => {
      ed = r.editor = await h.startEditor({
        name: 'sepconv',
        vsixPaths: [vsix],
        workspaceDir: FIXTURES,
        settings: { 'editor.hover.delay': 200, ...(process.env.SEPCONV_TRACE ? { 'sepconv.trace.server': 'verbose' } : {}) },
      });
      log('timings', JSON.stringify(ed.timings));
    },
    { critical: true },
  );
  if (!ed) return;
  const { page } = ed;
  const ws = (f) => path.join(ed.workspaceDir, f);
  const original = { model: fs.readFileSync(ws('model.py'), 'utf8'), net: fs.readFileSync(ws('net.py'), 'utf8') };

  await test(
    'activates on a Python file',
    async () => {
      await h.openFile(page, 'model.py', { waitForText: 'Conv2d' });
      const line = await h.waitForActivation(ed.logsDir, EXT_ID);
      assert(/onLanguage:python/.test(line), `activation: ${line}`);
    },
    { critical: true },
  );

  await test('inlay hint at the end of the convertible conv, none on the 1x1', async () => {
    await h.waitForInlayHint(page, 'separable: −87.9% params · −88.1% MACs', { timeoutMs: 30000 });
    const l7 = await h.inlayHints(page, { line: 7 });
    const l8 = await h.inlayHints(page, { line: 8 });
    assert(l7.length === 1 && l7[0] === 'separable: −87.9% params · −88.1% MACs', `line 7 hints: ${JSON.stringify(l7)}`);
    assert(l8.length === 0, `line 8 (1x1 conv) hints: ${JSON.stringify(l8)}`);
  });

  await test('CodeLens above the class with its totals', async () => {
    const lens = page.locator(`${h.SEL.activeEditor} .codelens-decoration`);
    await lens.filter({ hasText: '2 convs' }).first().waitFor({ timeout: 15000 });
    const text = (await lens.allInnerTexts()).join(' | ').replace(/\u00a0/g, ' ');
    assert(text.includes('2 convs · 90.4K params → 25.4K separable (−72%)'), `lens: ${text}`);
  });

  await test('hover card: exact params, MACs, FLOPs at the workspace setting 32x32, the rewrite, the warnings', async () => {
    const text = await h.hoverWord(page, 7, 'Conv2d', { expect: /75,497,472/, keep: true, timeoutMs: 20000 });
    includesAll(
      text,
      [
        'nn.Conv2d(in_channels=64, out_channels=128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=True)',
        '73,856',
        '8,896',
        '−87.9%',
        '75,497,472',
        '8,978,432',
        '−88.1%',
        '150,994,944',
        '17,956,864',
        '32x32',
        'output 32x32',
        'nn.Conv2d(64, 64, 3, padding=1, groups=64, bias=False)',
        'checkpoint keys change',
      ],
      'hover',
    );
    await shot(page, 'editor-hover.png');
    await h.dismissHover(page);
  });

  await test('code action rewrites the file on disk exactly as `sepconv apply`', async () => {
    await h.gotoWord(page, 7, 'Conv2d');
    const offered = await h.openCodeActions(page, { want: (ls) => ls.some((l) => l.startsWith('Convert to depthwise separable')) });
    assert(offered.includes('Convert to depthwise separable (−87.9% params)'), `offered: ${JSON.stringify(offered)}`);
    await shot(page, 'editor-code-action.png');
    await h.closeCodeActions(page);
    await h.runCodeAction(page, 'Convert to depthwise separable (−87.9% params)');
    // the edit is resolved and applied after the menu closes: save only once it is in the editor
    await editorShows(page, 'nn.Sequential(');
    await h.save(page);
    const expected = cliApplied(path.join(FIXTURES, 'model.py'));
    assert(expected !== original.model, 'the CLI converts something');
    await h.waitForFile(ws('model.py'), (c) => c === expected);
    // the depthwise and pointwise convs it became are not convertible: no hint is left
    await h.waitFor(async () => (await h.inlayHints(page)).length === 0, 10000, 'no hints once converted');
  });

  await test('clicking the CodeLens converts the class, exactly as `sepconv apply`', async () => {
    await h.openFile(page, 'lens.py', { waitForText: 'Stem' });
    const lenses = await h.codeLenses(page, { minCount: 1, timeoutMs: 20000 });
    assert(/^2 convs · [\d.]+K params → [\d.]+K? separable \(−\d+%\)$/.test(lenses[0]), `lens: ${JSON.stringify(lenses)}`);
    await h.clickCodeLens(page, lenses[0]);
    await editorShows(page, 'nn.Sequential(');
    await h.save(page);
    const expected = cliApplied(path.join(FIXTURES, 'lens.py'));
    await h.waitForFile(ws('lens.py'), (c) => c === expected);
  });

  await test('"SepConv: Convert Convolutions in File" converts every conv, exactly as `sepconv apply`', async () => {
    await h.openFile(page, 'net.py', { waitForText: 'VGGish' });
    await h.waitForInlayHint(page, 'separable:', { timeoutMs: 20000 });
    await h.runCommand(page, 'SepConv: Convert Convolutions in File');
    await page.locator('.notifications-toasts', { hasText: 'Converted 3 convolutions' }).first().waitFor({ timeout: 15000 });
    await h.focusEditor(page);
    await h.save(page);
    const expected = cliApplied(path.join(FIXTURES, 'net.py'));
    await h.waitForFile(ws('net.py'), (c) => c === expected);
    assert((expected.match(/nn\.Sequential\(/g) || []).length === 4, 'three convs became Sequentials (plus the features one)');
  });

  await test('a notebook cell gets a hint and a hover; its import and width come from an earlier cell', async () => {
    await h.openNotebook(page, 'model.ipynb', { waitForText: 'stem' });
    // cells share one index space: 0 code, 1 markdown, 2 code
    const hint = await h.waitForInlayHintInCell(page, 2, /^separable: −87\.0% params · −87\.3% MACs$/, { timeoutMs: 30000 });
    log('cell hint', JSON.stringify(hint));
    const none = await h.inlayHintsInCell(page, 0);
    assert(none.length === 0, `cell 0 hints: ${JSON.stringify(none)}`);
    await shot(page, 'editor-notebook.png');
    const text = await h.hoverWordInCell(page, 2, 1, 'Conv2d', { expect: /18,496/, keep: true, timeoutMs: 20000 });
    includesAll(text, ['Conv2d(in_channels=32, out_channels=64', '18,496', '2,400', '18,874,368'], 'cell hover');
    await h.dismissHover(page);
  });

  await test('TensorFlow.js: hint and hover with the numbers tfjs measures, and the code action', async () => {
    // model.js: a 3x3 conv2d (line 5, 64 -> 128 at 32x32) and a 1x1 one. Real tfjs builds the model as it is and as
    // `sepconv apply` rewrites it; the 3x3 conv and the separableConv2d that replaces it give the expected numbers.
    const line = 5;
    const expected = cliApplied(path.join(FIXTURES, 'model.js'));
    const rewritten = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sepconv-e2e-tfjs-')), 'model.js');
    fs.writeFileSync(rewritten, expected);
    const before = tfjsMeasure(path.join(FIXTURES, 'model.js'), 'buildModel()').layers.filter(
      (l) => l.className === 'Conv2D' && l.kernelSize.join('x') === '3x3',
    );
    const after = tfjsMeasure(rewritten, 'buildModel()').layers.filter((l) => l.className === 'SeparableConv2D');
    fs.rmSync(path.dirname(rewritten), { recursive: true, force: true });
    assert(
      before.length === 1 && after.length === 1,
      `tfjs layers: the 3x3 conv ${JSON.stringify(before)}, its separable form ${JSON.stringify(after)}`,
    );
    const tfjs = { params: { before: before[0].params, after: after[0].params }, macs: { before: before[0].macs, after: after[0].macs } };
    assert(tfjs.params.before === 73856 && tfjs.macs.before === 75497472, `tfjs measured ${JSON.stringify(tfjs)}: DESIGN.md's test vector`);
    const saving = (x) => Math.round((1 - x.after / x.before) * 10000) / 10000;
    await h.openFile(page, 'model.js', { waitForText: 'conv2d' });
    const label = `separable: ${pct(saving(tfjs.params))} params · ${pct(saving(tfjs.macs))} MACs`;
    await h.waitForInlayHint(page, label, { timeoutMs: 30000 });
    const hints = await h.inlayHints(page, { line });
    assert(hints.length === 1 && hints[0] === label, `line ${line} hints: ${JSON.stringify(hints)}`);
    const fmt = (n) => n.toLocaleString('en-US');
    const text = await h.hoverWord(page, line, 'conv2d', { expect: fmt(tfjs.params.before), timeoutMs: 20000 });
    includesAll(text, [fmt(tfjs.params.before), fmt(tfjs.params.after), fmt(tfjs.macs.before), fmt(tfjs.macs.after)], 'tfjs hover');
    // VS Code's own TypeScript extension answers code actions on this file too: while it first analyses the project
    // ("Analyzing 'model.js' and its dependencies" in the status bar) Ctrl+. says "No code actions available"
    await page.locator('.statusbar-item', { hasText: 'Analyzing' }).first().waitFor({ state: 'detached', timeout: 60000 });
    await h.gotoWord(page, line, 'conv2d');
    await h.runCodeAction(page, `Convert to depthwise separable (${pct(saving(tfjs.params))} params)`);
    await editorShows(page, expected.includes('separableConv2d') ? 'separableConv2d' : 'depthwiseConv2d');
    await h.save(page);
    await h.waitForFile(ws('model.js'), (c) => c === expected);
  });

  await test('"Convert Convolutions in Workspace…": scan, QuickPick, refactor preview; a file changed since the scan is skipped', async () => {
    await h.runCommand(page, 'SepConv: Convert Convolutions in Workspace…');
    // what is left after the tests above: models/head.py (2 convs) and models/tail.py (1)
    const title = page.locator('.quick-input-widget .quick-input-title', { hasText: 'convertible convolution' });
    await title.waitFor({ timeout: 30000 });
    const rows = await page.locator(h.SEL.quickInputRow).allInnerTexts();
    assert(rows.length === 3, `QuickPick rows: ${JSON.stringify(rows)}`);
    assert((await title.innerText()).includes('3 convertible convolutions in 2 files'), `QuickPick title: ${await title.innerText()}`);
    const head = rows.filter((r) => r.includes('models/head.py'));
    assert(head.length === 2 && head.every((r) => /−\d+\.\d% params/.test(r)), `QuickPick rows: ${JSON.stringify(rows)}`);
    assert(
      rows.some((r) => r.includes('models/tail.py')),
      `QuickPick rows: ${JSON.stringify(rows)}`,
    );
    // someone edits tail.py while the list is open: it must be skipped and reported, never overwritten
    const tailEdited = `${fs.readFileSync(ws('models/tail.py'), 'utf8')}# edited after the scan\n`;
    fs.writeFileSync(ws('models/tail.py'), tailEdited);
    assert(!rows.some((r) => r.includes('net.py')), `converted files are not offered again: ${JSON.stringify(rows)}`);
    // every candidate saves more than sepconv.minSavings (0): all pre-selected, and the count says so
    const checkedRows = page
      .locator('.quick-input-widget .monaco-list-row')
      .filter({ has: page.locator('.quick-input-list-checkbox:checked, [aria-checked="true"]') });
    const selected = await checkedRows.allInnerTexts();
    log(`QuickPick: ${await title.innerText()}; ${rows.length} rows, ${selected.length} checked`);
    assert(
      selected.length === 3 && rows.every((r) => selected.includes(r)),
      `pre-selected rows: ${JSON.stringify(selected)} of ${JSON.stringify(rows)}`,
    );
    const badge = page.locator('.quick-input-widget .quick-input-count');
    if (await badge.count()) {
      const count = (await badge.first().innerText()).trim();
      assert(/\b3\b/.test(count), `QuickPick selection count: ${count}`);
    }
    await shot(page, 'editor-workspace-pick.png', { full: true });
    await page.keyboard.press('Enter');
    const apply = page.locator('.monaco-button', { hasText: /^Apply$/ });
    await apply.first().waitFor({ timeout: 20000 });
    // the preview lists the two rewrites of head.py; tail.py, changed since the scan, is already left out
    await page.locator('.monaco-list-row', { hasText: 'self.a = ' }).first().waitFor({ timeout: 10000 });
    const previewRows = (await page.locator('.monaco-list-row', { hasText: 'nn.Sequential(' }).allInnerTexts()).length;
    assert(previewRows === 2, `preview rows with a rewrite: ${previewRows}`);
    await shot(page, 'editor-workspace-preview.png', { full: true });
    await apply.first().click();
    const toast = page.locator('.notifications-toasts', { hasText: /converted \d+ convolutions? in \d+ files?/ }).first();
    await toast.waitFor({ timeout: 20000 });
    const message = (await toast.innerText()).replace(/\s+/g, ' ');
    assert(/Skipped 1 .*models\/tail\.py: changed since the scan/.test(message), `notification: ${message}`);
    // the command resolves once the edit is applied and saved: the notification says so, and the file is on disk now
    assert(/Saved 1 file\./.test(message) && !/Left unsaved/.test(message), `notification: ${message}`);
    const expected = cliApplied(path.join(FIXTURES, 'models', 'head.py'));
    const onDisk = fs.readFileSync(ws('models/head.py'), 'utf8');
    assert(onDisk === expected, `models/head.py on disk when the notification shows:\n${onDisk}\nexpected:\n${expected}`);
    assert(fs.readFileSync(ws('models/tail.py'), 'utf8') === tailEdited, 'tail.py keeps the edit made after the scan');
  });

  await test('"Show Report" for the workspace, exported as JSON with the numbers of `sepconv report --json`', async () => {
    await h.runCommand(page, 'SepConv: Show Report');
    await page.locator(h.SEL.quickInputBox).waitFor();
    await page.keyboard.type('Workspace');
    await page.locator(h.SEL.quickInputRow, { hasText: 'Workspace' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.tab', { hasText: 'SepConv Report' }).first().waitFor({ timeout: 30000 });
    // the webview's table (a webview is an iframe holding the content's iframe); once it is there the
    // webview forwards keys to the workbench again, so F1 opens the palette
    const content = page.frameLocator(`iframe.webview.ready[src*="extensionId=${EXT_ID}"]`).frameLocator('iframe#active-frame');
    await content.locator('h2', { hasText: 'SepConv report' }).waitFor({ timeout: 20000 });
    const rowsShown = await content.locator('tbody tr').count();
    const headRow = (await content.locator('tbody tr', { hasText: 'models/head.py:8:13' }).allInnerTexts()).join(' ');
    assert(rowsShown >= 10 && /Conv2d/.test(headRow), `report table: ${rowsShown} rows; head.py row: ${headRow}`);
    await h.runCommand(page, 'SepConv: Export Report as JSON');
    // the save dialog (a quick input in code-server) proposes <workspace>/sepconv-report.json
    await page.locator(h.SEL.quickInputBox).waitFor();
    await h.waitFor(
      async () => (await page.locator(h.SEL.quickInputBox).inputValue()).endsWith('sepconv-report.json'),
      10000,
      'the proposed file name',
    );
    await page.keyboard.press('Enter');
    const json = JSON.parse(await h.waitForFile(ws('sepconv-report.json'), (c) => c.trim().endsWith('}')));
    const mine = json.files.find((f) => f.path === 'models/head.py');
    assert(mine && mine.layers.length === 4, `report entry for models/head.py: ${JSON.stringify(mine)}`);
    const cliLayers = cliReport(ws('models/head.py')).files[0].layers;
    assert(
      JSON.stringify(mine.layers) === JSON.stringify(cliLayers),
      `the same layers as the CLI:\n${JSON.stringify(mine.layers)}\n${JSON.stringify(cliLayers)}`,
    );
  });

  await test("a real zoo file: torchvision's resnet.py gets hints, and a hover with the shapes its models run", async () => {
    // the installed torchvision (Debian's python3-torchvision), copied into the run's workspace (never into the
    // repository) after the workspace tests, so that its relative imports (`from ..utils import ...`) resolve
    const installed = execFileSync(
      '/usr/bin/python3',
      ['-c', 'import importlib.util as u; print(u.find_spec("torchvision").submodule_search_locations[0])'],
      { encoding: 'utf8' },
    ).trim();
    fs.cpSync(installed, ws('zoo/torchvision'), {
      recursive: true,
      filter: (src) => !src.includes('__pycache__') && !/\.(so|pyc)$/.test(src),
    });
    const source = fs.readFileSync(ws('zoo/torchvision/models/resnet.py'), 'utf8').split('\n');
    // conv3x3's `return nn.Conv2d(` (1-based), found rather than assumed
    const line = source.findIndex((l, i) => /^\s+return nn\.Conv2d\($/.test(l) && /def conv3x3/.test(source[i - 2] ?? '')) + 1;
    assert(line > 0, "conv3x3's nn.Conv2d( in resnet.py");
    // what the command says of that line at the workspace's 32x32: the editor must show the same
    const layer = cliReport(ws('zoo/torchvision/models/resnet.py')).files[0].layers.find((l) => l.line === line);
    assert(layer && layer.convertible && layer.shapes && layer.shapes.exact, `the CLI's entry for line ${line}: ${JSON.stringify(layer)}`);
    await h.openFile(page, 'zoo/torchvision/models/resnet.py', { waitForText: 'def conv3x3' });
    // hints are rendered for the lines in view: the call's, down to its closing parenthesis
    await h.gotoLine(page, line);
    const hint = `separable: ${pct(layer.savings.params)} params · ${pct(layer.savings.macs)} MACs`;
    await h.waitForInlayHint(page, hint, { timeoutMs: 60000 });
    const sh = layer.shapes;
    const text = await h.hoverWord(page, line, 'Conv2d', { expect: /In model/, timeoutMs: 60000 });
    const shape = (s) => `(${s.join(', ')})`;
    includesAll(
      text,
      [
        `In model ${sh.model}`,
        `${sh.calls} calls of ${sh.instances} instances`,
        `input ${sh.inputShapes.map(shape).join(', ')}`,
        `output ${sh.outputShapes.map(shape).join(', ')}`,
      ],
      'hover on conv3x3',
    );
    await h.dismissHover(page);
  });

  await test('no SepConv errors in the extension host log', async () => {
    const errors = h.extHostErrors(ed.logsDir, EXT_ID);
    assert(errors.length === 0, errors.join('\n'));
  });
}

const started = Date.now();
main()
  .catch((e) => r.results.push({ name: 'main', ok: false, err: e.message }))
  .finally(async () => {
    if (r.editor && r.failed > 0) {
      // what the server and the extension host said: on a CI machine the run directory is gone afterwards
      const tail = (text, n) => text.split('\n').slice(-n).join('\n');
      console.log(`--- SepConv output channel (last 40 lines) ---\n${tail(h.readOutputChannel(r.editor.logsDir, 'SepConv'), 40)}`);
      console.log(`--- extension host log (last 40 lines) ---\n${tail(h.extHostLog(r.editor.logsDir), 40)}`);
    }
    if (r.editor) await r.editor.stop({ keepRunDir: r.failed > 0 || !!process.env.KEEP_RUN });
    console.log(`e2e: ${((Date.now() - started) / 1000).toFixed(1)}s`);
    const { failed } = r.finish();
    process.exitCode = failed ? 1 : 0;
  });
