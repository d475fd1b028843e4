/**
 * Real TensorFlow.js (`@tensorflow/tfjs`, pure JS, in this process) for the oracles: the fixture's
 * TypeScript or JavaScript transpiled with esbuild and run with `new Function`, `require` answering only
 * the tfjs packages; the MACs of a built conv layer as the oracle counts them (kernel weights x output
 * positions). Used by tfjs.test.ts, and by the real-editor test through the command line:
 *
 *     node --import tsx test/oracle/tfjs-runtime.ts <file.js|ts> "<build expression>"
 *
 * prints `{"params": n, "layers": [{"className", "name", "params", "macs", "outputShape", "kernelSize"}]}`
 * for the model the expression returns, its layers in order.
 */
import * as fs from 'node:fs';
import * as esbuild from 'esbuild';
import type { LanguageId } from '../../src/analysis/parsing';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');

export const LOADERS: Record<LanguageId, esbuild.Loader> = { javascript: 'jsx', typescript: 'ts', tsx: 'tsx', python: 'js' };

export type AnyLayer = {
  countParams(): number;
  built: boolean;
  outputShape: unknown;
  getWeights(): { shape: number[]; name: string }[];
  __site?: number;
};

/** What a fixture may `require`: the tfjs packages (and a React stub for hooks); anything else throws. */
export function fixtureRequire(name: string): unknown {
  if (/^@tensorflow\/tfjs(-node|-node-gpu|-layers)?$/.test(name)) return tf;
  if (name === 'react') return { useMemo: <T>(f: () => T) => f(), default: {} };
  throw new Error(`the fixture requires ${name}`);
}

/** Kernel weights x output positions of a built conv-like layer (input positions for a transposed conv). */
export function kernelMacs(layer: AnyLayer): number | undefined {
  const cls = (layer as unknown as { getClassName(): string }).getClassName();
  if (!/Conv/.test(cls) || !layer.built) return undefined;
  const out = layer.outputShape as (number | null)[];
  const first = (layer as unknown as { dataFormat?: string }).dataFormat === 'channelsFirst';
  const spatial = first ? out.slice(2) : out.slice(1, -1);
  const positions = spatial.reduce<number>((p, d) => p * (d ?? NaN), 1);
  const kernels = layer.getWeights().filter((w) => /kernel/.test(w.name));
  if (/Transpose/.test(cls)) {
    // each input position scatters through the kernel
    const inShape = (layer as unknown as { input: { shape: (number | null)[] } }).input.shape;
    const inPos = (first ? inShape.slice(2) : inShape.slice(1, -1)).reduce<number>((p, d) => p * (d ?? NaN), 1);
    return kernels.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0) * inPos;
  }
  return kernels.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0) * positions;
}

export interface MeasuredLayer {
  className: string;
  name: string;
  params: number;
  macs: number | null;
  outputShape: unknown;
  kernelSize: number[] | null;
}

/** Builds the model `expr` returns from `file` in real tfjs and measures its layers. */
export async function measure(file: string, expr: string): Promise<{ params: number; layers: MeasuredLayer[] }> {
  const loader: esbuild.Loader = /\.tsx$/.test(file) ? 'tsx' : /\.[cm]?ts$/.test(file) ? 'ts' : 'jsx';
  const { code } = await esbuild.transform(fs.readFileSync(file, 'utf8'), { loader, format: 'cjs', target: 'node20' });
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  const mod = { exports: {} };
  // the file is the caller's (a test fixture), run in this process on purpose: tfjs objects must not cross realms
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const run = new Function('require', 'module', 'exports', `${code}\nreturn (${expr});`) as (...args: unknown[]) => unknown;
  const model = (await Promise.resolve(run(fixtureRequire, mod, mod.exports))) as import('@tensorflow/tfjs').LayersModel;
  const layers = model.layers.map((l) => {
    const config = l.getConfig() as { kernelSize?: number | number[] };
    const k = config.kernelSize;
    const macs = kernelMacs(l as unknown as AnyLayer);
    return {
      className: l.getClassName(),
      name: l.name,
      params: l.countParams(),
      macs: macs !== undefined && Number.isFinite(macs) ? macs : null,
      outputShape: l.outputShape,
      kernelSize: k === undefined ? null : Array.isArray(k) ? k : [k, k],
    };
  });
  const result = { params: model.countParams(), layers };
  tf.disposeVariables();
  return result;
}

if (require.main === module) {
  const [file, expr] = process.argv.slice(2);
  if (!file || !expr) {
    console.error('usage: node --import tsx test/oracle/tfjs-runtime.ts <file> "<build expression>"');
    process.exit(2);
  }
  measure(file, expr).then(
    (r) => console.log(JSON.stringify(r)),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
