/** Reading the arguments of torch.nn constructors and torch functions (PyTorch's signatures), and the name tables the rules share. */
import type { Node } from 'web-tree-sitter';
import type { Host } from '../host';
import { NAMED_BINARY } from '../tensorData';
import { intOf, intV, numOf, type CallArgs, type V } from '../values';

export const NN_FAMILIES: Record<string, RegExp[]> = {
  _ConvNd: [/^(Lazy)?Conv(Transpose)?[123]d$/],
  _ConvTransposeNd: [/^(Lazy)?ConvTranspose[123]d$/],
  _BatchNorm: [/^(Lazy)?BatchNorm[123]d$/, /^SyncBatchNorm$/],
  _NormBase: [/^(Lazy)?BatchNorm[123]d$/, /^SyncBatchNorm$/, /^(Lazy)?InstanceNorm[123]d$/],
  _InstanceNorm: [/^(Lazy)?InstanceNorm[123]d$/],
  _MaxPoolNd: [/^MaxPool[123]d$/],
  _AvgPoolNd: [/^AvgPool[123]d$/],
  _AdaptiveAvgPoolNd: [/^AdaptiveAvgPool[123]d$/],
  _AdaptiveMaxPoolNd: [/^AdaptiveMaxPool[123]d$/],
  _DropoutNd: [/^(Dropout[123]?d?|AlphaDropout|FeatureAlphaDropout)$/],
};

/** A torch.nn class (canonical dotted path), as opposed to a function or submodule. */
export function isNnClass(p: string): boolean {
  return /^torch\.nn\.[A-Z_][A-Za-z0-9_]*$/.test(p) && p !== 'torch.nn.Parameter';
}

export class ArgError extends Error {}

export const ELEMENTWISE_MODULES = new Set([
  'ReLU',
  'ReLU6',
  'LeakyReLU',
  'ELU',
  'SELU',
  'CELU',
  'GELU',
  'SiLU',
  'Mish',
  'Sigmoid',
  'Tanh',
  'Hardtanh',
  'Hardswish',
  'Hardsigmoid',
  'Softplus',
  'Softsign',
  'Tanhshrink',
  'Threshold',
  'LogSigmoid',
  'Softmax',
  'LogSoftmax',
  'Softmin',
  'Softmax2d',
  'Dropout',
  'Dropout1d',
  'Dropout2d',
  'Dropout3d',
  'AlphaDropout',
  'FeatureAlphaDropout',
  'Hardshrink',
  'Softshrink',
  'RReLU',
  'ChannelShuffle',
  'LocalResponseNorm',
  'CrossMapLRN2d',
]);

export const ELEMENTWISE_FUNCTIONS = new Set([
  'relu',
  'relu_',
  'relu6',
  'elu',
  'elu_',
  'selu',
  'celu',
  'gelu',
  'silu',
  'mish',
  'hardswish',
  'hardsigmoid',
  'hardtanh',
  'hardtanh_',
  'leaky_relu',
  'leaky_relu_',
  'prelu',
  'rrelu',
  'sigmoid',
  'sigmoid_',
  'tanh',
  'tanh_',
  'softplus',
  'softsign',
  'logsigmoid',
  'tanhshrink',
  'threshold',
  'dropout',
  'dropout1d',
  'dropout2d',
  'dropout3d',
  'alpha_dropout',
  'feature_alpha_dropout',
  'softmax',
  'log_softmax',
  'softmin',
  'normalize',
  'layer_norm',
  'group_norm',
  'batch_norm',
  'instance_norm',
  'local_response_norm',
  'hardshrink',
  'softshrink',
  'channel_shuffle',
  'exp',
  'exp_',
  'log',
  'abs',
  'sqrt',
  'rsqrt',
  'neg',
  'sin',
  'cos',
  'clamp',
  'clamp_',
  'clip',
  'sign',
  'floor',
  'ceil',
  'round',
  'square',
  'reciprocal',
  'erf',
  'zeros_like',
  'ones_like',
  'rand_like',
  'randn_like',
  'empty_like',
  'full_like',
  'clone',
  'detach',
  'nan_to_num',
  'contiguous',
  'float',
  'double',
  'half',
  'int',
  'long',
  'bool',
  'cpu',
  'cuda',
  'to',
  'type_as',
  'requires_grad_',
  'zero_',
  'fill_',
  'masked_fill',
  'masked_fill_',
  'sigmoid',
  'log1p',
  'expm1',
  'pow',
  'pow_',
  'mul_',
  'add_',
  'sub_',
  'div_',
  'uniform_',
  'normal_',
  'bernoulli',
  'abs_',
  'neg_',
  'sqrt_',
  'tril',
  'triu',
  'flip',
  'roll',
  'log2',
  'log10',
  'exp2',
  'trunc',
  'frac',
  'tan',
  'sinh',
  'cosh',
  'asin',
  'acos',
  'atan',
  'erfc',
  'sgn',
]);

/**
 * Functions and tensor methods whose output is the broadcast of their two inputs, with the operator
 * they are checked as (the named Python operators, and others as `+`: only the shapes count).
 */
export const BROADCAST_FUNCTIONS: Readonly<Record<string, string>> = {
  ...NAMED_BINARY,
  fmod: '%',
  maximum: '+',
  minimum: '+',
  atan2: '+',
  add_: '+',
  sub_: '-',
  mul_: '*',
  div_: '/',
  logical_and: '+',
  logical_or: '+',
};

/** Binds constructor or function arguments to a signature and reads them as numbers. */
export class Args {
  private readonly bound = new Map<string, V>();

  constructor(
    private readonly what: string,
    sig: readonly string[],
    a: CallArgs,
    private readonly interp: Host,
    private readonly at: Node,
  ) {
    a.args.forEach((v, i) => {
      const name = sig[i];
      if (name === undefined) throw new ArgError(`${what}() takes at most ${sig.length} positional arguments`);
      this.bound.set(name, v);
    });
    for (const [k, v] of a.kwargs) {
      if (!sig.includes(k)) throw new ArgError(`${what}() got an unexpected keyword argument '${k}'`);
      if (this.bound.has(k)) throw new ArgError(`${what}() got multiple values for '${k}'`);
      this.bound.set(k, v);
    }
  }

  has(name: string): boolean {
    const v = this.bound.get(name);
    return v !== undefined && v.kind !== 'none';
  }

  /** The value given, or undefined (also for None); an unknown value is an error. */
  opt(name: string): V | undefined {
    const v = this.bound.get(name);
    if (v === undefined || v.kind === 'none') return undefined;
    if (v.kind === 'unknown') throw new ArgError(v.why);
    return v;
  }

  int(name: string, dflt?: number): number {
    const v = this.opt(name);
    if (v === undefined) {
      if (dflt === undefined) throw new ArgError(`${this.what}() is missing \`${name}\``);
      return dflt;
    }
    const n = intOf(v);
    if (n === undefined || v.kind === 'float') throw new ArgError(`\`${name}\` of ${this.what}() is not an integer`);
    return n;
  }

  num(name: string, dflt?: number): number {
    const v = this.opt(name);
    if (v === undefined) {
      if (dflt === undefined) throw new ArgError(`${this.what}() is missing \`${name}\``);
      return dflt;
    }
    const n = numOf(v);
    if (n === undefined) throw new ArgError(`\`${name}\` of ${this.what}() is not a number`);
    return n;
  }

  bool(name: string, dflt: boolean): boolean {
    const v = this.opt(name);
    if (v === undefined) return name === 'bias' && this.bound.get(name)?.kind === 'none' ? false : dflt;
    const t = this.interp.truthy(v);
    if (t === undefined) throw new ArgError(`\`${name}\` of ${this.what}() cannot be decided`);
    return t;
  }

  str(name: string, dflt: string): string {
    const v = this.opt(name);
    if (v === undefined) return dflt;
    if (v.kind !== 'str') throw new ArgError(`\`${name}\` of ${this.what}() is not a string`);
    return v.value;
  }

  /** An int or a tuple of `n` ints, as PyTorch's `_ntuple`. */
  tuple(name: string, n: number, dflt?: number): number[] {
    const v = this.opt(name);
    if (v === undefined) {
      if (dflt === undefined) throw new ArgError(`${this.what}() is missing \`${name}\``);
      return Array<number>(n).fill(dflt);
    }
    return ntuple(v, n, `\`${name}\` of ${this.what}()`);
  }

  raw(name: string): V | undefined {
    return this.bound.get(name);
  }

  fail(detail: string): never {
    void this.at;
    throw new ArgError(detail);
  }
}

function ntuple(v: V, n: number, what: string): number[] {
  const i = intOf(v);
  if (i !== undefined && v.kind !== 'float') return Array<number>(n).fill(i);
  if ((v.kind === 'tuple' || v.kind === 'list') && v.items.length === n) {
    const out = v.items.map(intOf);
    if (out.every((x) => x !== undefined)) return out;
  }
  if (v.kind === 'unknown') throw new ArgError(v.why);
  throw new ArgError(`${what} is not an int or ${n} ints`);
}

export const tupleV = (xs: readonly number[]): V => ({ kind: 'tuple', items: xs.map(intV) });

// rule tables: a record from a name to a small pure builder (constructors, functions, tensor methods, forwards)

/** The rule a table has for `name` (own entries only: `constructor` or `toString` name no rule). */
export function ruleFor<R>(table: Readonly<Record<string, R>>, name: string): R | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

/** One rule under every name of a family (`max_pool1d` to `max_pool3d`, the reductions, ...). */
export function family<R>(names: readonly string[], rule: R): Record<string, R> {
  return Object.fromEntries(names.map((n) => [n, rule]));
}

/** 1, 2 or 3 from a name such as `conv2d`, `max_pool3d` or `BatchNorm1d` (the digit before the final `d`). */
export const dimsOfName = (name: string): number => Number(name.slice(-2, -1));
