/**
 * Builds remembered within one interpreter (one file's run): a user `nn.Module` class called again
 * with the same plain arguments (numbers, strings, tuples of them, classes, functions, library
 * callables and their `functools.partial`s, configuration objects by their attributes) gets a copy of
 * the module tree a recorded build of it made, instead of running its `__init__` again. ResNet-50
 * builds its `Bottleneck(1024, 256)` five times, ResNet-101 twenty-two, and every factory of a file
 * builds the same blocks again: about half of the real corpus's module builds repeat one. A key is
 * recorded the second time it comes (most are built once, and keeping a build costs a copy).
 *
 * A copy stands for a run only when the run could not have gone otherwise and left nothing behind but
 * its tree. An entry is kept only if, between the recorded build's start and end, nothing was read
 * that the build did not make and that can change (`taint`: a list, dict, object, module or tensor
 * from a global, a module attribute or a class attribute, a mutable default, any name of a call that
 * encloses the build), nothing it did not make was written (a module's or an object's attribute), no
 * file's top level ran, no stop, mismatch, example input or discovery detour was recorded, the
 * budget held, and the tree holds only what a copy reproduces (no module of it called, no object,
 * bound method or function over a scope of the build). What a clean build read from globals and
 * classes (plain values) changes only when a global is bound again through `global` or a class
 * attribute is written, each of which forgets every entry (`forget`): a file's top level has run
 * before a build reads its names. A replay charges the recorded steps
 * and modules to the run's budget (a build that would not fit, or is nested deeper, runs for real),
 * adds the user code it invoked to `invoked` and the names it looked up to `touched`, and gives each
 * copied module the origin its original had.
 */
import type { Interp } from './interpreter';
import type { CallArgs, ClassObj, FunctionObj, ModuleObj, Scope, V } from './values';
import { copyNative } from './torch/modules';
import { MAX_MODULES } from '../../kernel/budget';

/** What one recorded build left: a copy of its tree as the build made it, and what a replay must charge and add. */
interface Entry {
  tree: Tree;
  /** the calls nested around it (a replay nested deeper might have stopped at `MAX_DEPTH`) */
  depth: number;
  steps: number;
  modules: number;
  invoked: (FunctionObj | ClassObj)[];
  touched: string[];
  origins: Map<ModuleObj, Origin>;
}

type Origin = Interp['origins'] extends Map<ModuleObj, infer O> ? O : never;

/** A module tree and the modules of it a copy copies (the others are shared). */
interface Tree {
  root: ModuleObj;
  made: Set<ModuleObj>;
}

/** A build being recorded: `start` is the first id made inside it; `tainted` once it read or wrote what it did not make. */
interface Recording {
  start: number;
  tainted: boolean;
}

/** An id per function met in a key (by identity). */
const identities = new WeakMap<object, number>();
let nextIdentity = 1;
const identity = (o: object): number => {
  let id = identities.get(o);
  if (id === undefined) identities.set(o, (id = nextIdentity++));
  return id;
};

/** Whether builds are remembered (tests compare with a run that remembers none), and the process's replays. */
export const memo = { enabled: true, hits: 0 };

export class BuildMemo {
  private readonly entries = new Map<string, Entry>();
  /** the keys built once */
  private readonly seen = new Set<string>();
  private readonly recordings: Recording[] = [];

  /** Whether a build is being recorded (the interpreter's hot paths ask before `taint`; `read` asks itself). */
  recording = false;

  /** What was made before id `born` was read or written: the builds recorded since are not kept. */
  taint(born: number): void {
    // recordings nest: the last started last, and what it made is no outer one's
    const rs = this.recordings;
    if (rs.length === 0 || born >= rs[rs.length - 1].start) return;
    for (const r of rs) if (r.start > born) r.tainted = true;
  }

  /**
   * `v`, made before id `born` (0: by a file's top level), was read: if it can change (a container,
   * an object, a module), the builds being recorded are not kept.
   */
  read(v: V, born = 0): void {
    if (this.recording && mutable(v)) this.taint(born);
  }

  /** A global or a class attribute was bound again: what builds read may have changed. */
  forget(): void {
    this.entries.clear();
    for (const r of this.recordings) r.tainted = true;
  }

  /**
   * A file's top level or a deferred definition runs: the builds being recorded are not kept (what
   * it runs is not theirs). Entries stay: it binds names no recorded build read (a build that read
   * one ran it), and what else it may change is a global (`global`) or class attribute bound again,
   * which forgets them, or something mutable, which no kept build read.
   */
  unsettled(): void {
    for (const r of this.recordings) r.tainted = true;
  }

  /** `c(a)` built through the memo: a copy of a remembered build, or `run` (recorded the second time a key comes). */
  build(ip: Interp, c: ClassObj, a: CallArgs, run: () => V): V {
    const phase = ip.phase;
    const key = (phase === 'init' || phase === 'discover') && ip.exploring === 0 && memo.enabled ? keyOf(phase, c, a) : undefined;
    if (key === undefined) return run();
    const known = this.entries.get(key);
    if (known) {
      const replayed = replay(ip, known);
      if (!replayed) return run();
      memo.hits++;
      return replayed;
    }
    // most builds are made once, and keeping one costs a copy of its tree: a key is recorded when it comes again
    if (!this.seen.has(key)) {
      this.seen.add(key);
      return run();
    }
    ip.newId();
    const rec: Recording = { start: ip.nextId, tainted: false };
    const before = {
      steps: ip.budget.steps,
      modules: ip.budget.modules,
      stops: ip.stops.length,
      examples: ip.examples.length,
      mismatches: ip.mismatches.length,
      detours: ip.discoveryDetours,
    };
    // what the build invokes and looks up, whether or not the run had met it before
    const outer = { invoked: ip.invoked, touched: ip.touched };
    const invoked = new Set<FunctionObj | ClassObj>();
    const touched = outer.touched ? new Set<string>() : undefined;
    ip.invoked = invoked;
    ip.touched = touched;
    this.recordings.push(rec);
    this.recording = true;
    let v: V;
    try {
      v = run();
    } finally {
      this.recordings.pop();
      this.recording = this.recordings.length > 0;
      ip.invoked = outer.invoked;
      ip.touched = outer.touched;
      for (const x of invoked) outer.invoked.add(x);
      if (touched) for (const n of touched) outer.touched!.add(n);
    }
    const clean =
      !rec.tainted &&
      ip.phase === phase &&
      ip.discoveryDetours === before.detours &&
      ip.budget.exhausted === undefined &&
      ip.stops.length === before.stops &&
      ip.examples.length === before.examples &&
      ip.mismatches.length === before.mismatches;
    const made = clean && v.kind === 'module' ? madeIn(v.m, rec.start) : undefined;
    if (!made) return v;
    // kept as a copy: the model goes on with the original (its forward pass records calls, fixes lazy layers)
    const root = (v as V & { kind: 'module' }).m;
    const copies = copyTree({ root, made }, () => ip.newId());
    const origins = new Map<ModuleObj, Origin>();
    for (const m of made) {
      const o = ip.origins.get(m);
      if (o) origins.set(copies.get(m)!, o);
    }
    this.entries.set(key, {
      tree: { root: copies.get(root)!, made: new Set(copies.values()) },
      depth: ip.depth,
      steps: ip.budget.steps - before.steps,
      modules: ip.budget.modules - before.modules,
      invoked: [...invoked],
      touched: touched ? [...touched] : [],
      origins,
    });
    return v;
  }
}

/** A module, list, dict, object or tensor: what a build may read and another code change. */
function mutable(v: V): boolean {
  switch (v.kind) {
    case 'list':
    case 'dict':
    case 'object':
    case 'module':
    case 'tensor':
    case 'bound':
      return true;
    case 'native':
      return v.self !== undefined && (v.name !== 'functools.partial' || partialMutable(v));
    case 'tuple':
      return v.items.some(mutable);
    default:
      return false;
  }
}

/** What a bound library callable holds: the value it is bound to, and a `functools.partial`'s arguments. */
const heldBy = (v: V & { kind: 'native' }): V[] => [
  ...(v.self === undefined ? [] : [v.self]),
  ...(v.partial ? [...v.partial.args, ...v.partial.kwargs.values()] : []),
];

/** A `functools.partial` of what may change, or with arguments that may. */
const partialMutable = (v: V & { kind: 'native' }): boolean => heldBy(v).some(mutable);

/** A scope made before the innermost recorded build started: its module's, or an enclosing call's. */
export const bornOf = (s: Scope): number => s.born ?? 0;

/** The memo's key for `c(a)`: undefined when an argument is not a plain value (a module, a list, an unknown). */
function keyOf(phase: string, c: ClassObj, a: CallArgs): string | undefined {
  const parts = [`${phase} ${c.id}`];
  for (const x of a.args) {
    const k = valueKey(x);
    if (k === undefined) return undefined;
    parts.push(k);
  }
  for (const [name, x] of a.kwargs) {
    const k = valueKey(x);
    if (k === undefined) return undefined;
    parts.push(`${name}=${k}`);
  }
  return parts.join(',');
}

/** Keys of partials, by identity (a model's `norm_layer` is one partial passed to every block); not of what holds an object, which may change. */
const keys = new WeakMap<V, string | null>();

function valueKey(v: V): string | undefined {
  if (v.kind !== 'native' || !v.partial) return composedKey(v);
  let k = keys.get(v);
  if (k === undefined) {
    k = composedKey(v) ?? null;
    if (!holdsObject(v)) keys.set(v, k);
  }
  return k ?? undefined;
}

const holdsObject = (v: V): boolean =>
  v.kind === 'object' || (v.kind === 'tuple' && v.items.some(holdsObject)) || (v.kind === 'native' && heldBy(v).some(holdsObject));

function composedKey(v: V): string | undefined {
  switch (v.kind) {
    case 'int': {
      const n = v.poly.constant;
      return n === undefined ? undefined : `i${n}`;
    }
    case 'float':
      return `f${v.value}`;
    case 'bool':
      return v.value ? 'T' : 'F';
    case 'str':
      return JSON.stringify(v.value);
    case 'none':
      return 'N';
    case 'ellipsis':
      return 'E';
    case 'tuple': {
      const items = v.items.map(valueKey);
      return items.includes(undefined) ? undefined : `(${items.join(',')})`;
    }
    case 'class':
      return `c${v.c.id}`;
    case 'object': {
      // a configuration (`InvertedResidualConfig(...)`): its class and its own attributes; a write to
      // an object while a build is recorded keeps that build off (statements.ts setAttr)
      const attrs = [...v.o.attrs].map(([k, x]) => {
        const vk = valueKey(x);
        return vk === undefined ? undefined : `${k}=${vk}`;
      });
      return attrs.includes(undefined) ? undefined : `o${v.o.cls.id}{${attrs.join(',')}}`;
    }
    case 'function':
      return `u${identity(v.f)}`;
    case 'lib':
      return `l${v.path}`;
    case 'native': {
      // `functools.partial(nn.BatchNorm2d, eps=0.001)`: the callable it wraps and its arguments
      const self = v.self === undefined ? '' : v.name === 'functools.partial' ? valueKey(v.self) : undefined;
      if (self === undefined) return undefined;
      if (!v.partial) return `n${v.name}`;
      const args = v.partial.args.map(valueKey);
      const kwargs = [...v.partial.kwargs].map(([k, x]) => {
        const vk = valueKey(x);
        return vk === undefined ? undefined : `${k}=${vk}`;
      });
      if (args.includes(undefined) || kwargs.includes(undefined)) return undefined;
      return `p${v.name}${self}[${args.join(',')};${kwargs.join(',')}]`;
    }
    default:
      return undefined;
  }
}

/**
 * The modules of `root`'s tree made at or after id `start`, if a copy reproduces the tree: none of
 * them was called, and their attributes hold only values a copy keeps (plain values, containers of
 * them, the tree's own modules, parameters of known size, code). Undefined otherwise.
 */
function madeIn(root: ModuleObj, start: number): Set<ModuleObj> | undefined {
  const made = new Set<ModuleObj>();
  const ok = (v: V): boolean => {
    switch (v.kind) {
      case 'module':
        return visit(v.m);
      case 'list':
      case 'tuple':
        return v.items.every(ok);
      case 'dict':
        return v.entries.every(([k, x]) => ok(k) && ok(x));
      case 'tensor':
        return v.shape.every((d) => typeof d === 'number');
      case 'function':
        // a function made in the build (a lambda over `self`) would still see the original's names
        return !v.f.closure || bornOf(v.f.closure) < start;
      case 'class':
        return v.c.id < start;
      case 'object':
      case 'bound':
      case 'lazy':
      case 'pymodule':
      case 'super':
        return false;
      case 'native':
        return v.self === undefined || (v.name === 'functools.partial' && !partialMutable(v));
      default:
        return true;
    }
  };
  const visit = (m: ModuleObj): boolean => {
    if (made.has(m)) return true;
    // a module made before the build: reachable only through what taints it, kept off anyway
    if (m.id < start || m.calls.length > 0) return false;
    made.add(m);
    for (const sub of m.modules.values()) if (sub && !visit(sub)) return false;
    for (const v of m.attrs.values()) if (!ok(v)) return false;
    return true;
  };
  return visit(root) ? made : undefined;
}

/** A copy of a remembered build charged to the current run, or undefined when the run's budget would not hold it. */
function replay(ip: Interp, e: Entry): V | undefined {
  const b = ip.budget;
  if (b.exhausted !== undefined || b.steps + e.steps > b.limits.steps || b.modules + e.modules > MAX_MODULES || ip.depth > e.depth)
    return undefined;
  b.steps += e.steps;
  b.modules += e.modules;
  for (const x of e.invoked) ip.invoked.add(x);
  if (ip.touched) for (const n of e.touched) ip.touched.add(n);
  const copies = copyTree(e.tree, () => ip.newId());
  for (const [m, o] of e.origins) ip.origins.set(copies.get(m)!, o);
  return { kind: 'module', m: copies.get(e.tree.root)! };
}

/** Copies of the modules `tree.made` (their containers and tensors copied too, what else they hold shared), by original. */
function copyTree(tree: Tree, newId: () => number): Map<ModuleObj, ModuleObj> {
  const copies = new Map<ModuleObj, ModuleObj>();
  const copyModule = (m: ModuleObj): ModuleObj => {
    if (!tree.made.has(m)) return m;
    const known = copies.get(m);
    if (known) return known;
    const c: ModuleObj = {
      id: newId(),
      cls: m.cls,
      native: m.native ? copyNative(m.native) : undefined,
      attrs: new Map(),
      modules: new Map(),
      params: new Map(m.params),
      site: m.site,
      calls: [],
    };
    copies.set(m, c);
    for (const [k, sub] of m.modules) c.modules.set(k, sub ? copyModule(sub) : null);
    for (const [k, v] of m.attrs) c.attrs.set(k, copyValue(v));
    return c;
  };
  const copyValue = (v: V): V => {
    switch (v.kind) {
      case 'module':
        return { kind: 'module', m: copyModule(v.m) };
      case 'list':
        return { kind: 'list', items: v.items.map(copyValue) };
      case 'tuple':
        return { kind: 'tuple', items: v.items.map(copyValue) };
      case 'dict':
        return { kind: 'dict', entries: v.entries.map(([k, x]) => [copyValue(k), copyValue(x)] as [V, V]) };
      case 'tensor':
        return { ...v, shape: v.shape.slice() };
      default:
        return v;
    }
  };
  copyModule(tree.root);
  return copies;
}
