/**
 * What both interpreters do with what they cannot know: an `unknown` value carries its reason
 * (nothing is guessed past it), and where the sides of an undecidable condition leave different
 * values, the join keeps what they agree on and makes the rest unknown with the condition named.
 * Each interpreter's value type has this `Unknown` as a member; what "the same value" means stays
 * the interpreter's own (`same`), and so does any coarser value both sides fit (a tensor of the
 * shape they share, its data dropped).
 */

/** An unknown value and why ("shape unknown after line 12: `x.view(b, -1)` (view/reshape sizes are not known)"). */
export interface Unknown {
  kind: 'unknown';
  why: string;
}

export const unknownBecause = (why: string): Unknown => ({ kind: 'unknown', why });

/**
 * The join of one value over the sides of an undecidable condition: the first side's value when
 * every side's is the same, else `coarser` of them when it has one, else unknown with `why`.
 */
export function joinSides<V>(
  values: readonly V[],
  same: (a: V, b: V) => boolean,
  why: string,
  coarser?: (values: readonly V[]) => V | undefined,
): V | Unknown {
  if (values.every((v) => same(v, values[0]))) return values[0];
  return coarser?.(values) ?? unknownBecause(why);
}
