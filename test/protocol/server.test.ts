/**
 * The language server over stdio, driven by a real LSP client (vscode-languageserver-protocol):
 * hover, inlay hints, code actions and their resolve, code lens, batch commands, edits while
 * typing, notebooks, settings and the version checks that keep it from editing a changed document.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { CodeAction, MarkupContent, TextDocumentEdit } from 'vscode-languageserver-protocol';
import { analyzeText } from '../../src/analysis/analyze';
import { initParsing } from '../../src/analysis/parsing';
import { defaultOptions } from '../../src/analysis/options';
import { rewrite } from '../../src/refactor/index';
import { CodeActionKinds, ServerCommands, type ConvertResult, type PlanResult, type ReportResult } from '../../src/server/protocol';
import { tempDir } from '../helpers';
import { positionOf, TestClient } from './lsp';

const MODEL = `import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(64, 128, 3, padding=1)
        self.conv2 = nn.Conv2d(128, 128, 3, padding=1, bias=False)
        self.pw = nn.Conv2d(128, 256, 1)


stem = nn.Conv2d(3, 64, 7, stride=2, padding=3)
`;

const markdown = (h: { contents: unknown } | null) => (h?.contents as MarkupContent).value;

/** What `sepconv apply` would write for this text: the core's rewrite of every layer. */
async function cliRewrite(text: string, select: (line: number) => boolean = () => true): Promise<string> {
  await initParsing();
  const a = analyzeText(text, 'python', defaultOptions());
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length - 1;
  return rewrite(text, 'python', a, (l) => select(lineOf(l.span.start)), {
    depthMultiplier: 1,
    norm: 'none',
    lineLength: 88,
    minSavings: 0,
  }).newText;
}

void describe('language server', () => {
  let c: TestClient;
  before(async () => {
    c = await TestClient.start({ settings: { inputSize: ['32x32'] } });
  });
  after(() => c.stop());

  void test('declares its features, the notebook sync and the command namespace', () => {
    const caps = c.initializeResult.capabilities;
    assert.deepEqual(caps.codeActionProvider, {
      codeActionKinds: ['refactor.rewrite.sepconv', 'source.convertAll.sepconv'],
      resolveProvider: true,
    });
    assert.deepEqual(caps.executeCommandProvider?.commands, [
      'sepconv.server.convert',
      'sepconv.server.report',
      'sepconv.server.plan',
      'sepconv.server.convertWithWeights',
    ]);
    assert.ok(caps.hoverProvider && caps.inlayHintProvider && caps.codeLensProvider);
    assert.deepEqual(caps.notebookDocumentSync, {
      notebookSelector: [{ notebook: { notebookType: 'jupyter-notebook' }, cells: [{ language: 'python' }] }],
    });
  });

  void test('hover shows the exact numbers of DESIGN.md test vector, the rewrite and the warnings', async () => {
    const uri = 'file:///ws/hover.py';
    await c.open(uri, MODEL);
    const onCallee = positionOf(MODEL, 'nn.Conv2d(64');
    const card = markdown(await c.hover(uri, onCallee.line, onCallee.character + 5));
    assert.match(
      card,
      /nn\.Conv2d\(in_channels=64, out_channels=128, kernel_size=\(3, 3\), stride=\(1, 1\), padding=\(1, 1\), dilation=\(1, 1\), groups=1, bias=True\)/,
    );
    // 64 -> 128, 3x3, padding 1, 32x32: 73,856 params / 75,497,472 MACs; separable 8,896 / 8,978,432
    assert.match(card, /\| params \| 73,856 \| 8,896 \| −87\.9% \|/);
    assert.match(card, /\| MACs \| 75,497,472 \| 8,978,432 \| −88\.1% \|/);
    assert.match(card, /\| FLOPs \| 150,994,944 \| 17,956,864 \| −88\.1% \|/);
    assert.match(card, /input 32x32 → output 32x32/);
    assert.match(
      card,
      /\*\*Becomes\*\*\n```python\nnn\.Sequential\(\n    nn\.Conv2d\(64, 64, 3, padding=1, groups=64, bias=False\),\n    nn\.Conv2d\(64, 128, 1\),\n\)\n```/,
    );
    assert.match(card, /checkpoint keys change: conv1\.weight -> conv1\.0\.weight/);

    // on an argument, the same card; the hover range is the whole call
    const onArg = positionOf(MODEL, 'padding=1)', 'conv1');
    const h = await c.hover(uri, onArg.line, onArg.character);
    assert.equal(markdown(h), card);
    assert.deepEqual(h?.range, {
      start: onCallee,
      end: { line: onCallee.line, character: onCallee.character + 'nn.Conv2d(64, 128, 3, padding=1)'.length },
    });
  });

  void test('a document over the size limit is left alone, as the command leaves such a file', async () => {
    const uri = 'file:///ws/huge.py';
    const huge = MODEL + '#' + 'x'.repeat(5 * 1024 * 1024) + '\n';
    await c.open(uri, huge);
    assert.deepEqual((await c.inlayHints(uri)) ?? [], []);
    const p = positionOf(huge, 'nn.Conv2d(64');
    assert.equal(await c.hover(uri, p.line, p.character + 3), null);
  });

  void test('hover on a 1x1 conv says why it is not converted and shows its own costs; elsewhere nothing', async () => {
    const uri = 'file:///ws/hover.py';
    const p = positionOf(MODEL, 'Conv2d(128, 256, 1)');
    const card = markdown(await c.hover(uri, p.line, p.character));
    assert.match(card, /pointwise/);
    assert.match(card, /\| params \| 33,024 \|/);
    assert.match(card, /\*\*Not converted:\*\* 1x1 kernel: already pointwise/);
    assert.equal(await c.hover(uri, 5, 10), null);
  });

  void test('inlay hints sit at the end of each convertible call, with the core label', async () => {
    const uri = 'file:///ws/hints.py';
    await c.open(uri, MODEL);
    const hints = (await c.inlayHints(uri))!;
    const end1 = positionOf(MODEL, 'Conv2d(64, 128, 3, padding=1)');
    assert.deepEqual(
      hints.map((h) => [h.position.line, h.label]),
      [
        [end1.line, 'separable: −87.9% params · −88.1% MACs'],
        [7, 'separable: −88.1% params · −88.1% MACs'],
        [11, 'separable: −95.8% params · −96.4% MACs'],
      ],
    );
    assert.equal(hints[0].position.character, end1.character + 'Conv2d(64, 128, 3, padding=1)'.length);
    // only the asked range
    const some = (await c.inlayHints(uri, { start: { line: 7, character: 0 }, end: { line: 8, character: 0 } }))!;
    assert.deepEqual(
      some.map((h) => h.position.line),
      [7],
    );
  });

  void test('hints follow edits (incremental changes), and typing a new conv adds one', async () => {
    const uri = 'file:///ws/typing.py';
    await c.open(uri, MODEL);
    await c.replace(uri, 'Conv2d(64, 128, 3, padding=1)', 'Conv2d(64, 256, 5, padding=2)');
    let hints = (await c.inlayHints(uri))!;
    assert.equal(hints[0].label, 'separable: −95.5% params · −95.6% MACs');
    assert.equal(hints[0].position.character, positionOf(c.text(uri), 'Conv2d(64, 256').character + 'Conv2d(64, 256, 5, padding=2)'.length);
    // character by character, as typed, at the end of the file
    const typed = 'head = nn.Conv2d(64, 10, 3)\n';
    for (const ch of typed) {
      const doc = c.docs.get(uri)!;
      const end = doc.positionAt(doc.getText().length);
      await c.change(uri, [{ range: { start: end, end }, text: ch }]);
    }
    hints = (await c.inlayHints(uri))!;
    assert.equal(hints.length, 4);
    assert.equal(hints[3].position.line, 12);
    // a line removed above moves the hints up
    await c.replace(uri, '        super().__init__()\n', '');
    hints = (await c.inlayHints(uri))!;
    assert.deepEqual(
      hints.map((h) => h.position.line),
      [5, 6, 10, 11],
    );
    assert.equal(c.text(uri).split('\n')[11], typed.trim());
  });

  void test('code actions: the conv, its class and the file; context.only is honoured', async () => {
    const uri = 'file:///ws/actions.py';
    await c.open(uri, MODEL);
    const p = positionOf(MODEL, 'Conv2d(64');
    const titles = (as: CodeAction[]) => as.map((a) => `${a.kind} ${a.title}${a.disabled ? ` [disabled: ${a.disabled.reason}]` : ''}`);
    assert.deepEqual(titles(await c.codeActions(uri, p.line, p.character)), [
      'refactor.rewrite.sepconv Convert to depthwise separable (−87.9% params)',
      'refactor.rewrite.sepconv Convert all 2 convolutions in Block',
      'refactor.rewrite.sepconv Convert all convolutions in file',
    ]);
    assert.deepEqual(titles(await c.codeActions(uri, p.line, p.character, { only: ['source.convertAll.sepconv'] })), [
      'source.convertAll.sepconv Convert all convolutions in file',
    ]);
    assert.deepEqual(titles(await c.codeActions(uri, p.line, p.character, { only: ['source'] })), [
      'source.convertAll.sepconv Convert all convolutions in file',
    ]);
    assert.equal((await c.codeActions(uri, p.line, p.character, { only: ['refactor.rewrite'] })).length, 3);
    assert.equal((await c.codeActions(uri, p.line, p.character, { only: ['quickfix'] })).length, 0);
    assert.equal((await c.codeActions(uri, p.line, p.character, { only: ['refactor.extract'] })).length, 0);
    // on a 1x1 conv: a disabled action that says why
    const pw = positionOf(MODEL, 'Conv2d(128, 256');
    assert.deepEqual(
      titles(await c.codeActions(uri, pw.line, pw.character, { only: ['refactor.rewrite.sepconv'] }))[0],
      'refactor.rewrite.sepconv Convert to depthwise separable [disabled: 1x1 kernel: already pointwise]',
    );
    // automatic (lightbulb) requests away from any conv offer nothing
    assert.deepEqual(await c.codeActions(uri, 0, 0, { triggerKind: 2 }), []);
    // no edit before resolve
    assert.ok((await c.codeActions(uri, p.line, p.character)).every((a) => a.edit === undefined));
  });

  void test('resolve computes the edit for the analysed version; applied, it is what the CLI writes', async () => {
    const uri = 'file:///ws/resolve.py';
    await c.open(uri, MODEL);
    const p = positionOf(MODEL, 'Conv2d(64');
    const [one] = await c.codeActions(uri, p.line, p.character);
    const resolved = await c.resolve(one);
    const change = resolved.edit!.documentChanges![0] as TextDocumentEdit;
    assert.deepEqual(change.textDocument, { uri, version: 1 });
    c.applyEdit(resolved.edit!);
    assert.equal(c.text(uri), await cliRewrite(MODEL, (line) => line === p.line));
  });

  void test('resolve refuses a document that changed since the action was made', async () => {
    const uri = 'file:///ws/stale.py';
    await c.open(uri, MODEL);
    const p = positionOf(MODEL, 'Conv2d(64');
    const [one] = await c.codeActions(uri, p.line, p.character);
    await c.change(uri, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '# edited\n' }]);
    const before = c.messages.length;
    const resolved = await c.resolve(one);
    assert.equal(resolved.edit, undefined);
    // the warning is a notification sent before the response
    assert.equal(c.messages.length, before + 1);
    assert.match(c.messages.at(-1)!, /changed since it was analysed/);
  });

  void test('file and class conversions through the source action and the code lens', async () => {
    const uri = 'file:///ws/lens.py';
    await c.open(uri, MODEL);
    const [source] = await c.codeActions(uri, 0, 0, { only: [CodeActionKinds.convertAll] });
    const all = await c.resolve(source);
    const expected = await cliRewrite(MODEL);
    const copy = 'file:///ws/lens-copy.py';
    await c.open(copy, MODEL);
    c.applyEdit(JSON.parse(JSON.stringify(all.edit).replaceAll(uri, copy)) as typeof all.edit & object);
    assert.equal(c.text(copy), expected);

    const lenses = (await c.codeLens(uri))!;
    assert.equal(lenses.length, 1);
    assert.equal(lenses[0].range.start.line, 3);
    assert.equal(lenses[0].command!.title, '3 convs · 254.3K params → 59.5K separable (−77%)');
    const result = await c.execute<ConvertResult>(lenses[0].command!.command, ...(lenses[0].command!.arguments as unknown[]));
    assert.equal(result.applied, true);
    assert.equal(result.converted, 2);
    assert.match(result.message, /Converted 2 convolutions in class Block/);
    assert.equal(c.applied.at(-1)!.label, 'SepConv: convert class Block');
    assert.equal(c.text(uri), await cliRewrite(MODEL, (line) => line < 10));
  });

  void test('convert refuses a version the document has left', async () => {
    const uri = 'file:///ws/convert-stale.py';
    await c.open(uri, MODEL);
    await c.replace(uri, 'stem', 'stem2');
    const r = await c.execute<ConvertResult>(ServerCommands.convert, { uri, version: 1, scope: 'file' });
    assert.equal(r.applied, false);
    assert.match(r.message, /changed since it was analysed/);
    assert.equal(c.text(uri), MODEL.replace('stem', 'stem2'));
  });

  void test('batch commands: report over open documents, texts and files on disk; plan with a selection', async () => {
    const dir = tempDir();
    const onDisk = path.join(dir, 'disk.py');
    fs.writeFileSync(onDisk, MODEL);
    const diskUri = pathToFileURL(onDisk).href;
    await c.open('file:///ws/batch.py', MODEL);
    const r = await c.execute<ReportResult>(ServerCommands.report, {
      files: [
        { uri: 'file:///ws/batch.py' },
        { uri: 'file:///ws/text.py', text: MODEL },
        { uri: diskUri },
        { uri: 'file:///ws/missing.py' },
        { uri: 'file:///ws/x.txt', text: 'hello' },
      ],
    });
    assert.deepEqual(
      r.files.map((f) => [f.uri.replace(diskUri, 'DISK'), f.version, f.error, f.layers.length]),
      [
        ['file:///ws/batch.py', 1, null, 4],
        ['file:///ws/text.py', null, null, 4],
        ['DISK', null, null, 4],
        ['file:///ws/missing.py', null, r.files[3].error, 0],
        ['file:///ws/x.txt', null, 'not a Python, JavaScript or TypeScript file', 0],
      ],
    );
    assert.match(r.files[3].error!, /cannot read/);
    assert.equal(r.totals.layers, 12);
    assert.equal(r.totals.convertible, 9);
    // the same entries as `sepconv report --json` (32x32 from the settings)
    await initParsing();
    const a = analyzeText(MODEL, 'python', defaultOptions({ inputSizes: { 2: [32, 32] } }));
    assert.equal(r.files[1].layers[0].params.before, a.layers[0].cost.params.before!.constant);
    assert.equal(r.files[1].layers[0].macs.after, 8978432);

    const plan = await c.execute<PlanResult>(ServerCommands.plan, {
      files: [{ uri: 'file:///ws/text.py', text: MODEL, select: [{ line: 12, column: 8 }] }],
    });
    const f = plan.files[0];
    assert.equal(f.error, null);
    assert.deepEqual(f.converted, [{ line: 12, column: 8 }]);
    assert.equal(f.documents.length, 1);
    assert.equal(f.documents[0].edits.length, 1);
    assert.match(f.documents[0].edits[0].newText, /^nn\.Sequential\(/);
  });

  void test('settings: MACs or FLOPs, reasons, toggles, an invalid value falls back to its default', async () => {
    const uri = 'file:///ws/settings.py';
    await c.open(uri, MODEL);
    const refreshes = c.refreshes.inlayHints;
    await c.configure({ inputSize: ['32x32'], inlayHints: { unit: 'FLOPs', showReasons: true }, depthMultiplier: 'two' });
    const hints = (await c.inlayHints(uri))!;
    // the refresh request was sent before the response to the hints
    assert.equal(c.refreshes.inlayHints, refreshes + 1);
    assert.equal(c.refreshes.codeLens, refreshes + 1);
    assert.ok(c.logs.includes('sepconv.depthMultiplier: "two" is not valid; using 1'), c.logs.join('\n'));
    assert.equal(hints[0].label, 'separable: −87.9% params · −88.1% FLOPs');
    assert.deepEqual(
      hints.map((h) => h.label as string).filter((l) => l.startsWith('not')),
      ['not separable: 1x1 kernel: already pointwise'],
    );
    await c.configure({ inlayHints: { enabled: false }, codeLens: { enabled: false }, hover: { enabled: false } });
    assert.equal(await c.inlayHints(uri), null);
    assert.equal(await c.codeLens(uri), null);
    assert.equal(await c.hover(uri, 6, 25), null);
    await c.configure({ inputSize: ['32x32'] });
  });

  void test('notebooks: Python cells in order; imports and names of earlier cells count; edits land in the right cells', async () => {
    const nb = 'file:///ws/model.ipynb';
    const [c0, , c2] = await c.openNotebook(nb, [
      { text: '%matplotlib inline\nfrom torch.nn import Conv2d\nWIDTH = 64' },
      { text: '# Model', kind: 1, language: 'markdown' },
      { text: 'layer = Conv2d(WIDTH, 128, 3, padding=1)' },
    ]);
    const hints = (await c.inlayHints(c2))!;
    assert.deepEqual(
      hints.map((h) => [h.position, h.label]),
      [[{ line: 0, character: 40 }, 'separable: −87.9% params · −88.1% MACs']],
    );
    assert.deepEqual(await c.inlayHints(c0), []);
    assert.match(markdown(await c.hover(c2, 0, 10)), /\| params \| 73,856 \| 8,896 \|/);

    // the earlier cell changes: the later cell's hint follows, and the server asks for fresh hints
    const refreshes = c.refreshes.inlayHints;
    await c.changeCell(nb, 2, c0, [{ range: { start: { line: 2, character: 8 }, end: { line: 2, character: 10 } }, text: '32' }]);
    assert.equal(c.text(c0), '%matplotlib inline\nfrom torch.nn import Conv2d\nWIDTH = 32');
    assert.equal((await c.inlayHints(c2))![0].label, 'separable: −87.8% params · −88.1% MACs');
    assert.equal(c.refreshes.inlayHints, refreshes + 1);

    // converting adds Sequential to the import in cell 0 and rewrites cell 2
    const [action] = await c.codeActions(c2, 0, 10);
    assert.equal(action.title, 'Convert to depthwise separable (−87.8% params)');
    const edit = (await c.resolve(action)).edit!;
    c.applyEdit(edit);
    const touched = (edit.documentChanges as TextDocumentEdit[]).map((d) => d.textDocument).sort((a, b) => a.uri.localeCompare(b.uri));
    assert.deepEqual(touched, [
      { uri: c0, version: 2 },
      { uri: c2, version: 1 },
    ]);
    assert.equal(c.text(c0), '%matplotlib inline\nfrom torch.nn import Conv2d, Sequential\nWIDTH = 32');
    assert.equal(
      c.text(c2),
      'layer = Sequential(\n    Conv2d(WIDTH, WIDTH, 3, padding=1, groups=WIDTH, bias=False),\n    Conv2d(WIDTH, 128, 1),\n)',
    );
  });
});

void describe('language server with a minimal client', () => {
  void test('no resolve support: edits come with the actions; no documentChanges: plain changes', async () => {
    const c = await TestClient.start({
      capabilities: { textDocument: { codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: [] } } } } },
    });
    try {
      const uri = 'file:///ws/minimal.py';
      await c.open(uri, MODEL);
      const p = positionOf(MODEL, 'Conv2d(64');
      const [one] = await c.codeActions(uri, p.line, p.character);
      assert.ok(one.edit?.changes?.[uri]);
      c.applyEdit(one.edit);
      assert.equal(c.text(uri), await cliRewrite(MODEL, (line) => line === p.line));
      // no workspace/configuration: settings from initializationOptions and didChangeConfiguration
      assert.equal(c.configurationRequests.length, 0);
      await c.configure({ inlayHints: { unit: 'FLOPs' } });
      assert.match((await c.inlayHints(uri))![0].label as string, /FLOPs$/);
    } finally {
      await c.stop();
    }
  });

  void test('an edit the editor refuses is reported as not applied', async () => {
    const c = await TestClient.start({ refuseEdits: true });
    try {
      const uri = 'file:///ws/refused.py';
      await c.open(uri, MODEL);
      const r = await c.execute<ConvertResult>(ServerCommands.convert, { uri, version: 1, scope: 'file' });
      assert.equal(r.applied, false);
      assert.match(r.message, /not applied: refused by the test/);
      assert.equal(c.text(uri), MODEL);
    } finally {
      await c.stop();
    }
  });
});

void describe('language server and files on disk', () => {
  void test('a file of building blocks gets its shapes from the model that imports it, an open unsaved neighbour counts', async () => {
    const dir = tempDir();
    const blocks = `import torch.nn as nn


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)

    def forward(self, x):
        return self.conv(x)
`;
    const net = (size: number) => `import torch
import torch.nn as nn
from blocks import Block


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = Block(16, 32)

    def forward(self, x):
        return self.body(x)


if __name__ == "__main__":
    Net()(torch.randn(1, 16, ${size}, ${size}))
`;
    fs.writeFileSync(path.join(dir, 'blocks.py'), blocks);
    fs.writeFileSync(path.join(dir, 'net.py'), net(8));
    const c = await TestClient.start();
    try {
      const uri = pathToFileURL(path.join(dir, 'blocks.py')).href;
      await c.open(uri, blocks);
      const p = positionOf(blocks, 'nn.Conv2d(cin');
      const card = markdown(await c.hover(uri, p.line, p.character + 3));
      // 16 -> 32, 3x3 on 8x8 (from net.py on disk): 32*16*9 weights x 64 positions
      assert.match(card, /In model `Net`/);
      assert.match(card, /\| MACs \| 294,912 \|/);
      // the neighbour open in the editor with unsaved changes wins over the disk
      await c.open(pathToFileURL(path.join(dir, 'net.py')).href, net(4));
      await c.replace(uri, 'super().__init__()', 'super().__init__()  # edited');
      const again = markdown(await c.hover(uri, p.line, p.character + 3));
      assert.match(again, /\| MACs \| 73,728 \|/);
    } finally {
      await c.stop();
    }
  });
});
