/**
 * `nn.quantized.FloatFunctional` (torchvision's quantizable models: `self.skip_add.add(x, y)`,
 * `self.cat.cat([a, b], 1)`): in a float model its methods are the plain torch operations, and the
 * module holds no parameters. The operations themselves are torch.ts's (`+`, `*`, `torch.cat`).
 */
import type { Node } from 'web-tree-sitter';
import type { Host } from './host';
import type { CallArgs, ModuleObj, V } from './values';

const FLOAT_FUNCTIONAL = /^torch\.(ao\.)?nn\.quantized\.(modules\.functional_modules\.)?(FloatFunctional|QFunctional)$/;

/** The methods and the torch operation each one is (the `_relu` forms keep the shape). */
const METHODS: Record<string, string> = {
  add: '+',
  add_relu: '+',
  add_scalar: '+',
  mul: '*',
  mul_scalar: '*',
  matmul: '@',
  cat: 'cat',
};

export function isFloatFunctional(p: string): boolean {
  return FLOAT_FUNCTIONAL.test(p);
}

export function hasFloatFunctionalMethod(m: ModuleObj, name: string): boolean {
  return m.native?.type === 'FloatFunctional' && Object.prototype.hasOwnProperty.call(METHODS, name);
}

/**
 * A FloatFunctional method call, given how torch.ts computes a binary operation and `torch.cat`;
 * undefined for a name that is not one of its methods.
 */
export function callFloatFunctional(
  interp: Host,
  m: ModuleObj,
  name: string,
  a: CallArgs,
  at: Node,
  ops: { binary: (op: string, l: V, r: V) => V; cat: (a: CallArgs) => V },
): V | undefined {
  if (!hasFloatFunctionalMethod(m, name)) return undefined;
  const op = METHODS[name];
  if (op === 'cat') return ops.cat({ args: a.args, kwargs: new Map([...a.kwargs].map(([k, v]) => [k === 'x' ? 'tensors' : k, v])) });
  const [x, y] = a.args;
  const other = y ?? a.kwargs.get('y') ?? a.kwargs.get('r');
  if (!x || !other) return interp.fail(at, `FloatFunctional.${name}(): missing argument`);
  return ops.binary(op, x, other);
}
