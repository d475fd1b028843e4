/**
 * What the conversion needs of a checkpoint, whatever its format: its tensors by key (read one at
 * a time, on demand), and a writer that puts the same checkpoint back with some tensors replaced.
 */
import type { DType } from './dtype';

export interface InTensor {
  key: string;
  dtype: DType;
  shape: number[];
  /** the values as float64, read from the file when called (floating-point tensors only) */
  values(): Float64Array;
}

/** A tensor of the new checkpoint: one of the old, or new values computed when it is written. */
export type OutTensor = { key: string; from: InTensor } | { key: string; dtype: DType; shape: number[]; values: () => Float64Array };

export interface Checkpoint {
  format: 'pytorch' | 'safetensors';
  /** in the file's order */
  tensors: Map<string, InTensor>;
  /**
   * Writes the checkpoint to `file` with each key of `replace` replaced, in place, by its list of
   * tensors (empty: dropped); everything else is copied as it was.
   */
  write(file: string, replace: Map<string, OutTensor[]>): void;
  close(): void;
}
