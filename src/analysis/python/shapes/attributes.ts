/** The interpreter's attribute and item reads and writes, and iteration over values. */
import type { Node } from 'web-tree-sitter';
import { methodValue, putEntry, pyStr, valuesEqual } from './builtins';
import { carryDtype, integerIndex } from './dtypes';
import { dropData } from './tensorData';
import type { Interp } from './interpreter';
import { nativeModuleAttribute } from './torch/moduleMethods';
import { tensorAttribute, tensorItem } from './torch/tensors';
import { describe, intOf, NONE, resolved, sliceIndices, strV, type ModuleObj, type Unknown, type V } from './values';

export function getAttr(ip: Interp, obj: V, name: string, at: Node): V {
  switch (obj.kind) {
    case 'unknown':
      return obj;
    case 'module':
      return moduleAttr(ip, obj, name, at);
    case 'object': {
      const own = obj.o.attrs.get(name);
      // an Enum member's value, computed on first read (classes.ts classBody)
      if (own !== undefined) return own.kind === 'lazy' ? resolved(obj.o.attrs, name, own) : own;
      const member = ip.classMember(obj.o.cls, name, obj, at);
      if (member !== undefined) return member;
      // a class's own `__getattr__` answers what is not found
      const fallback = name.startsWith('__') ? undefined : ip.classMember(obj.o.cls, '__getattr__', obj, at);
      return fallback
        ? ip.call(fallback, { args: [strV(name)], kwargs: new Map() }, at)
        : ip.fail(at, `${obj.o.cls.name} has no attribute \`${name}\``);
    }
    case 'class':
      return ip.classMember(obj.c, name, undefined, at) ?? ip.fail(at, `class ${obj.c.name} has no attribute \`${name}\``);
    case 'super':
      return ip.superAttr(obj, name, at);
    case 'lib':
      return libAttr(obj.path, name);
    case 'pymodule': {
      const v = obj.env.globals.get(name);
      if (v !== undefined) {
        const r = v.kind === 'lazy' ? resolved(obj.env.globals, name, v) : v;
        ip.memo.read(r);
        return r;
      }
      const file = ip.program.resolve(obj.env.file.path, 1, name);
      return file ? { kind: 'pymodule', env: ip.moduleEnv(file) } : ip.fail(at, `module ${obj.env.name} has no \`${name}\``);
    }
    case 'tensor':
      return tensorAttribute(ip, obj, name, at);
    case 'native':
      // `object.__getattribute__(obj, name)` (an enum's `__getattr__` reading its value's fields)
      if (obj.name === 'builtins.object' && name === '__getattribute__') return { kind: 'native', name: 'builtins.getattr' };
      return ip.fail(at, `${describe(obj)} has no attribute \`${name}\``);
    default:
      return methodValue(obj, name) ?? ip.fail(at, `${describe(obj)} has no attribute \`${name}\``);
  }
}

export function moduleAttr(ip: Interp, obj: V & { kind: 'module' }, name: string, at: Node): V {
  const m = obj.m;
  if (m.modules.has(name)) {
    const sub = m.modules.get(name);
    return sub ? { kind: 'module', m: sub } : NONE;
  }
  const own = m.attrs.get(name);
  if (own !== undefined) return own;
  if (m.cls) {
    const member = ip.classMember(m.cls, name, obj, at, true);
    if (member !== undefined) return member;
  }
  if (name === 'training') return { kind: 'bool', value: false };
  if (name === '__class__') return m.cls ? { kind: 'class', c: m.cls } : { kind: 'lib', path: `torch.nn.${m.native?.type ?? 'Module'}` };
  return nativeModuleAttribute(ip, obj, name, at);
}

export function getItem(ip: Interp, obj: V, key: V, at: Node): V {
  if (obj.kind === 'unknown') return obj;
  if (key.kind === 'unknown') return key;
  switch (obj.kind) {
    case 'tuple':
    case 'list':
    case 'str': {
      const items: V[] = obj.kind === 'str' ? [...obj.value].map(strV) : obj.items;
      if (key.kind === 'slice') {
        const idx = sliceIndices(key, items.length);
        if (!idx) return ip.fail(at, 'slice bounds');
        const picked = idx.map((i) => items[i]);
        if (obj.kind === 'str') return strV(picked.map((p) => (p as { value: string }).value).join(''));
        return { kind: obj.kind, items: picked };
      }
      const i = intOf(key);
      if (i === undefined) return ip.fail(at, 'index is not an integer');
      const item = items[i < 0 ? items.length + i : i];
      return item ?? ip.fail(at, `index ${i} out of range`);
    }
    case 'dict': {
      const hit = obj.entries.find(([k]) => valuesEqual(k, key) === true);
      return hit ? hit[1] : ip.fail(at, `key ${pyStr(key) ?? '?'} not found`);
    }
    case 'module': {
      const t = obj.m.native?.type;
      const children = [...obj.m.modules.entries()].filter(([, m]) => m !== null) as [string, ModuleObj][];
      if (t === 'ModuleDict') {
        if (key.kind !== 'str') return ip.fail(at, 'ModuleDict key');
        const m = obj.m.modules.get(key.value);
        return m ? { kind: 'module', m } : ip.fail(at, `no module \`${key.value}\``);
      }
      if (t === 'Sequential' || t === 'ModuleList') {
        if (key.kind === 'slice') {
          const idx = sliceIndices(key, children.length);
          if (!idx) return ip.fail(at, 'slice bounds');
          const m = ip.newModule(undefined, { type: t, params: 0, attrs: new Map(), data: {} }, undefined);
          // a slice keeps the original names (PyTorch's OrderedDict slice)
          for (const i of idx) m.modules.set(children[i][0], children[i][1]);
          return { kind: 'module', m };
        }
        const i = intOf(key);
        if (i === undefined) return ip.fail(at, 'index is not an integer');
        const hit = children[i < 0 ? children.length + i : i];
        return hit ? { kind: 'module', m: hit[1] } : ip.fail(at, `index ${i} out of range`);
      }
      return ip.fail(at, `${describe(obj)} is not subscriptable`);
    }
    case 'tensor': {
      // an integer tensor key gathers (`table[index]`); a mask or an untyped tensor is left to tensorItem
      const gathered = integerIndex(obj, key);
      return carryDtype('getitem', [obj], undefined, gathered ? { kind: 'tensor', shape: gathered.shape } : tensorItem(ip, obj, key, at));
    }
    case 'lib':
      return obj; // typing.List[int] and friends
    case 'class':
      return obj; // Generic[T]
    default:
      return ip.fail(at, `${describe(obj)} is not subscriptable`);
  }
}

export function setItem(obj: V, key: V, v: V, at: Node): void {
  dropData(obj);
  if (obj.kind === 'list') {
    const i = intOf(key);
    if (i !== undefined && obj.items[i < 0 ? obj.items.length + i : i] !== undefined) obj.items[i < 0 ? obj.items.length + i : i] = v;
  } else if (obj.kind === 'dict') {
    putEntry(obj.entries, key, v);
  } else if (obj.kind === 'module' && v.kind === 'module') {
    if (key.kind === 'str') obj.m.modules.set(key.value, v.m);
    else if (intOf(key) !== undefined) {
      const names = [...obj.m.modules.keys()];
      const i = intOf(key)!;
      const name = names[i < 0 ? names.length + i : i];
      if (name !== undefined) obj.m.modules.set(name, v.m);
    }
  }
  void at;
}

/** The items a `for` walks over, or an unknown value saying why not. */
export function iterate(ip: Interp, v: V, at: Node): V[] | Unknown {
  switch (v.kind) {
    case 'unknown':
      return v;
    case 'list':
    case 'tuple':
      return [...v.items];
    case 'str':
      return [...v.value].map(strV);
    case 'dict':
      return v.entries.map(([k]) => k);
    case 'module': {
      const t = v.m.native?.type;
      if (t === 'ModuleDict') return [...v.m.modules.keys()].map(strV);
      if (t === 'Sequential' || t === 'ModuleList')
        return [...v.m.modules.values()].filter((m) => m !== null).map((m) => ({ kind: 'module', m: m }));
      return ip.fail(at, `${describe(v)} is not iterable`) as Unknown;
    }
    case 'tensor': {
      const n = typeof v.shape[0] === 'number' ? v.shape[0] : undefined;
      if (n === undefined || n > 4096) return ip.fail(at, 'iterating over a tensor') as Unknown;
      return Array.from({ length: n }, () => ({ kind: 'tensor', shape: v.shape.slice(1) }));
    }
    default:
      return ip.fail(at, `${describe(v)} is not iterable`) as Unknown;
  }
}

function libAttr(base: string, name: string): V {
  const p = `${base}.${name}`;
  if (p === 'math.pi') return { kind: 'float', value: Math.PI };
  if (p === 'math.e') return { kind: 'float', value: Math.E };
  if (p === 'math.inf' || p === 'float.inf') return { kind: 'float', value: Infinity };
  return { kind: 'lib', path: p };
}
