/** Options every front end passes to the core. Parsed from CLI flags or editor settings. */
import type { PythonEnvironment } from './environment';

export type Norm = 'none' | 'bn' | 'bn-relu';
export type TfjsStyle = 'separable' | 'split';

export interface AnalysisOptions {
  /** spatial input size per conv dimensionality, e.g. {2: [224, 224]} */
  inputSizes: Partial<Record<1 | 2 | 3, number[]>>;
  /** symbol values given by the user (`--assume features=64`, editor setting) */
  assumptions: Record<string, number>;
  /** depth multiplier of the depthwise conv in the rewrite */
  depthMultiplier: number;
  /** layers put between depthwise and pointwise */
  norm: Norm;
  tfjsStyle: TfjsStyle;
  /** count one add per output element for a bias in MACs (torchinfo, ptflops); default off (fvcore, thop) */
  countBiasAdds?: boolean;
  /** the environment whose packages imports are read from, when the front end knew it beforehand (the editor); else ShapeSources.python */
  python?: PythonEnvironment;
}

/** Used when the user gives no size: ImageNet's 224 per side; a 16-frame 112x112 clip for 3d. */
export const DEFAULT_INPUT_SIZES: Record<1 | 2 | 3, number[]> = {
  1: [224],
  2: [224, 224],
  3: [16, 112, 112],
};

export function defaultOptions(overrides: Partial<AnalysisOptions> = {}): AnalysisOptions {
  return {
    inputSizes: {},
    assumptions: {},
    depthMultiplier: 1,
    norm: 'none',
    tfjsStyle: 'separable',
    ...overrides,
  };
}

/** `224x224` / `16x112x112` / `16000` -> [224, 224] ...; throws a user-facing message otherwise. */
export function parseInputSize(text: string): number[] {
  const parts = text.trim().toLowerCase().split(/[x×,]/);
  const dims = parts.map((p) => Number(p));
  if (dims.length < 1 || dims.length > 3 || dims.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`input size "${text}" is not like 224x224 (1 to 3 positive integers joined by x)`);
  }
  return dims;
}

/** `features=64` -> ['features', 64]; throws a user-facing message otherwise. */
export function parseAssumption(text: string): [string, number] {
  const m = /^\s*([A-Za-z_][\w.]*)\s*=\s*(-?\d+)\s*$/.exec(text);
  if (!m) throw new Error(`assumption "${text}" is not like name=64`);
  return [m[1], Number(m[2])];
}

/** The input size for a conv of `dims` spatial dimensions, and how to say where it came from. */
export function inputSizeFor(options: AnalysisOptions, dims: 1 | 2 | 3): { size: number[]; given: boolean } {
  const given = options.inputSizes[dims];
  return given ? { size: given, given: true } : { size: DEFAULT_INPUT_SIZES[dims], given: false };
}
