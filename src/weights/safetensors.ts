/**
 * `.safetensors`: an 8-byte little-endian header length, a JSON header (`{key: {dtype, shape,
 * data_offsets}}`, optional `__metadata__`), then the tensors' bytes. Read tensor by tensor from the
 * file; written as a stream (the header is known before any data: sizes follow from shapes), the
 * header padded with spaces to 8 bytes as the reference implementation does.
 */
import * as fs from 'node:fs';
import type { Checkpoint, InTensor, OutTensor } from './checkpoint';
import { decodeFloats, DTYPE_SIZE, encodeFloats, type DType } from './dtype';
import { readAt } from './zip';

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const DTYPES = new Set<string>(Object.keys(DTYPE_SIZE));

export function readSafetensors(file: string): Checkpoint {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const n = Number(readAt(fd, 0, 8).readBigUInt64LE(0));
    if (n <= 0 || 8 + n > size) throw new Error('not a safetensors file (bad header length)');
    const header = JSON.parse(readAt(fd, 8, n).toString('utf8')) as Record<string, HeaderEntry | Record<string, string>>;
    const base = 8 + n;
    const metadata = header.__metadata__ as Record<string, string> | undefined;
    const entries = Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .map(([k, v]) => [k, v as HeaderEntry] as const)
      .sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
    const tensors = new Map<string, InTensor>();
    for (const [key, e] of entries) {
      if (!DTYPES.has(e.dtype)) throw new Error(`${key}: dtype ${e.dtype} is not supported`);
      const dtype = e.dtype as DType;
      const numel = e.shape.reduce((a, b) => a * b, 1);
      if (e.data_offsets[1] - e.data_offsets[0] !== numel * DTYPE_SIZE[dtype] || base + e.data_offsets[1] > size)
        throw new Error(`${key}: data offsets do not match its shape`);
      tensors.set(key, {
        key,
        dtype,
        shape: e.shape,
        values: () => decodeFloats(readAt(fd, base + e.data_offsets[0], e.data_offsets[1] - e.data_offsets[0]), dtype, numel),
      });
    }
    const raw = (key: string) => {
      const e = header[key] as HeaderEntry;
      return readAt(fd, base + e.data_offsets[0], e.data_offsets[1] - e.data_offsets[0]);
    };
    return {
      format: 'safetensors',
      tensors,
      write(out: string, replace: Map<string, OutTensor[]>) {
        const list: OutTensor[] = [];
        for (const t of tensors.values()) list.push(...(replace.get(t.key) ?? [{ key: t.key, from: t }]));
        writeSafetensors(out, list, metadata, (t) => raw(t.key));
      },
      close: () => fs.closeSync(fd),
    };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Writes `tensors` in order; `raw` gives the bytes of a copied one. */
export function writeSafetensors(
  file: string,
  tensors: OutTensor[],
  metadata: Record<string, string> | undefined,
  raw: (t: InTensor) => Buffer,
): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const dtype = 'from' in t ? t.from.dtype : t.dtype;
    const shape = 'from' in t ? t.from.shape : t.shape;
    const bytes = shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype];
    if (t.key in header) throw new Error(`internal error: key ${t.key} twice`);
    header[t.key] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, head);
    fs.writeSync(fd, json);
    for (const t of tensors) fs.writeSync(fd, 'from' in t ? raw(t.from) : encodeFloats(t.values(), t.dtype));
  } finally {
    fs.closeSync(fd);
  }
}
