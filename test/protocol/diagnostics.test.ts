/**
 * Proven shape mismatches as diagnostics, through the protocol: the server publishes one on the call
 * that fails (code `shape-mismatch`, source `sepconv`, the chain and the module's construction as
 * related information) after a document is opened, and clears it after an edit fixes the model or
 * when the document is closed. The fixtures are test/fixtures/mismatch (their numbers are checked
 * against PyTorch by test/oracle/mismatch.test.ts).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DidCloseTextDocumentNotification, type Diagnostic } from 'vscode-languageserver-protocol';
import { ROOT } from '../helpers';
import { positionOf, TestClient, VSCODE_CAPABILITIES } from './lsp';

const fixture = (name: string) => fs.readFileSync(path.join(ROOT, 'test/fixtures/mismatch', name), 'utf8');
const some = (d: Diagnostic[]) => d.length > 0;
const none = (d: Diagnostic[]) => d.length === 0;
const lines = (d: Diagnostic) => (d.relatedInformation ?? []).map((r) => [r.location.range.start.line, r.message] as const);

void describe('shape mismatch diagnostics', { timeout: 120_000 }, () => {
  let c: TestClient;
  before(async () => {
    c = await TestClient.start({
      capabilities: {
        ...VSCODE_CAPABILITIES,
        textDocument: { ...VSCODE_CAPABILITIES.textDocument, publishDiagnostics: { relatedInformation: true, versionSupport: true } },
      },
    });
  });
  after(() => c.stop());

  void test('a conv whose in_channels disagree: an error on the call, cleared when the constructor is fixed', async () => {
    const uri = 'file:///ws/cifar_net.py';
    const text = fixture('cifar_net.py');
    await c.open(uri, text);
    const [d, ...rest] = await c.waitForDiagnostics(uri, some);
    assert.equal(rest.length, 0);
    assert.equal(d.code, 'shape-mismatch');
    assert.equal(d.source, 'sepconv');
    assert.equal(d.severity, 1);
    assert.match(d.message, /^conv2 expects 256 input channels, got 64 — model Net, input 1x3x224x224, default$/);
    const call = positionOf(text, 'self.conv2(x)');
    assert.deepEqual(d.range, { start: call, end: { line: call.line, character: call.character + 'self.conv2(x)'.length } });
    assert.deepEqual(lines(d), [
      [positionOf(text, 'forward').line, "Net.forward runs on the model's input"],
      [positionOf(text, 'nn.Conv2d(256').line, '`conv2` is built here'],
    ]);
    await c.replace(uri, 'nn.Conv2d(256, 128', 'nn.Conv2d(64, 128');
    await c.waitForDiagnostics(uri, none);
  });

  void test('a block deep in nn.Sequential layers: the chain through _forward_impl and layer3', async () => {
    const uri = 'file:///ws/resnet_blocks.py';
    const text = fixture('resnet_blocks.py');
    await c.open(uri, text);
    const found = await c.waitForDiagnostics(uri, some);
    // ResNet and the resnet_cifar() factory build the same model: one diagnostic per call and message
    assert.deepEqual(
      found.map((d) => [d.range.start.line, d.message.replace(/ — .*/, '')]),
      [
        [positionOf(text, 'self.conv1(x)))').line, 'layer3.0.conv1 expects 64 input channels, got 128'],
        [positionOf(text, 'identity = self.downsample(x)').line, 'layer3.0.downsample.0 expects 64 input channels, got 128'],
      ],
    );
    assert.deepEqual(lines(found[0]), [
      [positionOf(text, 'def forward', 'def _forward_impl').line, "ResNet.forward runs on the model's input"],
      [positionOf(text, 'self._forward_impl(x)').line, '`self._forward_impl(x)` runs ResNet._forward_impl'],
      [positionOf(text, 'self.layer3(x)').line, '`self.layer3(x)` runs BasicBlock.forward (layer3.0)'],
      [positionOf(text, 'return nn.Conv2d(in_planes, out_planes, kernel_size=3').line, '`layer3.0.conv1` is built here'],
    ]);
    // the fix torchvision's _make_layer has
    const fix = '        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]\n';
    await c.replace(uri, fix, `${fix}        self.inplanes = planes * BasicBlock.expansion\n`);
    await c.waitForDiagnostics(uri, none);
  });

  void test('in a notebook: on the cell of the failing call, cleared when the cell is fixed', async () => {
    const imports = 'import torch\nimport torch.nn as nn\n';
    const model = fixture('cifar_net.py').replace(/^import[^\n]*\n/gm, '');
    const [first, second] = await c.openNotebook('file:///ws/cifar.ipynb', [{ text: imports }, { text: model }]);
    const [d] = await c.waitForDiagnostics(second, some);
    assert.match(d.message, /^conv2 expects 256 input channels, got 64/);
    assert.equal(d.range.start.line, positionOf(model, 'self.conv2(x)').line);
    assert.ok((d.relatedInformation ?? []).every((r) => r.location.uri === second));
    assert.equal(c.diagnostics.get(first), undefined);
    const at = positionOf(model, '256, 128');
    await c.changeCell('file:///ws/cifar.ipynb', 2, second, [
      { range: { start: at, end: { line: at.line, character: at.character + 3 } }, text: '64' },
    ]);
    await c.waitForDiagnostics(second, none);
  });

  void test('an input given by an example: the Linear after flatten, and the diagnostic goes when the document closes', async () => {
    const uri = 'file:///ws/mnist_net.py';
    const text = fixture('mnist_net.py');
    await c.open(uri, text);
    const [d] = await c.waitForDiagnostics(uri, some);
    assert.equal(d.message, 'fc1 expects 12544 features, got 9216 — model Net, input 64x1x28x28, example at line 35');
    assert.equal(d.range.start.line, positionOf(text, 'x = self.fc1(x)').line);
    await c.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
    await c.waitForDiagnostics(uri, none);
  });
});
