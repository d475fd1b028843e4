/**
 * The pickle of a PyTorch checkpoint, read without executing it and written back.
 *
 * The reader is a restricted unpickler: it interprets the opcodes a state dict uses (protocols 2
 * to 4: containers, numbers, strings, memo, persistent ids) and accepts exactly four kinds of
 * global: `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
 * `torch._utils._rebuild_parameter` and the `torch.*Storage` classes. It calls nothing: a REDUCE of
 * an accepted global is interpreted here (an OrderedDict, a tensor record), and any other global or
 * opcode (`os.system`, `builtins.eval`, `__reduce__` payloads, INST/OBJ/NEWOBJ) is refused with the
 * name it asked for. The writer emits protocol 2 as `torch.save` does, accepted by
 * `torch.load(path, weights_only=True)`.
 */
import { STORAGE_DTYPE, TORCH_STORAGE, type DType } from './dtype';

export interface StorageRef {
  /** the entry under `<archive>/data/` */
  key: string;
  dtype: DType;
  location: string;
  /** elements */
  numel: number;
}

export interface TensorRef {
  type: 'tensor';
  storage: StorageRef;
  /** elements */
  offset: number;
  shape: number[];
  stride: number[];
  requiresGrad: boolean;
}

export interface PyFloat {
  type: 'float';
  value: number;
}
export interface PyTuple {
  type: 'tuple';
  items: PyValue[];
}
export interface PyList {
  type: 'list';
  items: PyValue[];
}
export interface PyDict {
  type: 'dict';
  ordered: boolean;
  entries: [PyValue, PyValue][];
  /** what BUILD set on it (an OrderedDict's `_metadata`) */
  state?: PyValue;
}

export type PyValue = null | boolean | number | bigint | string | PyFloat | PyTuple | PyList | PyDict | TensorRef;

/** A checkpoint that asks for anything outside the state-dict subset. Nothing has run. */
export class UnsafePickleError extends Error {}

interface Global {
  type: 'global';
  name: string;
}
interface Mark {
  type: 'mark';
}
type Item = PyValue | Global | Mark;

const ALLOWED_FUNCTIONS = new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter']);

function allowedGlobal(module: string, name: string): Global {
  const full = `${module}.${name}`;
  if (ALLOWED_FUNCTIONS.has(full) || (module === 'torch' && STORAGE_DTYPE.has(name))) return { type: 'global', name: full };
  throw new UnsafePickleError(
    `refused: the checkpoint's pickle asks for \`${full}\`, which is not part of a state dict (only OrderedDict, tensors and storages are); nothing was executed`,
  );
}

const OPNAMES: Record<number, string> = { 0x69: 'INST', 0x6f: 'OBJ', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x52: 'REDUCE', 0x50: 'PERSID' };

const isGlobal = (x: Item): x is Global => typeof x === 'object' && x !== null && (x as Global).type === 'global';
const isMark = (x: Item): x is Mark => typeof x === 'object' && x !== null && (x as Mark).type === 'mark';

function toNumber(v: Item, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  throw new UnsafePickleError(`${what} is not an integer`);
}

function intTuple(v: Item, what: string): number[] {
  if (typeof v !== 'object' || v === null || (v as PyTuple).type !== 'tuple') throw new UnsafePickleError(`${what} is not a tuple`);
  return (v as PyTuple).items.map((x) => toNumber(x, what));
}

/** Reads a pickle of a state dict (or of plain containers holding tensors). Throws `UnsafePickleError` on anything else. */
export function unpickle(data: Buffer): PyValue {
  const stack: Item[] = [];
  const memo = new Map<number, Item>();
  let p = 0;
  const popMark = (): Item[] => {
    for (let i = stack.length - 1; i >= 0; i--) {
      if (isMark(stack[i])) {
        const items = stack.splice(i);
        return items.slice(1);
      }
    }
    throw new UnsafePickleError('corrupt pickle: no MARK');
  };
  const pop = (): Item => {
    if (stack.length === 0) throw new UnsafePickleError('corrupt pickle: stack underflow');
    return stack.pop()!;
  };
  const value = (x: Item): PyValue => {
    if (isGlobal(x) || isMark(x)) throw new UnsafePickleError('corrupt pickle: a global or mark used as a value');
    return x;
  };
  // a storage class may sit in a tuple (a persistent id); nowhere else
  const tupleItem = (x: Item): PyValue => {
    if (isMark(x)) throw new UnsafePickleError('corrupt pickle: a mark used as a value');
    return x as PyValue;
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, p);
    if (end < 0) throw new UnsafePickleError('corrupt pickle: unterminated line');
    const s = data.toString('utf8', p, end);
    p = end + 1;
    return s;
  };
  const str = (n: number): string => {
    const s = data.toString('utf8', p, p + n);
    p += n;
    return s;
  };
  const asDict = (x: Item): PyDict => {
    if (typeof x !== 'object' || x === null || (x as PyDict).type !== 'dict')
      throw new UnsafePickleError('corrupt pickle: SETITEM on a non-dict');
    return x as PyDict;
  };
  const asList = (x: Item): PyList => {
    if (typeof x !== 'object' || x === null || (x as PyList).type !== 'list')
      throw new UnsafePickleError('corrupt pickle: APPEND on a non-list');
    return x as PyList;
  };
  while (p < data.length) {
    const op = data[p++];
    switch (op) {
      case 0x80: // PROTO
        p++;
        break;
      case 0x95: // FRAME
        p += 8;
        break;
      case 0x2e: // STOP
        return value(pop());
      case 0x28: // MARK
        stack.push({ type: 'mark' });
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(allowedGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof name !== 'string' || typeof module !== 'string')
          throw new UnsafePickleError('corrupt pickle: STACK_GLOBAL without names');
        stack.push(allowedGlobal(module, name));
        break;
      }
      case 0x71: // BINPUT
        memo.set(data[p++], stack[stack.length - 1]);
        break;
      case 0x72: // LONG_BINPUT
        memo.set(data.readUInt32LE(p), stack[stack.length - 1]);
        p += 4;
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, stack[stack.length - 1]);
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? data[p++] : data.readUInt32LE(p);
        if (op === 0x6a) p += 4;
        if (!memo.has(k)) throw new UnsafePickleError('corrupt pickle: memo miss');
        stack.push(memo.get(k)!);
        break;
      }
      case 0x29:
        stack.push({ type: 'tuple', items: [] });
        break;
      case 0x74:
        stack.push({ type: 'tuple', items: popMark().map(tupleItem) });
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        const n = op - 0x84;
        const items = stack.splice(stack.length - n, n).map(tupleItem);
        if (items.length !== n) throw new UnsafePickleError('corrupt pickle: stack underflow');
        stack.push({ type: 'tuple', items });
        break;
      }
      case 0x7d:
        stack.push({ type: 'dict', ordered: false, entries: [] });
        break;
      case 0x5d:
        stack.push({ type: 'list', items: [] });
        break;
      case 0x61: {
        const v = value(pop());
        asList(stack[stack.length - 1]).items.push(v);
        break;
      }
      case 0x65: {
        const items = popMark().map(value);
        asList(stack[stack.length - 1]).items.push(...items);
        break;
      }
      case 0x73: {
        const v = value(pop());
        const k = value(pop());
        asDict(stack[stack.length - 1]).entries.push([k, v]);
        break;
      }
      case 0x75: {
        const items = popMark().map(value);
        const d = asDict(stack[stack.length - 1]);
        for (let i = 0; i + 1 < items.length; i += 2) d.entries.push([items[i], items[i + 1]]);
        break;
      }
      case 0x4a:
        stack.push(data.readInt32LE(p));
        p += 4;
        break;
      case 0x4b:
        stack.push(data[p++]);
        break;
      case 0x4d:
        stack.push(data.readUInt16LE(p));
        p += 2;
        break;
      case 0x8a: {
        // LONG1
        const n = data[p++];
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[p + i]);
        if (n > 0 && data[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47:
        stack.push({ type: 'float', value: data.readDoubleBE(p) });
        p += 8;
        break;
      case 0x4e:
        stack.push(null);
        break;
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x58: {
        const n = data.readUInt32LE(p);
        p += 4;
        stack.push(str(n));
        break;
      }
      case 0x8c: {
        const n = data[p++];
        stack.push(str(n));
        break;
      }
      case 0x8d: {
        const n = Number(data.readBigUInt64LE(p));
        p += 8;
        stack.push(str(n));
        break;
      }
      case 0x51: {
        // BINPERSID: ('storage', torch.FloatStorage, key, location, numel)
        const pid = value(pop());
        const items =
          typeof pid === 'object' && pid !== null && (pid as PyTuple).type === 'tuple' ? (pid as unknown as { items: Item[] }).items : [];
        const [tag, cls, key, location, numel] = items;
        if (tag !== 'storage' || !isGlobal(cls) || typeof key !== 'string' || typeof location !== 'string') {
          throw new UnsafePickleError('refused: a persistent id other than a tensor storage; nothing was executed');
        }
        const dtype = STORAGE_DTYPE.get(cls.name.slice('torch.'.length));
        if (!dtype) throw new UnsafePickleError(`refused: ${cls.name} is not a storage`);
        stack.push({ type: 'storage-ref', key, dtype, location, numel: toNumber(numel, 'a storage size') } as unknown as Item);
        break;
      }
      case 0x52: {
        // REDUCE: only the accepted globals, interpreted here
        const args = pop();
        const fn = pop();
        if (!isGlobal(fn)) throw new UnsafePickleError('refused: REDUCE of something that is not an accepted global; nothing was executed');
        const a =
          typeof args === 'object' && args !== null && (args as PyTuple).type === 'tuple'
            ? (args as unknown as { items: Item[] }).items
            : undefined;
        if (!a) throw new UnsafePickleError('corrupt pickle: REDUCE without an argument tuple');
        if (fn.name === 'collections.OrderedDict') {
          if (a.length !== 0) throw new UnsafePickleError('refused: OrderedDict built from arguments');
          stack.push({ type: 'dict', ordered: true, entries: [] });
        } else if (fn.name === 'torch._utils._rebuild_tensor_v2') {
          const storage = a[0] as unknown as StorageRef & { type: string };
          if (typeof storage !== 'object' || storage === null || storage.type !== 'storage-ref')
            throw new UnsafePickleError('refused: a tensor without a storage');
          const ref: StorageRef = { key: storage.key, dtype: storage.dtype, location: storage.location, numel: storage.numel };
          stack.push({
            type: 'tensor',
            storage: ref,
            offset: toNumber(a[1], 'a storage offset'),
            shape: intTuple(a[2], 'a tensor size'),
            stride: intTuple(a[3], 'a tensor stride'),
            requiresGrad: a[4] === true,
          });
        } else if (fn.name === 'torch._utils._rebuild_parameter') {
          const t = a[0] as TensorRef;
          if (typeof t !== 'object' || t === null || t.type !== 'tensor')
            throw new UnsafePickleError('refused: a parameter without a tensor');
          stack.push({ ...t, requiresGrad: a[1] === true });
        } else {
          throw new UnsafePickleError(`refused: \`${fn.name}\` called as a function; nothing was executed`);
        }
        break;
      }
      case 0x62: {
        // BUILD: only a dict's attributes (an OrderedDict's `_metadata`)
        const state = value(pop());
        const target = stack[stack.length - 1];
        if (typeof target !== 'object' || target === null || (target as PyDict).type !== 'dict')
          throw new UnsafePickleError('refused: BUILD on something that is not a dict');
        (target as PyDict).state = state;
        break;
      }
      default:
        throw new UnsafePickleError(
          `refused: pickle opcode ${OPNAMES[op] ?? `0x${op.toString(16)} ('${String.fromCharCode(op)}')`} is not part of a state dict; nothing was executed`,
        );
    }
  }
  throw new UnsafePickleError('corrupt pickle: no STOP');
}

/** Writes `value` as protocol-2 pickle the way `torch.save` does. */
export function pickle(value: PyValue): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80, 2])];
  const op = (...bytes: number[]): void => {
    parts.push(Buffer.from(bytes));
  };
  const global = (module: string, name: string): void => {
    parts.push(Buffer.from(`c${module}\n${name}\n`, 'utf8'));
  };
  const emit = (v: PyValue): void => {
    if (v === null) return op(0x4e);
    if (v === true) return op(0x88);
    if (v === false) return op(0x89);
    if (typeof v === 'number' || typeof v === 'bigint') {
      if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new Error(`internal error: ${v} is not an integer`);
      const n = BigInt(v);
      if (n >= 0n && n < 256n) return op(0x4b, Number(n));
      if (n >= 0n && n < 65536n) return op(0x4d, Number(n) & 0xff, Number(n) >> 8);
      if (n >= -(2n ** 31n) && n < 2n ** 31n) {
        const b = Buffer.alloc(5);
        b[0] = 0x4a;
        b.writeInt32LE(Number(n), 1);
        parts.push(b);
        return;
      }
      const bytes: number[] = [];
      let x = n;
      while (true) {
        bytes.push(Number(x & 0xffn));
        x >>= 8n;
        const sign = bytes[bytes.length - 1] & 0x80;
        if ((x === 0n && !sign) || (x === -1n && sign)) break;
      }
      return op(0x8a, bytes.length, ...bytes);
    }
    if (typeof v === 'string') {
      const s = Buffer.from(v, 'utf8');
      const head = Buffer.alloc(5);
      head[0] = 0x58;
      head.writeUInt32LE(s.length, 1);
      parts.push(head, s);
      return;
    }
    switch (v.type) {
      case 'float': {
        const b = Buffer.alloc(9);
        b[0] = 0x47;
        b.writeDoubleBE(v.value, 1);
        parts.push(b);
        return;
      }
      case 'tuple':
        if (v.items.length === 0) return op(0x29);
        if (v.items.length <= 3) {
          v.items.forEach(emit);
          return op(0x84 + v.items.length);
        }
        op(0x28);
        v.items.forEach(emit);
        return op(0x74);
      case 'list':
        op(0x5d);
        if (v.items.length) {
          op(0x28);
          v.items.forEach(emit);
          op(0x65);
        }
        return;
      case 'dict':
        if (v.ordered) {
          global('collections', 'OrderedDict');
          op(0x29, 0x52);
        } else op(0x7d);
        if (v.entries.length) {
          op(0x28);
          for (const [k, x] of v.entries) {
            emit(k);
            emit(x);
          }
          op(0x75);
        }
        if (v.state !== undefined) {
          emit(v.state);
          op(0x62);
        }
        return;
      case 'tensor': {
        global('torch._utils', '_rebuild_tensor_v2');
        op(0x28, 0x28);
        emit('storage');
        global('torch', TORCH_STORAGE[v.storage.dtype]);
        emit(v.storage.key);
        emit(v.storage.location);
        emit(v.storage.numel);
        op(0x74, 0x51);
        emit(v.offset);
        emit({ type: 'tuple', items: v.shape });
        emit({ type: 'tuple', items: v.stride });
        emit(v.requiresGrad);
        emit({ type: 'dict', ordered: true, entries: [] });
        op(0x74, 0x52);
        return;
      }
    }
    throw new Error(`internal error: cannot pickle ${JSON.stringify(v)}`);
  };
  emit(value);
  op(0x2e);
  return Buffer.concat(parts);
}
