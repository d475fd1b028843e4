/**
 * Python's builtins and the methods of its containers, as far as model code uses them: range,
 * len, enumerate, zip, isinstance, min/max/sum, list.append/extend, dict.items, str.format, `%`
 * formatting, and the glue for library calls (bound tensor and module methods, partials).
 */
import type { Node } from 'web-tree-sitter';
import { canonical } from '../imports';
import type { Host } from './host';
import { carryDtype, castDtype } from './dtypes';
import { callModuleMethod } from './torch/moduleMethods';
import { initNative } from './torch/modules';
import { callTensorMethod } from './torch/tensors';
import { isInstance, typeOf } from './types';
import { describe, intOf, intV, MAX_ITEMS, NONE, numOf, strV, unknown, type CallArgs, type V } from './values';
import { grouped } from '../../digits';

const BUILTINS = new Set([
  'range',
  'len',
  'enumerate',
  'zip',
  'list',
  'tuple',
  'dict',
  'set',
  'frozenset',
  'int',
  'float',
  'bool',
  'str',
  'min',
  'max',
  'sum',
  'abs',
  'round',
  'isinstance',
  'issubclass',
  'hasattr',
  'getattr',
  'setattr',
  'print',
  'sorted',
  'reversed',
  'any',
  'all',
  'map',
  'filter',
  'type',
  'iter',
  'next',
  'callable',
  'divmod',
  'pow',
  'id',
  'repr',
  'object',
  'NotImplemented',
  'Exception',
  'ValueError',
  'TypeError',
  'RuntimeError',
  'NotImplementedError',
  'AssertionError',
  'KeyError',
  'IndexError',
  'ImportError',
  'AttributeError',
  'property',
  'staticmethod',
  'classmethod',
  'vars',
  'slice',
]);

export function builtinValue(name: string): V | undefined {
  return BUILTINS.has(name) ? { kind: 'native', name: `builtins.${name}` } : undefined;
}

/** `list.append`, `dict.items`, `str.format` ... bound to their object. */
export function methodValue(obj: V, name: string): V | undefined {
  const kind = obj.kind === 'list' || obj.kind === 'tuple' || obj.kind === 'dict' || obj.kind === 'str' ? obj.kind : undefined;
  if (!kind) return undefined;
  const methods: Record<string, string[]> = {
    // (a set is read as a list of distinct items: `set(return_layers).issubset(names)`)
    list: ['append', 'extend', 'insert', 'pop', 'index', 'copy', 'reverse', 'count', 'remove', 'clear', 'issubset', 'issuperset'],
    tuple: ['index', 'count'],
    dict: ['items', 'keys', 'values', 'get', 'update', 'pop', 'setdefault', 'copy'],
    str: ['format', 'join', 'lower', 'upper', 'strip', 'replace', 'split', 'startswith', 'endswith'],
  };
  return methods[kind].includes(name) ? { kind: 'native', name: `${kind}.${name}`, self: obj } : undefined;
}

/** `str(v)`, or undefined for values that have no useful text. */
export function pyStr(v: V): string | undefined {
  switch (v.kind) {
    case 'int':
      return v.poly.constant !== undefined ? String(v.poly.constant) : undefined;
    case 'float':
      return Number.isInteger(v.value) ? `${v.value}.0` : String(v.value);
    case 'bool':
      return v.value ? 'True' : 'False';
    case 'none':
      return 'None';
    case 'str':
      return v.value;
    case 'tuple':
    case 'list': {
      const parts = v.items.map((x) => (x.kind === 'str' ? `'${x.value}'` : pyStr(x)));
      if (parts.some((p) => p === undefined)) return undefined;
      if (v.kind === 'list') return `[${parts.join(', ')}]`;
      return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(', ')})`;
    }
    default:
      return undefined;
  }
}

/** Python `==` for the values where it is decidable. */
export function valuesEqual(a: V, b: V): boolean | undefined {
  if (a.kind === 'unknown' || b.kind === 'unknown') return undefined;
  const x = numOf(a);
  const y = numOf(b);
  if (x !== undefined && y !== undefined) return x === y;
  if (a.kind === 'str' && b.kind === 'str') return a.value === b.value;
  if (a.kind === 'none' || b.kind === 'none') return a.kind === b.kind;
  if ((a.kind === 'tuple' || a.kind === 'list') && (b.kind === 'tuple' || b.kind === 'list')) {
    if (a.kind !== b.kind || a.items.length !== b.items.length) return false;
    let unsure = false;
    for (let i = 0; i < a.items.length; i++) {
      const e = valuesEqual(a.items[i], b.items[i]);
      if (e === false) return false;
      if (e === undefined) unsure = true;
    }
    return unsure ? undefined : true;
  }
  if (a.kind === 'module' && b.kind === 'module') return a.m === b.m;
  if (a.kind === 'class' && b.kind === 'class') return a.c === b.c;
  if (a.kind === 'lib' && b.kind === 'lib') return canonical(a.path) === canonical(b.path);
  if (a.kind === 'tensor' || b.kind === 'tensor') return undefined;
  if (a.kind === 'str' || b.kind === 'str' || x !== undefined || y !== undefined) return false;
  return a === b ? true : undefined;
}

/** `'layer%d' % i`, `'%s_%02d' % (a, b)`; undefined when a conversion is not understood. */
export function formatPercent(fmt: string, args: V): string | undefined {
  const items = args.kind === 'tuple' ? args.items : [args];
  let i = 0;
  let failed = false;
  const out = fmt.replace(
    /%([-+ 0#]*)(\d*)(?:\.(\d+))?([diouxXeEfFgGcrs%])/g,
    (_m, flags: string, width: string, prec: string | undefined, conv: string) => {
      if (conv === '%') return '%';
      const v = items[i++];
      if (!v) {
        failed = true;
        return '';
      }
      let s: string | undefined;
      if ('diu'.includes(conv)) s = numOf(v) !== undefined ? String(Math.trunc(numOf(v)!)) : undefined;
      else if (conv === 'x' || conv === 'X') s = intOf(v) !== undefined ? intOf(v)!.toString(16) : undefined;
      else if ('fF'.includes(conv)) s = numOf(v) !== undefined ? numOf(v)!.toFixed(prec === undefined ? 6 : Number(prec)) : undefined;
      else if (conv === 's' || conv === 'r') s = conv === 'r' && v.kind === 'str' ? `'${v.value}'` : pyStr(v);
      if (s === undefined) {
        failed = true;
        return '';
      }
      const w = Number(width || 0);
      if (s.length < w)
        s = flags.includes('-') ? s.padEnd(w) : flags.includes('0') && !'sr'.includes(conv) ? s.padStart(w, '0') : s.padStart(w);
      return s;
    },
  );
  return failed || i < items.length ? undefined : out;
}

function strFormat(fmt: string, a: CallArgs): string | undefined {
  let auto = 0;
  let failed = false;
  const out = fmt.replace(/\{\{|\}\}|\{([^{}:!]*)(?:![rs])?(?::([^{}]*))?\}/g, (m, field: string | undefined, spec: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    const key = field ?? '';
    const v = key === '' ? a.args[auto++] : /^\d+$/.test(key) ? a.args[Number(key)] : a.kwargs.get(key);
    if (!v) {
      failed = true;
      return '';
    }
    const s = spec ? formatPercent(`%${spec.replace(/^[<>^]/, '')}`, v) : pyStr(v);
    if (s === undefined) failed = true;
    return s ?? '';
  });
  return failed ? undefined : out;
}

function merged(fn: V & { kind: 'native' }, a: CallArgs): CallArgs {
  if (!fn.partial) return a;
  return { args: [...fn.partial.args, ...a.args], kwargs: new Map([...fn.partial.kwargs, ...a.kwargs]) };
}

/** Calls a `native` value: a Python builtin, a container method, a bound tensor/module method, a partial. */
export function callBuiltin(interp: Host, fn: V & { kind: 'native' }, given: CallArgs, at: Node): V {
  const a = merged(fn, given);
  const name = fn.name;
  if (name === 'functools.partial') return interp.call(fn.self!, a, at);
  if (name.startsWith('tensor.')) {
    const t = fn.self as V & { kind: 'tensor' };
    const method = name.slice(7);
    return castDtype(t, method, a) ?? carryDtype(method, [t, ...a.args], a, callTensorMethod(interp, t, method, a, at));
  }
  if (name.startsWith('module.')) return callModuleMethod(interp, fn.self as V & { kind: 'module' }, name.slice(7), a, at);
  if (name === 'nn.__init__') {
    const base = a.args[0] as V & { kind: 'lib' };
    const self = fn.self as V & { kind: 'module' };
    initNative(interp, self.m, base.path, { args: a.args.slice(1), kwargs: a.kwargs }, at);
    return NONE;
  }
  if (name === 'builtins.noop') return NONE;
  if (name === 'dataclass.__init__' && fn.self?.kind === 'object' && a.args[0]?.kind === 'class') {
    const err = interp.dataclassInit(a.args[0].c, fn.self.o, { args: a.args.slice(1), kwargs: a.kwargs }, at);
    return err ? interp.fail(at, `${a.args[0].c.name}.__init__(): ${err}`) : NONE;
  }
  const dot = name.indexOf('.');
  const owner = name.slice(0, dot);
  const method = name.slice(dot + 1);
  if (owner === 'builtins') return builtin(interp, method, a, at);
  return containerMethod(interp, owner, method, fn.self!, a, at);
}

function builtin(interp: Host, name: string, a: CallArgs, at: Node): V {
  const args = a.args;
  const arg0 = args[0];
  const firstUnknown = [...args, ...a.kwargs.values()].find((x) => x.kind === 'unknown');
  const iter = (v: V) => interp.iterate(v, at);
  switch (name) {
    case 'print':
    case 'setattr':
      if (name === 'setattr' && args.length === 3 && args[1].kind === 'str') interp.setAttr(args[0], args[1].value, args[2]);
      return NONE;
    case 'range': {
      const nums = args.map(intOf);
      if (firstUnknown) return firstUnknown;
      if (nums.some((n) => n === undefined) || nums.length === 0) return interp.fail(at, 'range() of non-integers');
      const [start, stop, step] = nums.length === 1 ? [0, nums[0]!, 1] : [nums[0]!, nums[1]!, nums[2] ?? 1];
      if (step === 0 || Math.abs((stop - start) / step) > MAX_ITEMS)
        return interp.fail(at, `budget: range() of more than ${grouped(MAX_ITEMS)} items`);
      const items: V[] = [];
      for (let i = start; step > 0 ? i < stop : i > stop; i += step) items.push(intV(i));
      return { kind: 'list', items };
    }
    case 'len': {
      if (!arg0) return interp.fail(at, 'len()');
      if (arg0.kind === 'list' || arg0.kind === 'tuple') return intV(arg0.items.length);
      if (arg0.kind === 'str') return intV(arg0.value.length);
      if (arg0.kind === 'dict') return intV(arg0.entries.length);
      if (arg0.kind === 'module' && arg0.m.native && ['Sequential', 'ModuleList', 'ModuleDict'].includes(arg0.m.native.type))
        return intV(arg0.m.modules.size);
      if (arg0.kind === 'tensor') {
        const d = arg0.shape[0];
        const n = d === undefined ? undefined : typeof d === 'number' ? d : d.value;
        return n === undefined ? interp.fail(at, 'len() of a tensor whose size is not known') : intV(n);
      }
      return arg0.kind === 'unknown' ? arg0 : interp.fail(at, `len() of ${describe(arg0)}`);
    }
    case 'enumerate': {
      const items = arg0 ? iter(arg0) : interp.fail(at);
      if (!Array.isArray(items)) return items;
      const start = intOf(args[1] ?? a.kwargs.get('start') ?? intV(0)) ?? 0;
      return { kind: 'list', items: items.map((x, i) => ({ kind: 'tuple', items: [intV(start + i), x] })) };
    }
    case 'zip': {
      const lists: V[][] = [];
      for (const x of args) {
        const items = iter(x);
        if (!Array.isArray(items)) return items;
        lists.push(items);
      }
      const n = lists.length ? Math.min(...lists.map((l) => l.length)) : 0;
      return { kind: 'list', items: Array.from({ length: n }, (_, i) => ({ kind: 'tuple', items: lists.map((l) => l[i]) })) };
    }
    case 'list':
    case 'tuple':
    case 'set':
    case 'frozenset': {
      if (!arg0) return { kind: name === 'tuple' ? 'tuple' : 'list', items: [] };
      const items = iter(arg0);
      if (!Array.isArray(items)) return items;
      if (name === 'set' || name === 'frozenset') {
        const uniq: V[] = [];
        for (const x of items) if (!uniq.some((u) => valuesEqual(u, x) === true)) uniq.push(x);
        return { kind: 'list', items: uniq };
      }
      return { kind: name === 'tuple' ? 'tuple' : 'list', items };
    }
    case 'dict': {
      const entries: [V, V][] = [];
      if (arg0?.kind === 'dict') entries.push(...arg0.entries);
      else if (arg0) {
        const items = iter(arg0);
        if (!Array.isArray(items)) return items;
        for (const p of items) {
          if ((p.kind !== 'tuple' && p.kind !== 'list') || p.items.length !== 2) return interp.fail(at, 'dict() of non-pairs');
          entries.push([p.items[0], p.items[1]]);
        }
      }
      for (const [k, v] of a.kwargs) entries.push([strV(k), v]);
      return { kind: 'dict', entries };
    }
    case 'int': {
      if (!arg0) return intV(0);
      if (arg0.kind === 'int') return arg0;
      if (arg0.kind === 'float') return intV(Math.trunc(arg0.value));
      if (arg0.kind === 'bool') return intV(arg0.value ? 1 : 0);
      if (arg0.kind === 'str' && /^\s*-?\d+\s*$/.test(arg0.value)) return intV(Number(arg0.value));
      return arg0.kind === 'unknown' ? arg0 : interp.fail(at, `int() of ${describe(arg0)}`);
    }
    case 'float': {
      if (!arg0) return { kind: 'float', value: 0 };
      const n = numOf(arg0);
      if (n !== undefined) return { kind: 'float', value: n };
      if (arg0.kind === 'str' && !Number.isNaN(Number(arg0.value))) return { kind: 'float', value: Number(arg0.value) };
      if (arg0.kind === 'str' && /^[-+]?inf(inity)?$/i.test(arg0.value.trim()))
        return { kind: 'float', value: arg0.value.includes('-') ? -Infinity : Infinity };
      return arg0.kind === 'unknown' ? arg0 : interp.fail(at, `float() of ${describe(arg0)}`);
    }
    case 'bool': {
      if (!arg0) return { kind: 'bool', value: false };
      const t = interp.truthy(arg0);
      return t === undefined ? interp.fail(at, 'bool() of an unknown value') : { kind: 'bool', value: t };
    }
    case 'str':
    case 'repr': {
      if (!arg0) return strV('');
      const s = name === 'repr' && arg0.kind === 'str' ? `'${arg0.value}'` : pyStr(arg0);
      return s === undefined ? interp.fail(at, `str() of ${describe(arg0)}`) : strV(s);
    }
    case 'min':
    case 'max': {
      const items = args.length === 1 ? iter(arg0) : args;
      if (!Array.isArray(items)) return items;
      if (items.length === 0) return a.kwargs.get('default') ?? interp.fail(at, `${name}() of nothing`);
      if (a.kwargs.has('key')) return interp.fail(at, `${name}(key=...)`);
      let best = items[0];
      for (const x of items.slice(1)) {
        const c = interp.compare(name === 'min' ? '<' : '>', x, best, at);
        if (c.kind !== 'bool') return c;
        if (c.value) best = x;
      }
      return best;
    }
    case 'sum': {
      const items = arg0 ? iter(arg0) : interp.fail(at);
      if (!Array.isArray(items)) return items;
      let acc: V = args[1] ?? a.kwargs.get('start') ?? intV(0);
      for (const x of items) acc = interp.binop('+', acc, x, at);
      return acc;
    }
    case 'abs': {
      if (!arg0) return interp.fail(at);
      if (arg0.kind === 'tensor') return arg0;
      const n = numOf(arg0);
      if (n === undefined) return arg0.kind === 'unknown' ? arg0 : interp.fail(at, 'abs()');
      return arg0.kind === 'float' ? { kind: 'float', value: Math.abs(n) } : intV(Math.abs(n));
    }
    case 'round': {
      const n = arg0 ? numOf(arg0) : undefined;
      if (n === undefined) return firstUnknown ?? interp.fail(at, 'round()');
      const digits = args[1] ? intOf(args[1]) : undefined;
      if (digits !== undefined) return { kind: 'float', value: Math.round(n * 10 ** digits) / 10 ** digits };
      // Python rounds halves to even
      const f = Math.floor(n);
      const diff = n - f;
      return intV(diff > 0.5 ? f + 1 : diff < 0.5 ? f : f % 2 === 0 ? f : f + 1);
    }
    case 'divmod': {
      const x = arg0 ? intOf(arg0) : undefined;
      const y = args[1] ? intOf(args[1]) : undefined;
      if (x === undefined || y === undefined || y === 0) return firstUnknown ?? interp.fail(at, 'divmod()');
      return { kind: 'tuple', items: [intV(Math.floor(x / y)), intV(x - Math.floor(x / y) * y)] };
    }
    case 'pow':
      return args.length === 2 ? interp.binop('**', args[0], args[1], at) : interp.fail(at, 'pow()');
    case 'isinstance':
    case 'issubclass': {
      if (args.length !== 2) return interp.fail(at, `${name}()`);
      const r = isInstance(interp, args[0], args[1], name === 'issubclass');
      return r === undefined ? (firstUnknown ?? interp.fail(at, `${name}() cannot be decided`)) : { kind: 'bool', value: r };
    }
    case 'hasattr':
    case 'getattr': {
      const obj = args[0];
      const attr = args[1];
      if (!obj || attr?.kind !== 'str') return firstUnknown ?? interp.fail(at, `${name}()`);
      if (obj.kind === 'unknown') return obj;
      const v = interp.getAttr(obj, attr.value, at);
      const missing = v.kind === 'unknown' && / has no attribute /.test(v.why);
      if (name === 'hasattr') return missing ? { kind: 'bool', value: false } : v.kind === 'unknown' ? v : { kind: 'bool', value: true };
      if (missing && args[2]) return args[2];
      return v;
    }
    case 'sorted':
    case 'reversed': {
      const items = arg0 ? iter(arg0) : interp.fail(at);
      if (!Array.isArray(items)) return items;
      if (name === 'reversed') return { kind: 'list', items: items.reverse() };
      if (items.every((x) => numOf(x) !== undefined)) items.sort((x, y) => numOf(x)! - numOf(y)!);
      else if (items.every((x) => x.kind === 'str'))
        items.sort((x, y) => ((x as { value: string }).value < (y as { value: string }).value ? -1 : 1));
      else return interp.fail(at, 'sorted() of mixed values');
      const rev = a.kwargs.get('reverse');
      return { kind: 'list', items: rev && interp.truthy(rev) ? items.reverse() : items };
    }
    case 'any':
    case 'all': {
      const items = arg0 ? iter(arg0) : interp.fail(at);
      if (!Array.isArray(items)) return items;
      let unsure = false;
      for (const x of items) {
        const t = interp.truthy(x);
        if (t === undefined) unsure = true;
        else if (t === (name === 'any')) return { kind: 'bool', value: name === 'any' };
      }
      return unsure ? interp.fail(at, `${name}() cannot be decided`) : { kind: 'bool', value: name === 'all' };
    }
    case 'map':
    case 'filter': {
      const items = args[1] ? iter(args[1]) : interp.fail(at);
      if (!Array.isArray(items)) return items;
      const out: V[] = [];
      for (const x of items) {
        const r = arg0.kind === 'none' ? x : interp.call(arg0, { args: [x], kwargs: new Map() }, at);
        if (name === 'map') out.push(r);
        else {
          const t = interp.truthy(r);
          if (t === undefined) return interp.fail(at, 'filter() cannot be decided');
          if (t) out.push(x);
        }
      }
      return { kind: 'list', items: out };
    }
    case 'iter':
      return arg0 ? (Array.isArray(iter(arg0)) ? { kind: 'list', items: iter(arg0) as V[] } : (iter(arg0) as V)) : interp.fail(at);
    case 'next': {
      const items = arg0 ? iter(arg0) : interp.fail(at);
      if (!Array.isArray(items)) return items;
      return items[0] ?? args[1] ?? interp.fail(at, 'next() of nothing');
    }
    case 'type':
      return (arg0 && typeOf(arg0)) ?? firstUnknown ?? interp.fail(at, 'type()');
    case 'callable':
      return arg0 ? { kind: 'bool', value: ['function', 'bound', 'native', 'class', 'module'].includes(arg0.kind) } : interp.fail(at);
    case 'slice':
      return {
        kind: 'slice',
        start: args.length > 1 ? args[0] : NONE,
        stop: args.length > 1 ? args[1] : (args[0] ?? NONE),
        step: args[2] ?? NONE,
      };
    case 'property':
    case 'staticmethod':
    case 'classmethod':
      return arg0 ?? NONE;
    default:
      // exceptions and the rest: constructing them does nothing the shapes depend on
      return interp.fail(at, `${name}() is not followed`);
  }
}

function containerMethod(interp: Host, owner: string, method: string, self: V, a: CallArgs, at: Node): V {
  const args = a.args;
  if (owner === 'list' && self.kind === 'list') {
    const items = self.items;
    switch (method) {
      case 'append':
        if (items.length >= MAX_ITEMS) interp.overBudget(`a list of more than ${grouped(MAX_ITEMS)} items`);
        items.push(args[0] ?? NONE);
        return NONE;
      case 'extend': {
        const more = args[0] ? interp.iterate(args[0], at) : [];
        if (!Array.isArray(more)) {
          items.push(more);
          return more;
        }
        items.push(...more);
        return NONE;
      }
      case 'insert': {
        const i = args[0] ? intOf(args[0]) : undefined;
        if (i === undefined) return interp.fail(at, 'insert() index');
        items.splice(i < 0 ? Math.max(0, items.length + i) : i, 0, args[1] ?? NONE);
        return NONE;
      }
      case 'pop': {
        const i = args[0] ? intOf(args[0]) : -1;
        if (i === undefined || items.length === 0) return interp.fail(at, 'pop()');
        return items.splice(i < 0 ? items.length + i : i, 1)[0] ?? interp.fail(at, 'pop() index');
      }
      case 'copy':
        return { kind: 'list', items: [...items] };
      case 'reverse':
        items.reverse();
        return NONE;
      case 'clear':
        items.length = 0;
        return NONE;
      case 'remove': {
        const i = items.findIndex((x) => valuesEqual(x, args[0] ?? NONE) === true);
        if (i >= 0) items.splice(i, 1);
        return NONE;
      }
      case 'issubset':
      case 'issuperset': {
        const other = args[0] ? interp.iterate(args[0], at) : interp.fail(at, `${method}() of nothing`);
        if (!Array.isArray(other)) return other;
        const [part, whole] = method === 'issubset' ? [items, other] : [other, items];
        let unsure = false;
        for (const x of part) {
          const found = whole.map((y) => valuesEqual(x, y));
          if (found.includes(true)) continue;
          if (!found.includes(undefined)) return { kind: 'bool', value: false };
          unsure = true;
        }
        return unsure ? unknown(`${method}() of values not known`) : { kind: 'bool', value: true };
      }
    }
  }
  if ((owner === 'list' || owner === 'tuple') && (self.kind === 'list' || self.kind === 'tuple')) {
    if (method === 'index') {
      const i = self.items.findIndex((x) => valuesEqual(x, args[0] ?? NONE) === true);
      return i >= 0 ? intV(i) : interp.fail(at, 'index() not found');
    }
    if (method === 'count') return intV(self.items.filter((x) => valuesEqual(x, args[0] ?? NONE) === true).length);
  }
  if (owner === 'dict' && self.kind === 'dict') {
    const find = (k: V) => self.entries.findIndex(([x]) => valuesEqual(x, k) === true);
    switch (method) {
      case 'items':
        return { kind: 'list', items: self.entries.map(([k, v]) => ({ kind: 'tuple', items: [k, v] })) };
      case 'keys':
        return { kind: 'list', items: self.entries.map(([k]) => k) };
      case 'values':
        return { kind: 'list', items: self.entries.map(([, v]) => v) };
      case 'get': {
        const i = find(args[0] ?? NONE);
        return i >= 0 ? self.entries[i][1] : (args[1] ?? NONE);
      }
      case 'pop': {
        const i = find(args[0] ?? NONE);
        if (i < 0) return args[1] ?? interp.fail(at, 'pop() of a missing key');
        return self.entries.splice(i, 1)[0][1];
      }
      case 'setdefault': {
        const i = find(args[0] ?? NONE);
        if (i >= 0) return self.entries[i][1];
        self.entries.push([args[0] ?? NONE, args[1] ?? NONE]);
        return args[1] ?? NONE;
      }
      case 'update': {
        const add: [V, V][] = args[0]?.kind === 'dict' ? args[0].entries : [];
        for (const [k, v] of [...add, ...[...a.kwargs].map(([k, v]) => [strV(k), v] as [V, V])]) {
          const i = find(k);
          if (i >= 0) self.entries[i] = [k, v];
          else self.entries.push([k, v]);
        }
        return NONE;
      }
      case 'copy':
        return { kind: 'dict', entries: [...self.entries] };
    }
  }
  if (owner === 'str' && self.kind === 'str') {
    const s = self.value;
    const argStr = (i: number) => (args[i]?.kind === 'str' ? (args[i] as { value: string }).value : undefined);
    switch (method) {
      case 'format': {
        const r = strFormat(s, a);
        return r === undefined ? interp.fail(at, 'str.format()') : strV(r);
      }
      case 'join': {
        const items = args[0] ? interp.iterate(args[0], at) : [];
        if (!Array.isArray(items)) return items;
        if (!items.every((x) => x.kind === 'str')) return interp.fail(at, 'join() of non-strings');
        return strV(items.map((x) => (x as { value: string }).value).join(s));
      }
      case 'lower':
        return strV(s.toLowerCase());
      case 'upper':
        return strV(s.toUpperCase());
      case 'strip':
        return strV(s.trim());
      case 'replace':
        return argStr(0) !== undefined && argStr(1) !== undefined ? strV(s.split(argStr(0)!).join(argStr(1))) : interp.fail(at);
      case 'split':
        return { kind: 'list', items: (argStr(0) !== undefined ? s.split(argStr(0)!) : s.trim().split(/\s+/)).map(strV) };
      case 'startswith':
        return argStr(0) !== undefined ? { kind: 'bool', value: s.startsWith(argStr(0)!) } : interp.fail(at);
      case 'endswith':
        return argStr(0) !== undefined ? { kind: 'bool', value: s.endsWith(argStr(0)!) } : interp.fail(at);
    }
  }
  return interp.fail(at, `${owner}.${method}() is not followed`);
}

/** Sets `k` in a dict's entries (replacing an equal key's value, else appended). */
export function putEntry(entries: [V, V][], k: V, v: V): void {
  const i = entries.findIndex(([x]) => valuesEqual(x, k) === true);
  if (i >= 0) entries[i] = [entries[i][0], v];
  else entries.push([k, v]);
}
