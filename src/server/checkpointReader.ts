/**
 * The checkpoint reader (bundled to dist/checkpoint-reader.js): a worker thread that reads a
 * checkpoint of the `sepconv.weights.checkpoint` setting for the hovers, so that the language
 * server's thread never waits for a large file. `load` opens it (the restricted unpickler of
 * `src/weights`, nothing executed), reads every tensor that can be a conv weight once and returns its
 * spectrum as an ungrouped conv (`src/weights/factor.ts`: what K, energy and error at any K need),
 * with the list of tensors; the file stays open for `spectrum` (a grouped conv's, on demand) until
 * `close` or the next `load` of the same file.
 */
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { Checkpoint } from '../weights/checkpoint';
import { isFloat, type DType } from '../weights/dtype';
import { spectrum, type ConvShape, type Spectrum } from '../weights/factor';
import { openCheckpoint } from '../weights/index';

/** The file's identity: a checkpoint is read again when its size or modification time changes. */
export interface FileIdentity {
  mtimeMs: number;
  size: number;
}

export type ToReader =
  | { type: 'load'; id: number; file: string }
  | { type: 'spectrum'; id: number; file: string; key: string; shape: ConvShape }
  | { type: 'close'; file: string };

export type FromReader =
  | { type: 'ready' }
  | {
      type: 'loaded';
      id: number;
      identity: FileIdentity;
      format: Checkpoint['format'];
      tensors: { key: string; dtype: DType; shape: number[] }[];
      spectra: { key: string; shape: ConvShape; spectrum: Spectrum }[];
      ms: number;
    }
  | { type: 'spectrum'; id: number; spectrum: Spectrum }
  | { type: 'failed'; id: number; error: string };

/** Conv weights `[Cout, Cin/g, ...kernel]` of 1 to 3 spatial dims with more than one kernel position. */
export function convLike(t: { key: string; dtype: DType; shape: number[] }): ConvShape | undefined {
  if (!t.key.endsWith('.weight') || !isFloat(t.dtype) || t.shape.length < 3 || t.shape.length > 5) return undefined;
  const [cout, cin, ...kernel] = t.shape;
  if (cout === 0 || cin === 0 || kernel.reduce((a, b) => a * b, 1) <= 1) return undefined;
  return { cout, cinPerGroup: cin, groups: 1, kernel };
}

export function runCheckpointReader(): void {
  const port = parentPort;
  if (!port) throw new Error('the checkpoint reader runs in a worker thread');
  const open = new Map<string, { ckpt: Checkpoint; identity: FileIdentity }>();
  const close = (file: string) => {
    open.get(file)?.ckpt.close();
    open.delete(file);
  };
  const transfer = (s: Spectrum) => [...s.values, ...s.vectors].map((a) => a.buffer as ArrayBuffer);

  port.on('message', (msg: ToReader) => {
    if (msg.type === 'close') {
      close(msg.file);
      return;
    }
    try {
      if (msg.type === 'load') {
        const start = performance.now();
        close(msg.file);
        const st = fs.statSync(msg.file);
        if (!st.isFile()) throw new Error('not a regular file');
        const ckpt = openCheckpoint(msg.file);
        const identity = { mtimeMs: st.mtimeMs, size: st.size };
        open.set(msg.file, { ckpt, identity });
        const tensors = [...ckpt.tensors.values()].map((t) => ({ key: t.key, dtype: t.dtype, shape: t.shape }));
        const spectra: { key: string; shape: ConvShape; spectrum: Spectrum }[] = [];
        for (const t of ckpt.tensors.values()) {
          const shape = convLike(t);
          if (shape) spectra.push({ key: t.key, shape, spectrum: spectrum(t.values(), shape) });
        }
        const reply: FromReader = {
          type: 'loaded',
          id: msg.id,
          identity,
          format: ckpt.format,
          tensors,
          spectra,
          ms: performance.now() - start,
        };
        port.postMessage(
          reply,
          spectra.flatMap((s) => transfer(s.spectrum)),
        );
        return;
      }
      const known = open.get(msg.file);
      const st = fs.statSync(msg.file);
      // written over since it was read: its spectra are the old file's (the next hover reads it again)
      if (known && (st.mtimeMs !== known.identity.mtimeMs || st.size !== known.identity.size))
        throw new Error('the checkpoint changed on disk while it was read');
      const t = known?.ckpt.tensors.get(msg.key);
      if (!t) throw new Error(`${msg.key} is not in the checkpoint read`);
      const s = spectrum(t.values(), msg.shape);
      port.postMessage({ type: 'spectrum', id: msg.id, spectrum: s } satisfies FromReader, transfer(s));
    } catch (e) {
      if (msg.type === 'load') close(msg.file);
      port.postMessage({ type: 'failed', id: msg.id, error: e instanceof Error ? e.message : String(e) } satisfies FromReader);
    }
  });
  port.postMessage({ type: 'ready' } satisfies FromReader);
}
