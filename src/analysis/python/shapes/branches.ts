/**
 * Both sides of a condition the interpreter cannot decide. Python code mutates what it reaches
 * (`self.conv = ...`, `layers.append(...)`, a module's recorded calls), so exploring a branch means
 * running it on the real heap: before the first branch every mutable container the sides can reach
 * (the running function's locals, `self`, and what the names they read hold, each with everything
 * reachable from it) is copied; each branch runs from that state and its end state is read back;
 * then the state is rewound and the branches are joined.
 * Whatever the branches agree on stays known; a value that differs becomes `unknown` with the
 * condition's line; a submodule, a parameter, a list's items or a module's recorded calls that
 * differ make the model's numbers unknown (a stop with the line), since both versions are possible.
 */
import { joinSides } from '../../kernel/unknown';
import { valuesEqual } from './builtins';
import type { TensorData } from './tensorData';
import { unknown, type DimVar, type ModuleEnv, type ModuleObj, type Scope, type TensorValue, type V } from './values';

type Role = 'values' | 'modules' | 'params';
type AnyMap = Map<string, unknown>;

/** The contents of every container the snapshot covers, at one moment. */
export interface HeapState {
  maps: Map<AnyMap, Map<string, unknown>>;
  arrays: Map<unknown[], unknown[]>;
  dims: Map<DimVar, number | undefined>;
}

/** What joining found that cannot be represented as an unknown value: the model's numbers are open. */
export interface JoinConflicts {
  /** a submodule, a parameter, a list's items or recorded calls that differ between the branches */
  structural: string[];
}

export class HeapSnapshot {
  private readonly roles = new Map<AnyMap, Role>();
  private readonly arrayKinds = new Map<unknown[], 'items' | 'entries' | 'calls'>();
  private readonly dimVars = new Set<DimVar>();
  private readonly seen = new Set<object>();
  private readonly before: HeapState;
  /** how many containers and values the walk visited (charged to the step budget) */
  size = 0;

  /**
   * Covers what the sides can change: the running function's locals and what they reach, `self`,
   * and `roots` (the values of the names the sides read, functions with their modules); the
   * enclosing scopes and the module's globals as slots only (assignments to them, not what they hold).
   */
  constructor(scope: Scope, roots: Iterable<V>) {
    this.map(scope.vars, 'values');
    for (let s = scope.parent; s; s = s.parent) this.slots(s.vars);
    this.slots(scope.env.globals);
    if (scope.self) this.value(scope.self);
    for (const v of roots) this.value(v);
    this.before = this.capture();
  }

  private slots(m: AnyMap): void {
    if (this.roles.has(m)) return;
    this.roles.set(m, 'values');
    this.size += m.size;
  }

  /**
   * The current contents of the covered containers. A container that holds what it held when the
   * snapshot was taken shares the snapshot's copy (most of what a side can reach, it leaves alone).
   */
  capture(): HeapState {
    const before = this.before as HeapState | undefined;
    const maps = new Map<AnyMap, Map<string, unknown>>();
    for (const m of this.roles.keys()) {
      const was = before?.maps.get(m);
      maps.set(m, was && sameEntries(m, was) ? was : new Map(m));
    }
    const arrays = new Map<unknown[], unknown[]>();
    for (const a of this.arrayKinds.keys()) {
      const was = before?.arrays.get(a);
      arrays.set(a, was && sameItems(a, was) ? was : a.slice());
    }
    const dims = new Map<DimVar, number | undefined>();
    for (const d of this.dimVars) dims.set(d, d.value);
    return { maps, arrays, dims };
  }

  /** Puts every covered container back as it was when the snapshot was taken. */
  restore(): void {
    this.apply(this.before);
  }

  /** Makes the covered containers hold `state` (those that hold it already are left as they are). */
  apply(state: HeapState): void {
    for (const [m, contents] of state.maps) {
      if (sameEntries(m, contents)) continue;
      m.clear();
      for (const [k, v] of contents) m.set(k, v);
    }
    for (const [a, contents] of state.arrays) if (!sameItems(a, contents)) refill(a, contents);
    for (const [d, v] of state.dims) d.value = v;
  }

  /**
   * Makes the heap the join of the branches' end states. Values that differ become `unknown(why)`;
   * structural differences are returned so the caller can record them as stops.
   */
  join(states: HeapState[], why: string): JoinConflicts {
    const structural: string[] = [];
    const first = states[0];
    for (const [m, role] of this.roles) {
      const versions = states.map((s) => s.maps.get(m)!);
      // every branch left it as it holds now (the same entries in the same order): the join is what it holds
      if (versions.every((v) => sameEntries(m, v))) continue;
      const keys = new Set<string>();
      for (const v of versions) for (const k of v.keys()) keys.add(k);
      m.clear();
      for (const k of keys) {
        let vals = versions.map((v) => (v.has(k) ? v.get(k) : ABSENT));
        // a name imported lazily and read on one side only: reading it changes nothing
        const loaded = vals.find((x) => x !== ABSENT && (x as V).kind !== 'lazy');
        if (loaded !== undefined && vals.every((x) => x === loaded || (x !== ABSENT && (x as V).kind === 'lazy')))
          vals = vals.map(() => loaded);
        if (vals.every((x) => same(x, vals[0]))) {
          if (vals[0] !== ABSENT) m.set(k, vals[0]);
          continue;
        }
        if (role === 'values') m.set(k, tensorsJoined(vals) ?? unknown(`\`${k}\` differs between the branches of ${why}`));
        else if (role === 'params') m.set(k, `parameter \`${k}\` differs between the branches of ${why}`);
        else structural.push(`submodule \`${k}\` differs between the branches of ${why}`);
      }
    }
    for (const [a, kind] of this.arrayKinds) {
      const versions = states.map((s) => s.arrays.get(a)!);
      const agree = versions.every((v) => v.length === versions[0].length && v.every((x, i) => same(x, versions[0][i])));
      refill(a, first.arrays.get(a)!);
      if (agree) continue;
      if (kind === 'calls') structural.push(`the layers that run depend on ${why}`);
      else if (kind === 'items' && versions.every((v) => v.length === a.length)) {
        // the same length: the items that differ become unknown (`shift_size[0] = 0` on one side)
        for (let i = 0; i < a.length; i++) {
          if (!versions.every((v) => same(v[i], versions[0][i])))
            a[i] = tensorsJoined(versions.map((v) => v[i])) ?? unknown(`an item differs between the branches of ${why}`);
        }
      } else structural.push(`a container's items depend on ${why}`);
    }
    for (const d of this.dimVars) {
      const vals = states.map((s) => s.dims.get(d));
      d.value = vals.every((v) => v === vals[0]) ? vals[0] : this.before.dims.get(d);
    }
    return { structural };
  }

  // ---------------------------------------------------------------------------------------------
  // the walk: every mutable container reachable from the roots

  private map(m: AnyMap, role: Role): void {
    if (this.roles.has(m)) return;
    this.roles.set(m, role);
    this.size += m.size;
    for (const v of m.values()) {
      if (role === 'modules') {
        if (v) this.module(v as ModuleObj);
      } else if (role === 'values') this.value(v as V);
    }
  }

  private scope(s: Scope): void {
    if (this.seen.has(s)) return;
    this.seen.add(s);
    this.map(s.vars, 'values');
    if (s.self) this.value(s.self);
    this.env(s.env);
  }

  private env(env: ModuleEnv): void {
    if (this.seen.has(env)) return;
    this.seen.add(env);
    this.map(env.globals, 'values');
  }

  private module(m: ModuleObj): void {
    if (this.seen.has(m)) return;
    this.seen.add(m);
    this.map(m.attrs, 'values');
    this.map(m.modules, 'modules');
    this.map(m.params, 'params');
    if (m.native) this.map(m.native.attrs, 'values');
    this.array(m.calls, 'calls');
    for (const c of m.calls)
      for (const shape of [c.input, c.output]) for (const d of shape ?? []) if (typeof d !== 'number') this.dimVars.add(d);
  }

  private array(a: unknown[], kind: 'items' | 'entries' | 'calls'): void {
    if (this.arrayKinds.has(a)) return;
    this.arrayKinds.set(a, kind);
    this.size += a.length;
  }

  private value(v: V): void {
    switch (v.kind) {
      case 'list':
        this.array(v.items, 'items');
        for (const x of v.items) this.value(x);
        return;
      case 'tuple':
        for (const x of v.items) this.value(x);
        return;
      case 'dict':
        this.array(v.entries, 'entries');
        for (const [k, x] of v.entries) {
          this.value(k);
          this.value(x);
        }
        return;
      case 'tensor':
        for (const d of v.shape) if (typeof d !== 'number') this.dimVars.add(d);
        return;
      case 'module':
        this.module(v.m);
        return;
      case 'object':
        if (this.seen.has(v.o)) return;
        this.seen.add(v.o);
        this.map(v.o.attrs, 'values');
        this.value({ kind: 'class', c: v.o.cls });
        return;
      case 'class':
        if (this.seen.has(v.c)) return;
        this.seen.add(v.c);
        this.map(v.c.attrs, 'values');
        for (const b of v.c.bases) this.value(b);
        return;
      case 'function':
        if (v.f.closure) this.scope(v.f.closure);
        for (const d of v.f.defaults.values()) this.value(d);
        return;
      case 'bound':
        this.value(v.self);
        if (v.f.closure) this.scope(v.f.closure);
        return;
      case 'native':
        if (v.self) this.value(v.self);
        if (v.partial) {
          for (const x of v.partial.args) this.value(x);
          for (const x of v.partial.kwargs.values()) this.value(x);
        }
        return;
      case 'pymodule':
        this.env(v.env);
        return;
      case 'super':
        this.value(v.self);
        return;
      default:
        return;
    }
  }
}

const ABSENT = Symbol('absent');

/** `m` holds exactly `contents`: the same keys in the same order, the very same values. */
function sameEntries(m: AnyMap, contents: Map<string, unknown>): boolean {
  if (m === contents) return true;
  if (m.size !== contents.size) return false;
  const other = contents.entries();
  for (const [k, v] of m) {
    const [k2, v2] = other.next().value as [string, unknown];
    if (k !== k2 || v !== v2) return false;
  }
  return true;
}

/** `a` holds exactly `contents`, item by item. */
function sameItems(a: readonly unknown[], contents: readonly unknown[]): boolean {
  if (a === contents) return true;
  if (a.length !== contents.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== contents[i]) return false;
  return true;
}

/** `a`'s items become `contents` (a loop: a spread of 100,000 items would overflow the call stack). */
function refill(a: unknown[], contents: readonly unknown[]): void {
  a.length = contents.length;
  for (let i = 0; i < contents.length; i++) a[i] = contents[i];
}

/** Two end states of one slot agree: the same object, or equal values (tensors of the same shape). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === ABSENT || b === ABSENT || typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  const x = a as V;
  const y = b as V;
  if (!('kind' in x) || !('kind' in y)) return false;
  if (x.kind === 'tensor' && y.kind === 'tensor') return sameShape(x, y) && sameData(x.data, y.data);
  if (x.kind === 'unknown' && y.kind === 'unknown') return x.why === y.why;
  return valuesEqual(x, y) === true;
}

function sameShape(x: TensorValue, y: TensorValue): boolean {
  return x.shape.length === y.shape.length && x.shape.every((d, i) => d === y.shape[i]) && !!x.param === !!y.param && x.dtype === y.dtype;
}

function sameData(a: TensorData | undefined, b: TensorData | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.dtype !== b.dtype) return false;
  return a.lo.every((v, i) => v === b.lo[i]) && a.hi.every((v, i) => v === b.hi[i]);
}

/** Tensors of one shape whose values differ between the sides: the shape, without values. */
function tensorsJoined(vals: readonly unknown[]): V | undefined {
  const first = vals[0] as V;
  if (first === undefined || typeof first !== 'object' || first.kind !== 'tensor') return undefined;
  const sameSize = (v: TensorValue) =>
    v.shape.length === first.shape.length && v.shape.every((d, i) => d === first.shape[i]) && !!v.param === !!first.param;
  if (!vals.every((v) => typeof v === 'object' && v !== null && (v as V).kind === 'tensor' && sameSize(v as TensorValue))) return undefined;
  const dtypes = new Set(vals.map((v) => (v as TensorValue).data?.dtype ?? (v as TensorValue).dtype));
  const joined: TensorValue = { kind: 'tensor', shape: first.shape, ...(first.param ? { param: true } : {}) };
  if (dtypes.size === 1 && [...dtypes][0] !== undefined) joined.dtype = [...dtypes][0];
  return joined;
}

/** The value of an expression that differs between sides: kept when they agree, else unknown. */
export function joinValues(values: V[], why: string): V {
  return joinSides(values, same, `the value differs between the branches of ${why}`, tensorsJoined);
}
