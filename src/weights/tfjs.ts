/**
 * TensorFlow.js layers models (`model.json` + weight shards) through the rewrite. A `Conv2D` whose
 * configuration is that of a converted call of the code becomes a `SeparableConv2D` (kernel
 * `[kh, kw, in, out]` -> `depthwise_kernel` `[kh, kw, in, K]` + `pointwise_kernel` `[1, 1, in*K, out]`,
 * the same bias), or in the split style a `DepthwiseConv2D` (`<name>_dw`, no bias) followed by a 1x1
 * `Conv2D` (`<name>`), as the code's rewrite names them. The factors are those of `factor.ts`
 * (the kernel read in PyTorch's layout). The new model goes to a new `model.json` with one shard
 * `<name>.weights.bin` next to it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConvArgs } from '../analysis/model';
import type { ConvertedLayer } from './index';
import { energyAt, factor, spectrum } from './factor';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}
interface ManifestGroup {
  paths: string[];
  weights: WeightSpec[];
}
interface LayerJson {
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown;
  name?: string;
}
interface ModelJson {
  format?: string;
  modelTopology: { class_name: string; config: { layers: LayerJson[] } & Record<string, unknown> } & Record<string, unknown>;
  weightsManifest: ManifestGroup[];
  [k: string]: unknown;
}

export interface LayersModelLayer {
  name: string;
  becomes: string[];
  k: number;
  energy: number;
  error: number;
}

export interface LayersModelResult {
  layers: LayersModelLayer[];
  /** writes the model.json to `file` (for `out`: a temporary name) and its shard next to `out` */
  write(file: string, out: string): void;
}

export function isLayersModel(file: string): boolean {
  if (!file.endsWith('.json')) return false;
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ModelJson>;
    return !!j.modelTopology && Array.isArray(j.weightsManifest);
  } catch {
    return false;
  }
}

const without = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
const pairOf = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]) : [v as number, v as number]);
const same = (a: number[] | undefined, b: number[]) => !!a && a.length === b.length && a.every((x, i) => x === b[i]);

/** Does the code's conv (its resolved arguments) build this `Conv2D` of the model? */
function matches(args: ConvArgs, config: Record<string, unknown>, kernel: number[]): boolean {
  const padding = args.padding === 'same' || args.padding === 'valid' ? args.padding : undefined;
  return (
    args.dims === 2 &&
    args.outChannels?.constant === config.filters &&
    args.inChannels?.constant === kernel[2] &&
    same(args.kernelSize, pairOf(config.kernel_size)) &&
    same(args.stride, pairOf(config.strides)) &&
    padding === config.padding &&
    same(args.dilation, pairOf(config.dilation_rate)) &&
    args.bias === config.use_bias
  );
}

/** Reads every weight of the model as float32 arrays, by name. */
function readWeights(dir: string, manifest: ManifestGroup[]): Map<string, { spec: WeightSpec; data: Float32Array }> {
  const out = new Map<string, { spec: WeightSpec; data: Float32Array }>();
  for (const group of manifest) {
    const bytes = Buffer.concat(group.paths.map((p) => fs.readFileSync(path.join(dir, p))));
    let at = 0;
    for (const spec of group.weights) {
      if (spec.quantization) throw new Error(`weight ${spec.name} is quantized; convert the float model`);
      if (spec.dtype !== 'float32' && spec.dtype !== 'int32') throw new Error(`weight ${spec.name} has dtype ${spec.dtype}`);
      const n = spec.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = spec.dtype === 'float32' ? bytes.readFloatLE(at + 4 * i) : bytes.readInt32LE(at + 4 * i);
      at += 4 * n;
      out.set(spec.name, { spec, data });
    }
  }
  return out;
}

export function convertLayersModel(
  file: string,
  layers: ConvertedLayer[],
  opts: { depthMultiplier: number; style: 'separable' | 'split' },
): LayersModelResult {
  const dir = path.dirname(file);
  const model = JSON.parse(fs.readFileSync(file, 'utf8')) as ModelJson;
  const weights = readWeights(dir, model.weightsManifest);
  const topology = model.modelTopology;
  const sequential = topology.class_name === 'Sequential';
  if (opts.style === 'split' && !sequential)
    throw new Error('the split style is converted for Sequential models only; use --tfjs-style separable for this model');
  const converted = layers.filter((l) => l.layer.convertible);
  const kept = layers.filter((l) => !l.layer.convertible && l.layer.kind === 'conv');
  const used = new Set<ConvertedLayer>();
  const k = opts.depthMultiplier;
  const result: LayersModelLayer[] = [];
  const newLayers: LayerJson[] = [];
  const newWeights: { name: string; shape: number[]; data: Float32Array }[] = [];
  const replaced = new Map<string, { name: string; shape: number[]; data: Float32Array }[]>();
  for (const layer of topology.config.layers) {
    const config = layer.config;
    const name = String(config.name);
    const kernel = weights.get(`${name}/kernel`);
    if (layer.class_name !== 'Conv2D' || !kernel) {
      newLayers.push(layer);
      continue;
    }
    const hits = converted.filter((c) => matches(c.layer.args, config, kernel.spec.shape));
    const others = kept.filter((c) => matches(c.layer.args, config, kernel.spec.shape));
    if (hits.length === 0) {
      newLayers.push(layer);
      continue;
    }
    if (others.length)
      throw new Error(
        `layer ${name} has the configuration of a converted conv and of one that is not; give the convs names or convert them alike. Nothing written`,
      );
    if (config.data_format === 'channels_first') throw new Error(`layer ${name}: channels_first kernels are not converted`);
    hits.forEach((h) => used.add(h));
    const [kh, kw, cin, cout] = kernel.spec.shape;
    const kvol = kh * kw;
    // [kh, kw, in, out] -> PyTorch's [out, in, kh, kw]
    const w = new Float64Array(cout * cin * kvol);
    for (let t = 0; t < kvol; t++)
      for (let c = 0; c < cin; c++) for (let o = 0; o < cout; o++) w[(o * cin + c) * kvol + t] = kernel.data[(t * cin + c) * cout + o];
    const s = spectrum(w, { cout, cinPerGroup: cin, groups: 1, kernel: [kh, kw] });
    const f = factor(w, s, k);
    const dw = new Float32Array(kvol * cin * k);
    for (let c = 0; c < cin; c++)
      for (let r = 0; r < k; r++) for (let t = 0; t < kvol; t++) dw[(t * cin + c) * k + r] = f.depthwise[(c * k + r) * kvol + t];
    const pw = new Float32Array(cin * k * cout);
    for (let o = 0; o < cout; o++) for (let j = 0; j < cin * k; j++) pw[j * cout + o] = f.pointwise[o * cin * k + j];
    const bias = weights.get(`${name}/bias`);
    const e = energyAt(s, k);
    const init = config.kernel_initializer;
    const rest = without(config, ['kernel_initializer', 'kernel_regularizer', 'kernel_constraint']);
    if (opts.style === 'separable' || (config.dilation_rate !== undefined && pairOf(config.dilation_rate).some((d) => d !== 1))) {
      newLayers.push({
        ...layer,
        class_name: 'SeparableConv2D',
        config: {
          ...rest,
          depth_multiplier: k,
          depthwise_initializer: init,
          pointwise_initializer: init,
          depthwise_regularizer: null,
          pointwise_regularizer: null,
          depthwise_constraint: null,
          pointwise_constraint: null,
        },
      });
      replaced.set(name, [
        { name: `${name}/depthwise_kernel`, shape: [kh, kw, cin, k], data: dw },
        { name: `${name}/pointwise_kernel`, shape: [1, 1, cin * k, cout], data: pw },
        ...(bias ? [{ name: `${name}/bias`, shape: bias.spec.shape, data: bias.data }] : []),
      ]);
      result.push({ name, becomes: [`SeparableConv2D ${name}`], k, energy: e.energy, error: e.error });
    } else {
      const dwName = `${name}_dw`;
      const spatial = without(rest, [
        'filters',
        'use_bias',
        'bias_initializer',
        'bias_regularizer',
        'bias_constraint',
        'activation',
        'activity_regularizer',
      ]);
      newLayers.push({
        class_name: 'DepthwiseConv2D',
        config: {
          ...spatial,
          name: dwName,
          use_bias: false,
          depth_multiplier: k,
          depthwise_initializer: init,
          depthwise_regularizer: null,
          depthwise_constraint: null,
          activation: 'linear',
        },
      });
      const pointwise = without(rest, ['batch_input_shape']);
      newLayers.push({
        class_name: 'Conv2D',
        config: {
          ...pointwise,
          kernel_size: [1, 1],
          strides: [1, 1],
          padding: 'valid',
          dilation_rate: [1, 1],
          kernel_initializer: init,
          kernel_regularizer: null,
          kernel_constraint: null,
        },
      });
      replaced.set(name, [
        { name: `${dwName}/depthwise_kernel`, shape: [kh, kw, cin, k], data: dw },
        { name: `${name}/kernel`, shape: [1, 1, cin * k, cout], data: pw },
        ...(bias ? [{ name: `${name}/bias`, shape: bias.spec.shape, data: bias.data }] : []),
      ]);
      result.push({ name, becomes: [`DepthwiseConv2D ${dwName}`, `Conv2D ${name}`], k, energy: e.energy, error: e.error });
    }
  }
  const missing = converted.filter((c) => !used.has(c));
  if (missing.length)
    throw new Error(
      `no Conv2D layer of the model has the configuration of ${missing.length} converted conv(s) (${missing.map((m) => `${path.basename(m.file)} ${m.layer.op}(filters ${m.layer.args.outChannels?.toString() ?? '?'})`).join(', ')}); nothing written`,
    );
  // weights in the manifest's order, each converted layer's in place of its own
  for (const group of model.weightsManifest) {
    for (const spec of group.weights) {
      const layerName = spec.name.slice(0, spec.name.lastIndexOf('/'));
      const repl = replaced.get(layerName);
      if (!repl) newWeights.push({ name: spec.name, shape: spec.shape, data: weights.get(spec.name)!.data });
      else if (spec.name.endsWith('/kernel')) newWeights.push(...repl);
    }
  }
  return {
    layers: result,
    write(file: string, out: string) {
      const stem = path.basename(out, '.json');
      const shard = `${stem}.weights.bin`;
      const bytes = Buffer.alloc(newWeights.reduce((n, w) => n + 4 * w.data.length, 0));
      let at = 0;
      for (const w of newWeights) {
        const spec = weights.get(w.name)?.spec;
        for (const v of w.data) {
          if (spec?.dtype === 'int32') bytes.writeInt32LE(v, at);
          else bytes.writeFloatLE(v, at);
          at += 4;
        }
      }
      const json: ModelJson = {
        ...model,
        modelTopology: { ...topology, config: { ...topology.config, layers: newLayers } },
        weightsManifest: [
          {
            paths: [shard],
            weights: newWeights.map((w) => ({ name: w.name, shape: w.shape, dtype: weights.get(w.name)?.spec.dtype ?? 'float32' })),
          },
        ],
      };
      fs.writeFileSync(path.join(path.dirname(out), shard), bytes);
      fs.writeFileSync(file, JSON.stringify(json));
    },
  };
}
