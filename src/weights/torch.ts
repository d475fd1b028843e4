/**
 * PyTorch checkpoints as `torch.save` writes them since 1.6: a zip of `<name>/data.pkl` (the pickle,
 * read by the restricted unpickler), `<name>/data/<key>` (one entry per storage, raw little-endian)
 * and `<name>/version`. The state dict is the top-level dict of tensors, or the one under
 * `state_dict` / `model` / `model_state_dict` of a training checkpoint. Writing keeps every other
 * entry, value and the `_metadata` of the dict; storages are copied entry by entry and new tensors
 * are computed one at a time, so memory stays near one layer's weights.
 */
import * as zlib from 'node:zlib';
import type { Checkpoint, InTensor, OutTensor } from './checkpoint';
import { decodeFloats, DTYPE_SIZE, encodeFloats, type DType } from './dtype';
import { pickle, unpickle, type PyDict, type PyValue, type TensorRef } from './pickle';
import { ZipReader, ZipWriter } from './zip';

const NESTED_KEYS = ['state_dict', 'model_state_dict', 'model'];

const isDict = (v: PyValue): v is PyDict => typeof v === 'object' && v !== null && (v as PyDict).type === 'dict';
const isTensor = (v: PyValue): v is TensorRef => typeof v === 'object' && v !== null && (v as TensorRef).type === 'tensor';

/** The dict holding the weights: the top level, or one of the usual keys of a training checkpoint. */
function findStateDict(root: PyValue): PyDict {
  if (!isDict(root)) throw new Error('the checkpoint is not a dict of tensors (a state dict)');
  if (root.entries.some(([, v]) => isTensor(v))) return root;
  for (const name of NESTED_KEYS) {
    const hit = root.entries.find(([k, v]) => k === name && isDict(v));
    if (hit && (hit[1] as PyDict).entries.some(([, v]) => isTensor(v))) return hit[1] as PyDict;
  }
  throw new Error(`no state dict in the checkpoint (no tensors at the top level or under ${NESTED_KEYS.join(', ')})`);
}

const contiguousStride = (shape: number[]) => {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i];
  }
  return stride;
};

export function readTorch(file: string): Checkpoint {
  const zip = new ZipReader(file);
  try {
    const pklName = [...zip.entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (!pklName) throw new Error('not a PyTorch checkpoint: no <name>/data.pkl in the zip');
    const prefix = pklName.slice(0, -'data.pkl'.length);
    const root = unpickle(zip.read(zip.entries.get(pklName)!));
    const sd = findStateDict(root);
    const tensors = new Map<string, InTensor>();
    for (const [k, v] of sd.entries) {
      if (typeof k !== 'string' || !isTensor(v)) continue;
      const t = v;
      tensors.set(k, {
        key: k,
        dtype: t.storage.dtype,
        shape: t.shape,
        values() {
          const entry = zip.entries.get(`${prefix}data/${t.storage.key}`);
          if (!entry) throw new Error(`the checkpoint lacks the storage of ${k}`);
          const size = DTYPE_SIZE[t.storage.dtype];
          const numel = t.shape.reduce((a, b) => a * b, 1);
          const stride = contiguousStride(t.shape);
          if (t.stride.every((s, i) => s === stride[i] || t.shape[i] === 1))
            return decodeFloats(zip.read(entry, t.offset * size, numel * size), t.storage.dtype, numel);
          // a view: gather element by element
          const all = decodeFloats(zip.read(entry), t.storage.dtype, t.storage.numel);
          const out = new Float64Array(numel);
          for (let i = 0; i < numel; i++) {
            let rest = i;
            let at = t.offset;
            for (let d = t.shape.length - 1; d >= 0; d--) {
              at += (rest % t.shape[d]) * t.stride[d];
              rest = Math.floor(rest / t.shape[d]);
            }
            out[i] = all[at];
          }
          return out;
        },
      });
    }
    return {
      format: 'pytorch',
      tensors,
      write(out: string, replace: Map<string, OutTensor[]>) {
        writeTorch(out, zip, prefix, root, sd, replace);
      },
      close: () => zip.close(),
    };
  } catch (e) {
    zip.close();
    throw e;
  }
}

function writeTorch(out: string, zip: ZipReader, prefix: string, root: PyValue, sd: PyDict, replace: Map<string, OutTensor[]>): void {
  const oldEntries = sd.entries;
  const oldState = sd.state;
  // storages of tensors outside the state dict (an optimizer's buffers) are kept, and new keys come after every key
  const used = new Set<string>();
  let next = 0;
  const walk = (v: PyValue, inStateDict: boolean): void => {
    if (typeof v !== 'object' || v === null) return;
    if (isTensor(v)) {
      next = Math.max(next, Number(v.storage.key) + 1 || 0);
      if (!inStateDict) used.add(v.storage.key);
    } else if (v.type === 'dict') {
      for (const [k, x] of v.entries) {
        walk(k, false);
        walk(x, v === sd);
      }
      if (v.state !== undefined) walk(v.state, false);
    } else if (v.type === 'list' || v.type === 'tuple') for (const x of v.items) walk(x, false);
  };
  walk(root, false);
  for (const name of zip.entries.keys()) {
    const n = name.startsWith(`${prefix}data/`) ? Number(name.slice(`${prefix}data/`.length)) : NaN;
    if (Number.isInteger(n)) next = Math.max(next, n + 1);
  }
  const fresh: { key: string; dtype: DType; values: () => Float64Array; numel: number }[] = [];
  const location = oldEntries.map(([, v]) => v).find(isTensor)?.storage.location ?? 'cpu';
  const entries: [PyValue, PyValue][] = [];
  const newPaths = new Set<string>();
  for (const [k, v] of oldEntries) {
    const repl = typeof k === 'string' ? replace.get(k) : undefined;
    if (!repl) {
      if (isTensor(v)) used.add(v.storage.key);
      entries.push([k, v]);
      continue;
    }
    for (const t of repl) {
      newPaths.add(t.key.slice(0, t.key.lastIndexOf('.')));
      if ('from' in t) {
        const old = oldEntries.find(([kk]) => kk === t.from.key)![1] as TensorRef;
        used.add(old.storage.key);
        entries.push([t.key, old]);
        continue;
      }
      const numel = t.shape.reduce((a, b) => a * b, 1);
      const key = String(next++);
      fresh.push({ key, dtype: t.dtype, values: t.values, numel });
      const ref: TensorRef = {
        type: 'tensor',
        storage: { key, dtype: t.dtype, location, numel },
        offset: 0,
        shape: t.shape,
        stride: contiguousStride(t.shape),
        requiresGrad: false,
      };
      entries.push([t.key, ref]);
    }
  }
  // `_metadata` (module versions) for the new modules, as load_state_dict reads it
  let state = oldState;
  if (oldState && isDict(oldState)) {
    const meta = oldState.entries.find(([k, v]) => k === '_metadata' && isDict(v))?.[1] as PyDict | undefined;
    if (meta) {
      const metaEntries = [...meta.entries];
      for (const p of newPaths) {
        if (metaEntries.some(([k]) => k === p)) continue;
        const isNorm = [...replace.values()].some((ts) => ts.some((t) => t.key === `${p}.running_var`));
        metaEntries.push([p, { type: 'dict', ordered: false, entries: [['version', isNorm ? 2 : 1]] }]);
      }
      state = {
        ...oldState,
        entries: oldState.entries.map(([k, v]) => (k === '_metadata' ? [k, { ...meta, entries: metaEntries }] : [k, v])),
      };
    }
  }
  sd.entries = entries;
  sd.state = state;
  let pkl: Buffer;
  try {
    pkl = pickle(root);
  } finally {
    sd.entries = oldEntries;
    sd.state = oldState;
  }
  const w = new ZipWriter(out);
  try {
    w.add(`${prefix}data.pkl`, pkl);
    for (const [name, entry] of zip.entries) {
      if (name === `${prefix}data.pkl`) continue;
      const storage = name.startsWith(`${prefix}data/`) ? name.slice(`${prefix}data/`.length) : undefined;
      if (storage !== undefined && !used.has(storage)) continue;
      if (entry.method === 0) w.addStream(name, entry.size, entry.crc32, (sink) => zip.copy(entry, sink));
      else w.add(name, zip.read(entry));
    }
    for (const f of fresh) {
      const bytes = encodeFloats(f.values(), f.dtype);
      w.addStream(`${prefix}data/${f.key}`, bytes.length, zlib.crc32(bytes), (sink) => sink(bytes));
    }
    w.finish();
  } catch (e) {
    w.abort();
    throw e;
  }
}
