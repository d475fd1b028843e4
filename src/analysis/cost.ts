/**
 * Parameters and multiply-accumulates of a convolution and of its depthwise separable form
 * (DESIGN.md §2). One function serves every front end, so a hover, an inlay hint, a CLI table and a
 * JSON report always agree. MACs are per sample; FLOPs = 2 x MACs; bias adds are not MACs.
 */
import type { ConvArgs, Cost, LayerKind } from './model';
import type { Norm } from './options';
import { convOutputSize, transposedOutputSize } from './kernel/conv';
import { Poly } from './poly';

const product = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

export interface SeparableOptions {
  depthMultiplier: number;
  norm: Norm;
  /** add one MAC per output element for a bias (torchinfo, ptflops); off by default (fvcore, thop) */
  countBiasAdds?: boolean;
}

/**
 * The cost of a layer before and after the rewrite. `after` is undefined where no rewrite exists
 * (transposed, lazy, already depthwise or pointwise layers); channel counts may hold symbols.
 */
export function convCost(
  args: ConvArgs,
  kind: LayerKind,
  input: number[] | undefined,
  opts: SeparableOptions,
  outputSize?: number[],
): Cost {
  const { inChannels: cin, outChannels: cout, kernelSize: k, groups: g } = args;
  const m = opts.depthMultiplier;
  const empty: Cost = {
    params: { before: undefined, after: undefined },
    macs: { before: undefined, after: undefined },
    inputSize: input,
    outputSize: undefined,
  };
  if (!k || !cout || !g) return empty;
  const kvol = product(k);
  const out =
    outputSize ??
    (input && args.stride && args.padding && args.dilation
      ? kind === 'transposed'
        ? transposedOutputSize(input, k, args.stride, args.padding, args.dilation)
        : convOutputSize(input, k, args.stride, args.padding, args.dilation)
      : undefined);
  const outSpatial = out ? product(out) : undefined;
  const biasParams = args.bias === undefined ? undefined : args.bias ? cout : Poly.ZERO;
  // the bias of the separable form sits on the pointwise conv, which has the same output: same adds
  const biasAdds = opts.countBiasAdds && args.bias && outSpatial !== undefined ? cout.mulConst(outSpatial) : Poly.ZERO;
  const cost: Cost = { ...empty, outputSize: out };
  if (!cin) return cost;

  if (kind === 'transposed') {
    // weight [Cin, Cout/g, *k]; each input element scatters into Cout/g * kvol outputs
    const perIn = cout.divBy(g)?.mulConst(kvol);
    const weights = perIn?.mul(cin);
    cost.params.before = weights && biasParams ? weights.add(biasParams) : undefined;
    cost.macs.before = weights && input ? weights.mulConst(product(input)).add(biasAdds) : undefined;
    // separable: a transposed depthwise conv (groups=Cin, same stride, padding, output_padding,
    // dilation: the same output size) scattering each input element into m*kvol outputs, then a 1x1 conv
    const mid = cin.mulConst(m);
    const depthwise = mid.mulConst(kvol);
    const pointwise = mid.divBy(g)?.mul(cout);
    const normParams = opts.norm === 'none' ? Poly.ZERO : mid.mulConst(2);
    if (pointwise && biasParams) {
      cost.params.after = depthwise.add(pointwise).add(biasParams).add(normParams);
      cost.macs.after =
        input && outSpatial !== undefined
          ? depthwise.mulConst(product(input)).add(pointwise.mulConst(outSpatial)).add(biasAdds)
          : undefined;
    }
    return cost;
  }

  if (kind === 'separable') {
    // an existing separable layer (tfjs separableConv2d): depthwise Cin*m*kvol + pointwise Cin*m*Cout, one bias
    const mid = cin.mulConst(args.depthMultiplier ?? 1);
    const w = mid.mulConst(kvol).add(mid.mul(cout));
    cost.params.before = biasParams ? w.add(biasParams) : undefined;
    cost.macs.before = outSpatial !== undefined ? w.mulConst(outSpatial).add(biasAdds) : undefined;
    return cost;
  }

  const cinPerGroup = cin.divBy(g);
  const weights = cinPerGroup?.mul(cout).mulConst(kvol);
  cost.params.before = weights && biasParams ? weights.add(biasParams) : undefined;
  cost.macs.before = weights && outSpatial !== undefined ? weights.mulConst(outSpatial).add(biasAdds) : undefined;
  if (kind !== 'conv') return cost;

  const mid = cin.mulConst(m);
  const depthwise = mid.mulConst(kvol);
  const pointwise = mid.divBy(g)?.mul(cout);
  const normParams = opts.norm === 'none' ? Poly.ZERO : mid.mulConst(2);
  if (pointwise) {
    const weightsAfter = depthwise.add(pointwise);
    cost.params.after = biasParams ? weightsAfter.add(biasParams).add(normParams) : undefined;
    cost.macs.after = outSpatial !== undefined ? weightsAfter.mulConst(outSpatial).add(biasAdds) : undefined;
  }
  return cost;
}

/** 1 - after/before, rounded to 4 places; undefined while either is symbolic or zero. */
export function savings(before: Poly | undefined, after: Poly | undefined): number | undefined {
  const b = before?.constant;
  const a = after?.constant;
  if (a === undefined || b === undefined || b === 0) return undefined;
  return Math.round((1 - a / b) * 10000) / 10000;
}
