/**
 * The positional order of PyTorch 1.13's conv constructors (`nn.Conv*d`, `nn.ConvTranspose*d` and
 * their Lazy forms, which drop `in_channels`): what the static pass and the shape interpreter bind a
 * call's arguments by.
 */

const CONV = [
  'in_channels',
  'out_channels',
  'kernel_size',
  'stride',
  'padding',
  'dilation',
  'groups',
  'bias',
  'padding_mode',
  'device',
  'dtype',
];

/** ConvTranspose puts output_padding after padding and dilation after bias. */
const TRANSPOSED = [
  'in_channels',
  'out_channels',
  'kernel_size',
  'stride',
  'padding',
  'output_padding',
  'groups',
  'bias',
  'dilation',
  'padding_mode',
  'device',
  'dtype',
];

/** The parameter names of a conv constructor in positional order. */
export function convSignature(lazy: boolean, transposed: boolean): string[] {
  const sig = transposed ? TRANSPOSED : CONV;
  return lazy ? sig.slice(1) : sig;
}
