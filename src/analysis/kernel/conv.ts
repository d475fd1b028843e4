/**
 * A convolution's output size: the one formula both frameworks use (PyTorch's and tfjs's agree:
 * `valid` is padding 0, and tfjs's ceil((in - d*(k-1)) / s) is floor((in - d*(k-1) - 1) / s) + 1).
 * `cost.ts` prices convs with it; `tfjs/layers.ts` and `python/shapes/torch/` propagate shapes with it.
 */
import type { Padding } from '../model';
import { Poly } from '../poly';

/** One spatial dim: floor((in + 2p - d*(k-1) - 1) / s) + 1; `same` gives ceil(in / s). */
export function convOutputLength(size: number, k: number, s: number, pad: number | 'same' | 'valid', d = 1): number {
  if (pad === 'same') return Math.ceil(size / s);
  const p = pad === 'valid' ? 0 : pad;
  return Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** The same over a symbolic size: exact when the size is a number, else only for stride 1 (in + 2p - d*(k-1)). */
export function convOutputLengthPoly(size: Poly, k: number, s: number, pad: number | 'same' | 'valid', d = 1): Poly | undefined {
  const c = size.constant;
  if (c !== undefined) return Poly.const(convOutputLength(c, k, s, pad, d));
  if (s !== 1) return undefined;
  if (pad === 'same') return size;
  const p = pad === 'valid' ? 0 : pad;
  return size.sub(Poly.const(d * (k - 1) - 2 * p));
}

/** Output size per spatial dim (PyTorch's arguments: a pad per dim, or 'same' / 'valid'). */
export function convOutputSize(input: number[], k: number[], s: number[], p: Padding, d: number[]): number[] | undefined {
  if (input.length !== k.length) return undefined;
  return input.map((size, i) => convOutputLength(size, k[i], s[i], p === 'same' || p === 'valid' ? p : p[i], d[i]));
}

/** Transposed (PyTorch): (in-1)*s - 2p + d*(k-1) + 1 (output_padding 0). */
export function transposedOutputSize(input: number[], k: number[], s: number[], p: Padding, d: number[]): number[] | undefined {
  if (input.length !== k.length || p === 'same' || p === 'valid') return undefined;
  return input.map((size, i) => (size - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + 1);
}
