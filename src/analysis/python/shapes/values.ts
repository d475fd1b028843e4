/**
 * The values the shape interpreter computes with: Python scalars (the same shapes as
 * `evaluate.ts`'s `Value`, so its `binary` and `truthy` do the arithmetic), containers, tensors
 * that carry only their shape, nn.Module objects, user classes and functions, and library names.
 * Anything the interpreter cannot follow is `unknown`, with the reason.
 */
import type { Node } from 'web-tree-sitter';
import { unknownBecause, type Unknown as KernelUnknown } from '../../kernel/unknown';
import { Poly } from '../../poly';
import type { Value } from '../evaluate';
import type { DType, TensorData } from './tensorData';

/** One size of a tensor: a number, or the input's channel count while no layer has fixed it. */
export type Dim = number | DimVar;

export interface DimVar {
  readonly name: string;
  value: number | undefined;
}

export interface TensorValue {
  kind: 'tensor';
  shape: Dim[];
  /** an `nn.Parameter` */
  param?: boolean;
  /** where an example input was made (`torch.randn(1, 3, 224, 224)`), for input discovery */
  example?: { line: number };
  /** its values, when they are known (tensorData.ts) */
  data?: TensorData;
  /** its dtype, when it is certain (dtypes.ts) */
  dtype?: DType;
}

export type V =
  | { kind: 'int'; poly: Poly }
  | { kind: 'float'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'str'; value: string }
  | { kind: 'none' }
  | { kind: 'ellipsis' }
  | { kind: 'tuple'; items: V[] }
  | { kind: 'list'; items: V[] }
  | { kind: 'dict'; entries: [V, V][] }
  | { kind: 'slice'; start: V; stop: V; step: V }
  | TensorValue
  | { kind: 'module'; m: ModuleObj }
  | { kind: 'object'; o: PlainObject }
  | { kind: 'class'; c: ClassObj }
  | { kind: 'function'; f: FunctionObj }
  /** a user method bound to its instance (or class, for classmethods) */
  | { kind: 'bound'; self: V; f: FunctionObj }
  /** a library callable implemented natively: `torch.nn.Conv2d`, `builtins.range`, `tensor.view` */
  | { kind: 'native'; name: string; self?: V; partial?: CallArgs }
  /** a library module or name by dotted path: `torch`, `torch.nn`, `math`, `typing.List` */
  | { kind: 'lib'; path: string }
  /** a user file brought in with `import` */
  | { kind: 'pymodule'; env: ModuleEnv }
  /** a name imported from a user file, loaded when first read (`from .blocks import X`) */
  | { kind: 'lazy'; get: () => V }
  /** `super()`: attribute lookup starts after `after` in the instance's class order */
  | { kind: 'super'; self: V; after: ClassObj }
  | Unknown;

/** The `unknown` member of V: the kernel's, and whether it stands for an `nn.Parameter` of unknown size. */
export interface Unknown extends KernelUnknown {
  param?: boolean;
}

export interface CallArgs {
  args: V[];
  kwargs: Map<string, V>;
}

/** A parsed source file and its module-level namespace. */
export interface SourceFile {
  /** absolute path, or '' for the analysed buffer when it has none */
  path: string;
  text: string;
  root: Node;
}

export interface ModuleEnv {
  file: SourceFile;
  globals: Map<string, V>;
  /** dotted name for `__name__` checks and messages */
  name: string;
}

export interface ClassObj {
  id: number;
  name: string;
  node: Node;
  env: ModuleEnv;
  bases: V[];
  attrs: Map<string, V>;
  /** a `@dataclass`: its fields in order, for the generated `__init__` */
  fields?: string[];
}

export interface FunctionObj {
  name: string;
  /** a function_definition or a lambda */
  node: Node;
  env: ModuleEnv;
  closure: Scope | undefined;
  defaults: Map<string, V>;
  /** the class whose body defined it, for zero-argument `super()` */
  owner: ClassObj | undefined;
  kind: 'function' | 'staticmethod' | 'classmethod' | 'property';
}

export interface PlainObject {
  cls: ClassObj;
  attrs: Map<string, V>;
}

/** Where a module was constructed: the call expression in a file. */
export interface Site {
  file: string;
  start: number;
  end: number;
  line: number;
  column: number;
}

export interface CallRecord {
  input: Dim[] | undefined;
  output: Dim[] | undefined;
  /** MACs of this call; undefined when a shape is unknown */
  macs: number | undefined;
  /** why the shape is unknown */
  why: string | undefined;
}

/** A torch.nn module object: a user class, a library module, or a user subclass of one. */
export interface ModuleObj {
  id: number;
  /** the user class, if any */
  cls: ClassObj | undefined;
  /** the library class it is (or derives from): Conv2d, Sequential, Module, ... */
  native: NativeModule | undefined;
  attrs: Map<string, V>;
  /** registered submodules in registration order (PyTorch's `_modules`) */
  modules: Map<string, ModuleObj | null>;
  /** own parameters: numel, or a reason they cannot be counted */
  params: Map<string, number | string>;
  site: Site | undefined;
  calls: CallRecord[];
}

/** What a library module is, with its configuration; forward rules live in torch/forward.ts. */
export interface NativeModule {
  type: string;
  /** own parameter count, or why it is unknown */
  params: number | string;
  /** attributes as PyTorch exposes them (`in_channels`, `kernel_size`, ...) */
  attrs: Map<string, V>;
  /** why the constructor arguments could not be used */
  error?: string;
  /** typed settings the shape rules use */
  data: Record<string, unknown>;
}

/** A lexical scope: function locals, with the enclosing function's scope and the module's. */
export interface Scope {
  vars: Map<string, V>;
  parent: Scope | undefined;
  env: ModuleEnv;
  fn: FunctionObj | undefined;
  /** the first argument of the running method, for `super()` */
  self: V | undefined;
  /** names declared `global` */
  globals?: Set<string>;
  /** names declared `nonlocal` */
  nonlocals?: Set<string>;
  /** set on the scope of a class body: functions defined there are its methods */
  classOf?: ClassObj;
  /** the interpreter's next id when it was made (a call's, a comprehension's, a class body's): what a build made itself (buildMemo.ts) */
  born?: number;
}

/** Items a list may hold while a model is built (`range()` stops at the same number). */
export const MAX_ITEMS = 100_000;

export const unknown = (why: string): V => unknownBecause(why);
export const intV = (n: number): V => ({ kind: 'int', poly: Poly.const(n) });
export const NONE: V = { kind: 'none' };
export const boolV = (b: boolean): V => ({ kind: 'bool', value: b });
export const strV = (s: string): V => ({ kind: 'str', value: s });
export const tuple = (items: V[]): V => ({ kind: 'tuple', items });
export const tensor = (shape: Dim[]): TensorValue => ({ kind: 'tensor', shape });

export function dimValue(d: Dim): number | undefined {
  return typeof d === 'number' ? d : d.value;
}

/** The shape as numbers, or undefined while the input's channel count is open. */
export function concrete(shape: readonly Dim[]): number[] | undefined {
  const out: number[] = [];
  for (const d of shape) {
    const v = dimValue(d);
    if (v === undefined) return undefined;
    out.push(v);
  }
  return out;
}

/** The integer a value holds, if it is a known int (or bool). */
export function intOf(v: V): number | undefined {
  if (v.kind === 'int') return v.poly.constant;
  if (v.kind === 'bool') return v.value ? 1 : 0;
  return undefined;
}

export function numOf(v: V): number | undefined {
  if (v.kind === 'float') return v.value;
  return intOf(v);
}

/** Items of a tuple or list. */
export function itemsOf(v: V): V[] | undefined {
  return v.kind === 'tuple' || v.kind === 'list' ? v.items : undefined;
}

/** To evaluate.ts's Value, for its arithmetic; containers of scalars become tuples. */
export function toValue(v: V): Value {
  switch (v.kind) {
    case 'int':
    case 'float':
    case 'bool':
    case 'str':
    case 'none':
    case 'unknown':
      return v;
    case 'tuple':
    case 'list':
      return { kind: 'tuple', items: v.items.map(toValue) };
    default:
      return { kind: 'unknown', why: `a ${describe(v)} in arithmetic` };
  }
}

export function fromValue(v: Value): V {
  if (v.kind === 'tuple') return { kind: 'tuple', items: v.items.map(fromValue) };
  return v;
}

/** A few words for messages: `a tensor`, `nn.Conv2d`, `list`. */
export function describe(v: V): string {
  switch (v.kind) {
    case 'module':
      return v.m.cls ? v.m.cls.name : `nn.${v.m.native?.type ?? 'Module'}`;
    case 'object':
      return v.o.cls.name;
    case 'class':
      return `class ${v.c.name}`;
    case 'function':
      return `function ${v.f.name}`;
    case 'bound':
      return `method ${v.f.name}`;
    case 'native':
      return v.name;
    case 'lib':
      return v.path;
    case 'pymodule':
      return `module ${v.env.name}`;
    default:
      return v.kind;
  }
}

export function shapeText(shape: readonly Dim[]): string {
  return `(${shape.map((d) => dimValue(d) ?? (d as DimVar).name).join(', ')})`;
}

/** The value of a lazy import or definition, loaded now. */
export function force(v: V): V {
  return v.kind === 'lazy' ? v.get() : v;
}

/** The value `name` is bound to here as it is stored (a definition not run yet stays lazy): the scopes outward, then the module's globals; undefined when unbound. */
export function bindingOf(name: string, scope: Scope): V | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const v = s.vars.get(name);
    if (v !== undefined) return v;
  }
  return scope.env.globals.get(name);
}

export function resolved(vars: Map<string, V>, name: string, v: V): V {
  const r = force(v);
  vars.set(name, r);
  return r;
}

/** Index list of a Python slice over `n` items. */
export function sliceIndices(s: V & { kind: 'slice' }, n: number): number[] | undefined {
  const get = (v: V) => (v.kind === 'none' ? undefined : intOf(v));
  if (
    (s.step.kind !== 'none' && get(s.step) === undefined) ||
    (s.start.kind !== 'none' && get(s.start) === undefined) ||
    (s.stop.kind !== 'none' && get(s.stop) === undefined)
  ) {
    return undefined;
  }
  const step = get(s.step) ?? 1;
  if (step === 0) return undefined;
  const norm = (v: number | undefined, dflt: number, lo: number, hi: number) => {
    if (v === undefined) return dflt;
    const x = v < 0 ? v + n : v;
    return Math.min(Math.max(x, lo), hi);
  };
  const out: number[] = [];
  if (step > 0) {
    const start = norm(get(s.start), 0, 0, n);
    const stop = norm(get(s.stop), n, 0, n);
    for (let i = start; i < stop; i += step) out.push(i);
  } else {
    const start = norm(get(s.start), n - 1, -1, n - 1);
    const stop = norm(get(s.stop), -1, -1, n - 1);
    for (let i = start; i > stop; i += step) out.push(i);
  }
  return out;
}

export function tensorNumel(t: V & { kind: 'tensor' }): number | string {
  let n = 1;
  for (const d of t.shape) {
    const v = typeof d === 'number' ? d : d.value;
    if (v === undefined) return 'a parameter whose size depends on the input';
    n *= v;
  }
  return n;
}
