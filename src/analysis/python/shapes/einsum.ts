/**
 * `torch.einsum(equation, *operands)`: the output shape from the equation's letters
 * (`"b g h i j, b g h j d -> b g h i d"`, spaces allowed, implicit output = the letters used once,
 * sorted). A letter's sizes must agree across operands (a size 1 broadcasts); `...` is not followed.
 */
import type { Dim, V } from './values';
import { dimValue } from './values';

/** The output shape, or why it cannot be given. */
export function einsumShape(equation: V | undefined, operands: V[]): Dim[] | string {
  if (equation?.kind !== 'str') return 'einsum() equation is not a string';
  const eq = equation.value.replace(/\s+/g, '');
  if (eq.includes('.')) return 'einsum() with `...` is not modelled';
  const [lhs, rhs] = eq.split('->');
  const inputs = lhs.split(',');
  const ts = operands.length === 1 && (operands[0].kind === 'list' || operands[0].kind === 'tuple') ? operands[0].items : operands;
  if (inputs.length !== ts.length) return `einsum() has ${inputs.length} operands in its equation, ${ts.length} given`;
  const size = new Map<string, Dim>();
  const count = new Map<string, number>();
  for (let k = 0; k < ts.length; k++) {
    const t = ts[k];
    if (t.kind !== 'tensor') return `einsum() of ${t.kind}`;
    const letters = [...inputs[k]];
    if (letters.length !== t.shape.length) return `einsum() operand ${k} has ${t.shape.length} dims, the equation ${letters.length}`;
    letters.forEach((c, i) => {
      count.set(c, (count.get(c) ?? 0) + 1);
      const d = t.shape[i];
      const prev = size.get(c);
      if (prev === undefined || dimValue(prev) === 1) size.set(c, d);
    });
    for (let i = 0; i < letters.length; i++) {
      const d = dimValue(t.shape[i]);
      const want = dimValue(size.get(letters[i])!);
      if (d === undefined || want === undefined) return 'einsum() of a size that is not known';
      if (d !== want && d !== 1) return `einsum(): \`${letters[i]}\` is ${want} and ${d}`;
    }
  }
  const out =
    rhs !== undefined
      ? [...rhs]
      : [...count]
          .filter(([, n]) => n === 1)
          .map(([c]) => c)
          .sort();
  const shape: Dim[] = [];
  for (const c of out) {
    const d = size.get(c);
    if (d === undefined) return `einsum(): output letter \`${c}\` is not in an operand`;
    shape.push(d);
  }
  return shape;
}
