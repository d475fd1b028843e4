/**
 * The abstract values the TensorFlow.js interpreter computes with: numbers (integer polynomials, so
 * a width passed as a parameter stays a symbol), strings, config objects, layer instances, symbolic
 * tensors with their shapes, and models. A value that cannot be known says why.
 */
import type { Node } from 'web-tree-sitter';
import { unknownBecause, type Unknown } from '../kernel/unknown';
import { Poly } from '../poly';

/** One dimension of a shape: a (possibly symbolic) integer, or undefined where it is not known. */
export type Dim = Poly | undefined;

/** A tensor shape without its batch dimension; `notes` are the assumptions it rests on. */
export interface Shape {
  dims: Dim[];
  notes: string[];
}

/** A shape, or why it is not known ("channels unknown after layer 3 (`lstm` is not followed)"). */
export type ShapeOrWhy = { shape: Shape; why?: undefined } | { shape?: undefined; why: string };

/** One layer object: what one evaluation of a `tf.layers.xxx({...})` call creates. */
export interface Instance {
  id: number;
  /** index of the call site in `TfjsAnalysis.calls` */
  site: number;
  op: string;
  config: Value;
  /** assumptions in force where the instance was created (parameter defaults) */
  notes: string[];
  /** set when the layer is first applied (built) */
  input?: ShapeOrWhy;
  /** further inputs (concatenate, add) */
  inputs?: ShapeOrWhy[];
  output?: ShapeOrWhy;
  /** parameters once built; undefined while an input size is not known */
  params?: Poly;
  paramsWhy?: string;
  built: boolean;
  /** a conv's MACs were computed at an assumed spatial size */
  assumedInput?: { size: number[]; note: string };
  /** 1-based position of this instance in the model it was added to (for messages) */
  position?: number;
}

export interface TensorValue {
  shape: ShapeOrWhy;
  /** the layer instances that produced it, in application order */
  history: Instance[];
}

export interface ModelState {
  kind: 'sequential' | 'functional';
  call: Node;
  layers: Instance[];
  /** the output of the last layer added (sequential) or the model's output (functional) */
  output: TensorValue | undefined;
  /** the first input of a functional model */
  input?: TensorValue;
  /** set when layers were added where the tool cannot follow (a loop, a condition) */
  uncertain?: string;
}

export type Value =
  | { kind: 'num'; poly: Poly }
  | { kind: 'float'; value: number }
  | { kind: 'str'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' }
  | { kind: 'undefined' }
  | { kind: 'array'; items: Value[]; open?: string }
  | { kind: 'object'; props: Map<string, Value>; open?: string }
  /** the tfjs namespace or a path under it: '' = tf, 'layers' = tf.layers, 'layers.conv2d' */
  | { kind: 'ns'; path: string }
  /** Math, Math.floor, Number, Array.prototype methods bound to a receiver */
  | { kind: 'builtin'; name: string; receiver?: Value }
  | { kind: 'layer'; inst: Instance }
  | { kind: 'tensor'; tensor: TensorValue }
  | { kind: 'model'; model: ModelState }
  | { kind: 'function'; node: Node; env: unknown; thisValue?: Value }
  | { kind: 'class'; node: Node; env: unknown }
  /** a parameter (or a member of one) with no value in this file: numbers made of it stay symbolic */
  | { kind: 'sym'; name: string; why: string }
  | Unknown;

export const UNDEFINED: Value = { kind: 'undefined' };
/** An unknown value that says why (the kernel's `Unknown`). */
export const unknown = (why: string): Value => unknownBecause(why);
export const num = (n: number): Value => ({ kind: 'num', poly: Poly.const(n) });

/** A number as an integer polynomial (a symbol stands for itself), else undefined. */
export function asPoly(v: Value | undefined): Poly | undefined {
  if (!v) return undefined;
  if (v.kind === 'num') return v.poly;
  if (v.kind === 'sym') return Poly.sym(v.name);
  if (v.kind === 'float' && Number.isInteger(v.value)) return Poly.const(v.value);
  return undefined;
}

/** A plain number, else undefined. */
export function asNumber(v: Value | undefined): number | undefined {
  if (!v) return undefined;
  if (v.kind === 'num') return v.poly.constant;
  if (v.kind === 'float') return v.value;
  return undefined;
}

/** JavaScript truthiness where it is known. */
export function truthy(v: Value): boolean | undefined {
  switch (v.kind) {
    case 'num':
      return v.poly.constant === undefined ? undefined : v.poly.constant !== 0;
    case 'float':
      return v.value !== 0 && !Number.isNaN(v.value);
    case 'str':
      return v.value !== '';
    case 'bool':
      return v.value;
    case 'null':
    case 'undefined':
      return false;
    case 'sym':
    case 'unknown':
      return undefined;
    default:
      return true;
  }
}

/** Why a value is not what was needed, for messages. */
export function whyNot(v: Value | undefined, what: string): string {
  if (!v) return `${what} is missing`;
  if (v.kind === 'unknown') return v.why;
  if (v.kind === 'sym') return `\`${v.name}\` is ${v.why}`;
  return `${what} is not ${describeKind(v)}`;
}

function describeKind(v: Value): string {
  return `a ${v.kind}`;
}

export function dimsText(dims: Dim[]): string {
  return dims.map((d) => (d === undefined ? '?' : d.toString())).join('x');
}

/** Structural equality where it matters for merging branches: primitives and shapes. */
export function sameValue(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'num':
      return a.poly.equals((b as typeof a).poly);
    case 'float':
    case 'str':
    case 'bool':
      return a.value === (b as typeof a).value;
    case 'null':
    case 'undefined':
      return true;
    case 'sym':
      return a.name === (b as typeof a).name;
    case 'ns':
      return a.path === (b as typeof a).path;
    case 'layer':
      return a.inst === (b as typeof a).inst;
    case 'model':
      return a.model === (b as typeof a).model;
    case 'tensor':
      return sameShape(a.tensor.shape, (b as typeof a).tensor.shape);
    case 'array': {
      const bi = (b as typeof a).items;
      return !a.open && !(b as typeof a).open && a.items.length === bi.length && a.items.every((x, i) => sameValue(x, bi[i]));
    }
    default:
      return false;
  }
}

export function sameShape(a: ShapeOrWhy, b: ShapeOrWhy): boolean {
  if (!a.shape || !b.shape) return false;
  const x = a.shape.dims;
  const y = b.shape.dims;
  return x.length === y.length && x.every((d, i) => d !== undefined && y[i] !== undefined && d.equals(y[i]));
}
