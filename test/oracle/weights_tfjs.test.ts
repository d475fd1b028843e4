/**
 * The weights oracle for TensorFlow.js: the layers model of test/fixtures/weights/tfjs/model.js is
 * built in real @tensorflow/tfjs with random weights and saved (model.json + weights.bin);
 * `sepconv apply --weights model.json` converts the code and the model together, in both styles.
 * The new model.json loads with `tf.loadLayersModel`, predicts like the original at full rank
 * (relative error ≤ 1e-5), and its layers and weight shapes are those the rewritten code builds.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { cli, ROOT, tempDir } from '../helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');

const SOURCE = path.join(ROOT, 'test', 'fixtures', 'weights', 'tfjs', 'model.js');

type LayersModel = import('@tensorflow/tfjs').LayersModel;

/** Runs a CommonJS model file (its `require` answering tfjs) and builds its model. */
function build(file: string): LayersModel {
  const mod = { exports: {} as { createModel: () => LayersModel } };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const run = new Function('require', 'module', 'exports', fs.readFileSync(file, 'utf8')) as (
    r: (id: string) => unknown,
    m: typeof mod,
    e: object,
  ) => void;
  run((id) => (id === '@tensorflow/tfjs' ? tf : undefined), mod, mod.exports);
  return mod.exports.createModel();
}

async function save(model: LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler((a) => {
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(a.weightData as ArrayBuffer));
      fs.writeFileSync(
        path.join(dir, 'model.json'),
        JSON.stringify({
          format: 'layers-model',
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        }),
      );
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
    }),
  );
}

/** tf.loadLayersModel through an IOHandler that reads model.json and its shards from disk. */
function load(file: string): Promise<LayersModel> {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: import('@tensorflow/tfjs').io.WeightsManifestEntry[] }[];
  };
  const data = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(path.dirname(file), p)))));
  const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  return tf.loadLayersModel({
    load: () =>
      Promise.resolve({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData }),
  });
}

const relError = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += a[i] ** 2;
  }
  return Math.sqrt(d / n);
};

for (const style of ['separable', 'split'] as const) {
  void test(`weights oracle (tfjs, ${style})`, async (t) => {
    const dir = tempDir('sepconv-tfjs-weights-');
    try {
      const original = build(SOURCE);
      await save(original, dir);
      const code = path.join(dir, 'model.js');
      fs.copyFileSync(SOURCE, code);
      const outDir = path.join(dir, 'out');
      fs.mkdirSync(outDir);
      // K = 25 covers the full rank of every layer (min(filters, kh*kw))
      const r = await cli(
        'apply',
        code,
        '--weights',
        path.join(dir, 'model.json'),
        '--out',
        path.join(outDir, 'model.json'),
        '--depth-multiplier',
        '25',
        '--tfjs-style',
        style,
      );
      assert.equal(r.code, 0, r.stderr);
      const converted = await load(path.join(outDir, 'model.json'));
      const rewritten = build(code);
      const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 3);
      const a = (original.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync() as Float32Array;
      const b = (converted.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync() as Float32Array;
      const err = relError(a, b);
      t.diagnostic(
        `tfjs ${style}: output relative error ${err.toExponential(3)}; params ${original.countParams()} -> ${converted.countParams()}`,
      );
      assert.ok(err <= 1e-5, `output error ${err}`);
      // the converted model is the one the rewritten code builds
      assert.deepEqual(
        converted.layers.map((l) => l.getClassName()),
        rewritten.layers.map((l) => l.getClassName()),
      );
      assert.deepEqual(
        converted.getWeights().map((w) => w.shape),
        rewritten.getWeights().map((w) => w.shape),
      );
      const expected =
        style === 'separable'
          ? ['SeparableConv2D', 'SeparableConv2D', 'SeparableConv2D']
          : ['DepthwiseConv2D', 'Conv2D', 'DepthwiseConv2D', 'Conv2D', 'SeparableConv2D'];
      assert.deepEqual(
        converted.layers.map((l) => l.getClassName()).filter((c) => c.includes('Conv')),
        expected,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
