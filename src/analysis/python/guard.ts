/**
 * Guarded rewrites: a helper line that builds both convs the separable form makes smaller and
 * convs it does not (yolov5's `Conv(c1, c2, k=1, ...)`, `BasicConv2d(**kwargs)`, a block's
 * `nn.Conv2d(cin, cout, k, groups=g)`) becomes
 *
 *   nn.Sequential(depthwise, pointwise) if k != 1 and g == 1 else nn.Conv2d(...as written...)
 *
 * The condition is a conjunction of tests on the line's own argument expressions, chosen so that
 * on every module the models build there it holds exactly where the separable form is smaller
 * (standard, in_channels > 1, fewer params); the other modules are built as before.
 */
import type { Guard, GuardTerm, WrittenArg } from '../model';

/** What a guard is judged on: one module built at the line, as shape inference saw it. */
export interface GuardInstance {
  inChannels: number | undefined;
  outChannels: number | undefined;
  groups: number | undefined;
  kernel: number[] | undefined;
  /** kernel_size was one int (`k != 1` is true for any tuple) */
  kernelIsInt: boolean;
}

/** The value of each term on a module, as Python would compute it. */
export function termHolds(term: GuardTerm, i: GuardInstance): boolean | undefined {
  switch (term) {
    case 'kernel':
      return i.kernel === undefined ? undefined : i.kernelIsInt ? i.kernel[0] !== 1 : true;
    case 'groups':
      return i.groups === undefined ? undefined : i.groups === 1;
    case 'in':
      return i.inChannels === undefined ? undefined : i.inChannels > 1;
    case 'out':
      return i.outChannels === undefined ? undefined : i.outChannels > 1;
    case 'notDepthwise':
      return i.groups === undefined || i.inChannels === undefined ? undefined : i.groups !== i.inChannels;
  }
}

const TERMS: GuardTerm[] = ['kernel', 'groups', 'in', 'out'];

/** Calls other than these in an expression that is copied several times could have side effects. */
const PURE_CALLS = new Set(['int', 'min', 'max', 'len', 'abs', 'round']);

export function hasImpureCall(expr: string): boolean {
  for (const m of expr.matchAll(/([A-Za-z_][\w.]*)\s*\(/g)) if (!PURE_CALLS.has(m[1])) return true;
  return false;
}

/** `expr` as the left operand of a comparison: a name, attribute, subscript or number stands alone. */
function operand(expr: string): string {
  const e = expr.trim();
  return /^[\w.]+(\[[^\]]*\])*$/.test(e) ? e : `(${e})`;
}

/** Each test as Python text on the line's expressions (undefined: the line does not write that argument). */
function termTexts(
  written: (param: string) => WrittenArg | undefined,
  kernelExpr: string | undefined,
): Record<GuardTerm, string | undefined> {
  return {
    kernel: kernelExpr && `${operand(kernelExpr)} != 1`,
    groups: written('groups') && `${operand(written('groups')!.text)} == 1`,
    in: written('in_channels') && `${operand(written('in_channels')!.text)} > 1`,
    out: written('out_channels') && `${operand(written('out_channels')!.text)} > 1`,
    notDepthwise:
      written('groups') && written('in_channels') && `${operand(written('groups')!.text)} != ${operand(written('in_channels')!.text)}`,
  };
}

/** A value passed through from a caller as it is: a name, attribute or subscript (`k`, `cfg.kernel`, `kwargs["kernel_size"]`), not a number or arithmetic. */
const PASSED = /^(?!\d)[\w.]+(\[[^\]]*\])*$/;

/**
 * For a line whose every module seen is smaller separable: the tests that keep a caller not seen
 * from getting a separable 1x1 or a separable depthwise conv (larger, both), on the kernel size and
 * groups the line passes through from its callers as they are (`kernel_size != 1 and groups !=
 * in_channels` in torchvision's `Conv2dNormActivation`; a grouped conv is still converted, its
 * pointwise conv keeping the groups); undefined when neither is (numbers, arithmetic such as
 * `2 * stride`, or not written).
 */
export function safetyGuard(
  instances: GuardInstance[],
  written: (param: string) => WrittenArg | undefined,
  kernelExpr: string | undefined,
): Guard | undefined {
  const textOf = termTexts(written, kernelExpr);
  const open: Record<'kernel' | 'notDepthwise', string | undefined> = { kernel: kernelExpr, notDepthwise: written('groups')?.text };
  const terms = (['kernel', 'notDepthwise'] as const).filter(
    (t) =>
      open[t] !== undefined &&
      PASSED.test(open[t].trim()) &&
      !hasImpureCall(textOf[t]!) &&
      instances.every((i) => termHolds(t, i) === true),
  );
  if (terms.length === 0) return undefined;
  return { condition: terms.map((t) => textOf[t]!).join(' and '), terms, converted: instances.length, instances: instances.length };
}

/**
 * The smallest conjunction of tests (`k != 1`, `g == 1`, `cin > 1`, `cout > 1`) that holds on
 * exactly the `eligible` modules, written on the line's expressions; or why there is none.
 * `kernelExpr` is the kernel size's expression (written, or `kwargs["kernel_size"]`).
 */
export function findGuard(
  instances: GuardInstance[],
  eligible: boolean[],
  written: (param: string) => WrittenArg | undefined,
  kernelExpr: string | undefined,
): Guard | string {
  const textOf = termTexts(written, kernelExpr);
  const usable = TERMS.filter((t) => textOf[t] !== undefined && !hasImpureCall(textOf[t]));
  // smallest first, in the order of TERMS
  const subsets: GuardTerm[][] = [];
  for (let mask = 1; mask < 1 << usable.length; mask++) subsets.push(usable.filter((_, b) => mask & (1 << b)));
  subsets.sort((a, b) => a.length - b.length);
  for (const terms of subsets) {
    const exact = instances.every(
      (inst, k) => terms.every((t) => termHolds(t, inst) !== undefined) && terms.every((t) => termHolds(t, inst)) === eligible[k],
    );
    if (!exact) continue;
    return {
      condition: terms.map((t) => textOf[t]!).join(' and '),
      terms,
      converted: eligible.filter(Boolean).length,
      instances: instances.length,
    };
  }
  const n = eligible.filter(Boolean).length;
  return `${n} of the ${instances.length} modules built here are smaller separable, and no test of the line's kernel size, groups or widths tells them from the others`;
}
