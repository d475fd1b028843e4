/**
 * How a statement ends, in both interpreters: normally, by `return` (with the value), `break` or
 * `continue`, or by a stop that says why (nothing is guessed past a stop). `V` is the interpreter's
 * own value type.
 */
export type Completion<V> =
  | { type: 'normal' }
  | { type: 'return'; value: V }
  | { type: 'break' }
  | { type: 'continue' }
  /** `raised`: the code raises here (a path the model cannot have taken, when it builds) */
  | { type: 'stop'; why: string; raised?: boolean };

export const NORMAL: Completion<never> = { type: 'normal' };
