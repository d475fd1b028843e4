/**
 * What the PyTorch rules (`torch/`) and the Python builtins (`builtins.ts`) may ask of the
 * interpreter running them: failures with a reason, the budget, Python's own operations on values
 * (truth, operators, attributes, iteration, calls) and making modules. `Interp` implements it; the
 * rules never see statements, scopes or the interpreter's state.
 */
import type { Node } from 'web-tree-sitter';
import type { SeparableOptions } from '../../cost';
import type { MismatchFact } from './mismatch';
import type { CallArgs, ClassObj, ModuleObj, Unknown, V } from './values';

export interface Host {
  /** `--depth-multiplier` and the rest of what prices a conv */
  readonly costOptions: SeparableOptions;

  /** An unknown value that says where and why: "shape unknown after line N: `code` (detail)". */
  fail(at: Node, detail?: string): V;
  /**
   * A check PyTorch makes that fails with both sides known (mismatch.ts): kept with the calls that
   * led to it, and the unknown value `fail(at, detail)` gives.
   */
  mismatch(at: Node, fact: MismatchFact, detail: string): V;
  /** A call that cannot be entered (in `forward`, modules handed to it may run unseen). */
  opaque(at: Node, a: CallArgs, detail: string): V;
  /** Marks the budget spent from a place that cannot stop by itself. */
  overBudget(why: string): void;

  truthy(v: V): boolean | undefined;
  binop(op: string, l: V, r: V, at: Node): V;
  compare(op: string, a: V, b: V, at: Node): V;
  getAttr(obj: V, name: string, at: Node): V;
  setAttr(obj: V, name: string, v: V): void;
  iterate(v: V, at: Node): V[] | Unknown;
  call(fn: V, a: CallArgs, at: Node): V;
  callModule(m: ModuleObj, a: CallArgs, at: Node): V;

  /** The classes of `c`'s MRO (a torch.nn base by its dotted name), and the torch.nn class it extends. */
  mro(c: ClassObj): readonly (ClassObj | string)[];
  nnBase(c: ClassObj): string | undefined;
  dataclassInit(c: ClassObj, o: { attrs: Map<string, V> }, a: CallArgs, at: Node): string | undefined;
  newId(): number;
  newModule(cls: ClassObj | undefined, native: ModuleObj['native'], site: Node | undefined): ModuleObj;
  /** The path of the file `node` is in. */
  fileOf(node: Node): string;
}
