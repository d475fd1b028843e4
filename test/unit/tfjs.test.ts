/**
 * TensorFlow.js analysis in small pieces: how channels and shapes flow through the constructs the
 * interpreter follows, and how it says where it stops. The whole-file behaviour is in the fixtures
 * (test/fixtures/tfjs) and checked against real tfjs by test/oracle/tfjs.test.ts.
 */
import * as assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { analyzeText } from '../../src/analysis/analyze';
import { isBudgetStop } from '../../src/analysis/kernel/budget';
import { defaultOptions, type AnalysisOptions } from '../../src/analysis/options';
import { initParsing, type LanguageId } from '../../src/analysis/parsing';
import type { TfjsAnalysis } from '../../src/analysis/tfjs/analyze';
import { rewrite } from '../../src/refactor/index';

before(() => initParsing());

function analyze(body: string, options: Partial<AnalysisOptions> = {}, id: LanguageId = 'javascript'): TfjsAnalysis {
  return analyzeText(`import * as tf from '@tensorflow/tfjs';\n${body}`, id, defaultOptions(options)) as TfjsAnalysis;
}

const channels = (a: TfjsAnalysis) => a.layers.map((l) => l.args.inChannels?.toString() ?? null);
const dims = (d: { toString(): string }[] | undefined) => d?.map((x) => x.toString()).join('x');

void test('sequential add: channels follow conv, pooling, batch norm, zero padding, upsampling', () => {
  const a = analyze(`
const m = tf.sequential();
m.add(tf.layers.conv2d({inputShape: [30, 30, 3], filters: 8, kernelSize: 3}));
m.add(tf.layers.zeroPadding2d({padding: [[1, 2], [0, 0]]}));
m.add(tf.layers.maxPooling2d({poolSize: 3, strides: 2, padding: 'same'}));
m.add(tf.layers.batchNormalization());
m.add(tf.layers.upSampling2d());
m.add(tf.layers.conv2d({filters: 16, kernelSize: 5, strides: 2}));`);
  assert.deepEqual(channels(a), ['3', '8']);
  assert.equal(dims(a.layers[1].inputShape as never), '32x28x8');
  assert.equal(dims(a.layers[1].outputShape as never), '14x12x16');
});

void test('functional: concatenate sums channels, add keeps them, x.shape reads them', () => {
  const a = analyze(`
const inp = tf.input({shape: [16, 16, 4]});
const a = tf.layers.conv2d({filters: 6, kernelSize: 1}).apply(inp);
const b = tf.layers.conv2d({filters: 10, kernelSize: 1}).apply(inp);
const c = tf.layers.concatenate().apply([a, b]);
const d = tf.layers.add().apply([c, c]);
const e = tf.layers.conv2d({filters: d.shape[d.shape.length - 1] * 2, kernelSize: 3}).apply(d);`);
  assert.deepEqual(channels(a), ['4', '4', '16']);
  assert.equal(a.layers[2].args.outChannels?.toString(), '32');
});

void test('reshape with -1 and flatten, dense on top', () => {
  const a = analyze(`
const m = tf.sequential({layers: [
  tf.layers.dense({inputShape: [64], units: 96}),
  tf.layers.reshape({targetShape: [4, -1, 2]}),
  tf.layers.conv2d({filters: 5, kernelSize: 3, padding: 'same'}),
]});`);
  assert.deepEqual(channels(a), ['2']);
  assert.equal(dims(a.layers[0].inputShape as never), '4x12x2');
  assert.equal(a.graphs[0].params?.toString(), String(64 * 96 + 96 + 2 * 5 * 9 + 5));
});

void test('a loop with known bounds is unrolled; an unknown one stops the propagation and says where', () => {
  const known = analyze(`
const m = tf.sequential();
m.add(tf.layers.inputLayer({inputShape: [8, 8, 2]}));
for (let i = 0; i < 3; i++) m.add(tf.layers.conv2d({filters: 4 * (i + 1), kernelSize: 3, padding: 'same'}));`);
  assert.deepEqual(channels(known), ['2', '4', '8']);
  const unknown = analyze(`
export function build(n) {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({inputShape: [8, 8, 2], filters: 4, kernelSize: 3}));
  for (let i = 0; i < n; i++) m.add(tf.layers.conv2d({filters: 4, kernelSize: 3, padding: 'same'}));
  m.add(tf.layers.conv2d({filters: 4, kernelSize: 3}));
  return m;
}`);
  assert.deepEqual(channels(unknown), ['2', null, null]);
  assert.match(unknown.layers[2].assumptions.join(' | '), /^channels unknown: layers are added to the model in the loop at line 6/m);
  // the rewrite does not need the channels: still converted
  assert.equal(unknown.layers[2].convertible, true);
});

void test('an unknown condition keeps shapes that agree and drops those that do not', () => {
  const a = analyze(`
export function build(flag) {
  const inp = tf.input({shape: [8, 8, 3]});
  let x = inp;
  if (flag) x = tf.layers.batchNormalization().apply(x);
  x = tf.layers.conv2d({filters: 4, kernelSize: 3}).apply(x);
  if (flag) x = tf.layers.conv2d({filters: 7, kernelSize: 1}).apply(x);
  x = tf.layers.conv2d({filters: 4, kernelSize: 3}).apply(x);
  return tf.model({inputs: inp, outputs: x});
}`);
  assert.deepEqual(channels(a), ['3', '4', null]);
  assert.match(a.layers[2].assumptions.join(' | '), /`x` differs between branches: the condition `flag` at line 8 is not known/);
});

void test('ops the interpreter does not follow stop it explicitly', () => {
  const a = analyze(`
const m = tf.sequential();
m.add(tf.layers.embedding({inputDim: 100, outputDim: 8, inputLength: 20}));
m.add(tf.layers.reshape({targetShape: [20, 8, 1]}));
m.add(tf.layers.conv2d({filters: 4, kernelSize: 3}));`);
  assert.deepEqual(channels(a), [null]);
  assert.match(
    a.layers[0].assumptions.join(' | '),
    /channels unknown after layer 1 \(`embedding`, line 4\): tf\.layers\.embedding is not followed/,
  );
  assert.equal(a.layers[0].cost.params.before, undefined);
});

void test('depthwiseConv2d ignores dilation; conv1d causal padding is not resolved; a kernel larger than its input is reported', () => {
  const a = analyze(`
const m = tf.sequential();
m.add(tf.layers.depthwiseConv2d({inputShape: [10, 10, 3], kernelSize: 3, dilationRate: 4, depthMultiplier: 2}));
m.add(tf.layers.conv2d({filters: 4, kernelSize: 9}));
const s = tf.sequential();
s.add(tf.layers.conv1d({inputShape: [100, 2], filters: 4, kernelSize: 3, padding: 'causal'}));
m.add(tf.layers.conv2d({filters: 4, kernelSize: 1}));`);
  assert.equal(dims(a.layers[0].outputShape as never), '8x8x6');
  assert.equal(a.layers[0].cost.params.before?.toString(), String(3 * 2 * 9 + 6));
  assert.equal(a.layers[1].outputShape, undefined);
  assert.match(a.layers[3].assumptions.join(' | '), /conv2d would output an empty shape \(0x0\): its input is smaller than its kernel/);
  assert.match(a.layers[2].reason ?? '', /tfjs has no separable or depthwise 1d/);
});

void test('symbols: a builder parameter stays a symbol; --assume and pragmas give it a value', () => {
  const src = `
export function build(width) {
  return tf.sequential({layers: [
    tf.layers.conv2d({inputShape: [16, 16, 3], filters: width, kernelSize: 3}),
    tf.layers.conv2d({filters: width * 2, kernelSize: 3}),
  ]});
}`;
  const a = analyze(src);
  assert.equal(a.layers[1].args.inChannels?.toString(), 'width');
  assert.equal(a.layers[1].cost.params.before?.toString(), '2·width + 18·width²');
  const b = analyze(src, { assumptions: { width: 8 } });
  assert.equal(b.layers[1].cost.params.before?.constant, 8 * 16 * 9 + 16);
  assert.ok(b.layers[1].assumptions.includes('width=8 (--assume)'));
  const c = analyze(`// sepconv: width=4\n${src}`);
  assert.equal(c.layers[1].args.inChannels?.constant, 4);
});

void test('files without tfjs: nothing found, and their syntax errors are not ours to report', () => {
  const plain = analyzeText('const layers = [1, 2];\nlayers.conv2d({filters: 3});\n', 'javascript', defaultOptions()) as TfjsAnalysis;
  assert.equal(plain.layers.length, 0, 'a local `layers` is not tf.layers');
  const broken = analyzeText('function (( {', 'javascript', defaultOptions()) as TfjsAnalysis;
  assert.equal(broken.layers.length, 0);
  assert.equal(broken.syntaxError, undefined);
  const tfBroken = analyze('const m = tf.sequential(;');
  assert.ok(tfBroken.syntaxError);
});

void test('a shadowed tf is not tfjs', () => {
  const a = analyzeText(
    `
const tf = {layers: {conv2d: (c) => c}};
const x = tf.layers.conv2d({filters: 3, kernelSize: 3});`,
    'javascript',
    defaultOptions(),
  ) as TfjsAnalysis;
  assert.equal(a.layers.length, 0);
});

void test('a call that makes several layers is rewritten once, for all of them or none', () => {
  const src = `import * as tf from '@tensorflow/tfjs';
function block(x, filters) {
  return tf.layers.conv2d({filters, kernelSize: 3, padding: 'same'}).apply(x);
}
const inp = tf.input({shape: [16, 16, 8]});
const out = block(block(inp, 32), 64);
`;
  const a = analyzeText(src, 'javascript', defaultOptions()) as TfjsAnalysis;
  assert.equal(a.layers.length, 2);
  assert.deepEqual(channels(a), ['8', '32']);
  // an editor picks the layer under the cursor: one instance chooses the call
  const one = rewrite(src, 'javascript', a, (l) => l === a.layers[0], { depthMultiplier: 1, norm: 'none', lineLength: 88, minSavings: 0 });
  assert.equal(one.error, undefined);
  assert.equal(one.newText.match(/separableConv2d/g)?.length, 1);
  // with a threshold only the second instance meets, neither is converted
  const low = rewrite(src, 'javascript', a, () => true, { depthMultiplier: 1, norm: 'none', lineLength: 88, minSavings: 0.85 });
  assert.equal(low.newText, src);
  assert.match(
    low.skipped.map((s) => s.reason).join(' | '),
    /instance 1 of this call is not converted \(saves 8\d\.\d% of parameters, below the 85\.0% threshold\)/,
  );
});

void test('a file too long to follow stops early and says so', () => {
  const a = analyze(`
const m = tf.sequential();
for (let i = 0; i < 1000; i++) for (let j = 0; j < 1000; j++) m.add(tf.layers.dense({units: 3}));
m.add(tf.layers.conv2d({filters: 3, kernelSize: 3}));`);
  // the kernel's budget, worded as the Python interpreter's ("(budget: ...)")
  const note = a.notes.map((n) => n.message).join(' | ');
  assert.match(note, /^shapes unknown \(budget: more than 20,000 steps: the file is too large or its loops too long to follow\)$/);
  assert.ok(isBudgetStop(note));
  assert.equal(a.layers.length, 1);
  assert.equal(a.layers[0].args.inChannels, undefined);
});

void test('existing separable layers: one bias of size filters, in params and (when counted) in MACs', () => {
  const src = `
const m = tf.sequential();
m.add(tf.layers.separableConv2d({inputShape: [8, 8, 4], filters: 6, kernelSize: 3, depthMultiplier: 2, padding: 'same'}));`;
  const plain = analyze(src).layers[0];
  assert.equal(plain.cost.params.before?.constant, 4 * 2 * 9 + 4 * 2 * 6 + 6);
  assert.equal(plain.cost.macs.before?.constant, 64 * (4 * 2 * 9 + 4 * 2 * 6));
  const adds = analyze(src, { countBiasAdds: true }).layers[0];
  assert.equal(adds.cost.macs.before?.constant, 64 * (4 * 2 * 9 + 4 * 2 * 6) + 64 * 6);
});

void test('--norm is PyTorch only: tfjs layers say so', () => {
  const a = analyze(`const m = tf.sequential({layers: [tf.layers.conv2d({inputShape: [8, 8, 4], filters: 6, kernelSize: 3})]});`, {
    norm: 'bn',
  });
  assert.equal(a.layers[0].cost.params.after?.constant, 4 * 9 + 4 * 6 + 6);
  assert.match(a.layers[0].warnings.join(' | '), /--norm bn applies to PyTorch only/);
});

void test('models with convs are summed up as the report shows them', () => {
  const a = analyze(`
export function createModel() {
  return tf.sequential({layers: [
    tf.layers.conv2d({inputShape: [8, 8, 4], filters: 6, kernelSize: 3, padding: 'same'}),
    tf.layers.flatten(),
    tf.layers.dense({units: 2}),
  ]});
}
const noConvs = tf.sequential({layers: [tf.layers.dense({inputShape: [3], units: 2})]});`);
  assert.equal(a.models.length, 1);
  const m = a.models[0];
  assert.deepEqual(
    { name: m.name, className: m.className, build: m.build, input: m.input, output: m.output },
    { name: 'createModel', className: 'Sequential', build: 'createModel()', input: [1, 8, 8, 4], output: [1, 2] },
  );
  assert.deepEqual(m.params, { before: 4 * 6 * 9 + 6 + 384 * 2 + 2, after: 4 * 9 + 4 * 6 + 6 + 384 * 2 + 2 });
  assert.deepEqual(m.macs, { before: 64 * 4 * 6 * 9, after: 64 * (4 * 9 + 4 * 6) });
});

void test('functions nothing calls: self-contained data helpers are not run, helpers that share state still are', () => {
  // a data helper with a long loop, run before the model builder, used to spend the step budget
  const a = analyze(`
function checksum(rows, seed = 7) {
  let s = seed;
  for (let i = 0; i < 100000000; i++) s = (s * 31 + rows.length + Math.floor(i / 3)) % 1000003;
  const out = {s, rows};
  return JSON.stringify(out);
}
function configure() { width = 24; }          // an implicit global the builder reads
export function build() {
  return tf.sequential({layers: [tf.layers.conv2d({inputShape: [32, 32, 3], filters: width, kernelSize: 3})]});
}`);
  assert.equal(a.layers.length, 1);
  assert.equal(a.layers[0].args.outChannels?.toString(), '24');
  assert.equal(a.layers[0].cost.params.before?.toString(), String(24 * 3 * 9 + 24));
  // a helper that mentions a module-level name (here a layer factory bound at the top) still runs
  const b = analyze(`
const conv = tf.layers.conv2d;
function stem(rows) {
  const sizes = rows.map((r) => r * 2);
  return tf.sequential({layers: [conv({inputShape: [16, 16, sizes.length], filters: 8, kernelSize: 3})]});
}`);
  assert.equal(b.layers.length, 1);
  assert.equal(b.layers[0].args.outChannels?.toString(), '8');
  // a name declared inside a block of the helper does not make its other uses local
  const c = analyze(`
let width = 8;
function widen() {
  for (const k of [1, 2]) { let width = k; }
  width = 40;
}
function build() {
  return tf.sequential({layers: [tf.layers.conv2d({inputShape: [32, 32, 3], filters: width, kernelSize: 3})]});
}`);
  assert.equal(c.layers[0].args.outChannels?.toString(), '40');
});
