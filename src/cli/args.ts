/** Command-line parsing for `sepconv report | apply | check`. */
import { defaultOptions, parseAssumption, parseInputSize, type AnalysisOptions } from '../analysis/options';

export class UsageError extends Error {}

export type Command = 'report' | 'apply' | 'check';

export interface CliOptions {
  command: Command;
  paths: string[];
  format: 'table' | 'json' | 'markdown';
  minSavings: number;
  diff: boolean;
  dryRun: boolean;
  /** apply: write read-only files too */
  force: boolean;
  lineLength: number;
  analysis: AnalysisOptions;
  /** report, check: reuse and keep results in the persistent cache (src/cli/cache.ts); off with --no-cache */
  cache?: boolean;
  /** apply: the checkpoint converted with the code, where the new one goes, and K by energy */
  weights?: string;
  out?: string;
  energy?: number;
  /** the Python interpreter whose installed packages imports are read from (--python; default python3 on PATH, asked when first needed) */
  python?: string;
}

export const USAGE = `sepconv: find standard convolutions in PyTorch and TensorFlow.js code and make them depthwise separable

usage:
  sepconv report <paths...> [--json | --markdown] [--input-size HxW]... [--assume name=N]... [--min-savings F] [--no-cache]
                 [--python PATH] [--weights CHECKPOINT [--energy F]]
  sepconv apply  <paths...> [--diff | --dry-run] [--force] [--min-savings F] [--norm none|bn|bn-relu] [--depth-multiplier N]
                 [--weights CHECKPOINT [--out NEW] [--energy F] [--json]]
  sepconv check  <paths...> [--min-savings F] [--no-cache]

options:
  --input-size S       spatial input size for MACs: 224x224 (2d), 16000 (1d), 16x112x112 (3d); repeat
                       for several dimensionalities (default 224x224, 224, 16x112x112)
  --assume name=N      value for a symbol the source leaves open (repeatable)
  --min-savings F      only convert layers that save at least F of their parameters (0..1, default 0)
  --norm MODE          put BatchNorm (bn) or BatchNorm+ReLU (bn-relu) between depthwise and pointwise
  --depth-multiplier N channels of the depthwise conv per input channel (default 1)
  --tfjs-style S       tfjs rewrite: separable (separableConv2d) or split (depthwiseConv2d + conv2d)
  --line-length N      line length the rewrite keeps to (default 88)
  --weights FILE       apply: convert this checkpoint with the code (.pt/.pth, .safetensors, tfjs model.json);
                       report: per layer the K, energy and error apply would give, nothing written
  --out FILE           where the converted checkpoint goes (default: <name>.separable.<ext> next to it)
  --energy F           with --weights: per layer the smallest depth multiplier keeping F of ||W||² (0..1]
  --json, --markdown   report format (default: a table)
  --diff               print a unified diff instead of writing files
  --dry-run            say what would change, write nothing
  --force              apply: rewrite read-only files too (their mode is kept)
  --python PATH        the interpreter whose installed packages (torchvision, timm, ...) imports are read from,
                       as source, never run; asked once for its sys.path (default: python3 on PATH, if any)
  --no-cache           report, check: neither use nor keep results of earlier runs (kept by file content
                       in $SEPCONV_CACHE_DIR, else $XDG_CACHE_HOME/sepconv, else ~/.cache/sepconv)

exit codes: report 0; check 1 while a convertible conv remains; check and apply 1 when a file has a
syntax error; 2 for usage and I/O errors and for any file not analysed or not written (unreadable,
too large, binary, invalid notebook, read-only, changed on disk meanwhile), each listed with its reason.`;

function takeValue(argv: string[], i: number, flag: string): string {
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
  return v;
}

export function parseArgs(argv: string[]): CliOptions {
  const [command, ...rest] = argv;
  if (command !== 'report' && command !== 'apply' && command !== 'check') {
    throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
  const o: CliOptions = {
    command,
    paths: [],
    format: 'table',
    minSavings: 0,
    diff: false,
    dryRun: false,
    force: false,
    lineLength: 88,
    analysis: defaultOptions(),
    cache: true,
  };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') && !arg.startsWith('--assume=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = takeValue(rest, i, flag);
      i++;
      return v;
    };
    try {
      switch (flag) {
        case '--json':
          o.format = 'json';
          break;
        case '--markdown':
          o.format = 'markdown';
          break;
        case '--diff':
          o.diff = true;
          break;
        case '--dry-run':
          o.dryRun = true;
          break;
        case '--no-cache':
          o.cache = false;
          break;
        case '--force':
          o.force = true;
          break;
        case '--input-size': {
          const size = parseInputSize(value());
          o.analysis.inputSizes[size.length as 1 | 2 | 3] = size;
          break;
        }
        case '--assume':
        case '--assume=': {
          const [k, v] = parseAssumption(arg.startsWith('--assume=') ? arg.slice(9) : value());
          o.analysis.assumptions[k] = v;
          break;
        }
        case '--min-savings': {
          const v = Number(value());
          if (!(v >= 0 && v <= 1)) throw new UsageError('--min-savings takes a fraction from 0 to 1 (e.g. 0.5)');
          o.minSavings = v;
          break;
        }
        case '--norm': {
          const v = value();
          if (v !== 'none' && v !== 'bn' && v !== 'bn-relu') throw new UsageError('--norm takes none, bn or bn-relu');
          o.analysis.norm = v;
          break;
        }
        case '--depth-multiplier': {
          const v = Number(value());
          if (!Number.isInteger(v) || v < 1) throw new UsageError('--depth-multiplier takes a whole number ≥ 1');
          o.analysis.depthMultiplier = v;
          break;
        }
        case '--tfjs-style': {
          const v = value();
          if (v !== 'separable' && v !== 'split') throw new UsageError('--tfjs-style takes separable or split');
          o.analysis.tfjsStyle = v;
          break;
        }
        case '--weights':
          o.weights = value();
          break;
        case '--out':
          o.out = value();
          break;
        case '--energy': {
          const v = Number(value());
          if (!(v > 0 && v <= 1)) throw new UsageError('--energy takes a fraction above 0, at most 1 (e.g. 0.99)');
          o.energy = v;
          break;
        }
        case '--python':
          o.python = value();
          if (!o.python) throw new UsageError('--python needs a path to an interpreter');
          break;
        case '--line-length': {
          const v = Number(value());
          if (!Number.isInteger(v) || v < 20) throw new UsageError('--line-length takes a whole number ≥ 20');
          o.lineLength = v;
          break;
        }
        default:
          if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
          o.paths.push(arg);
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError((e as Error).message);
    }
  }
  if (o.paths.length === 0) throw new UsageError(`${command} needs at least one file or folder`);
  if (o.diff && o.dryRun) throw new UsageError('--diff and --dry-run do not go together');
  if (o.weights !== undefined && command === 'check') throw new UsageError('--weights goes with apply (or report: what apply would do)');
  // report --weights: the per-layer K, energy and error apply would give, nothing written
  if (o.weights !== undefined && command === 'report') o.dryRun = true;
  if ((o.out !== undefined || o.energy !== undefined) && o.weights === undefined)
    throw new UsageError(`${o.out !== undefined ? '--out' : '--energy'} needs --weights`);
  if (o.energy !== undefined && rest.some((a) => a.startsWith('--depth-multiplier')))
    throw new UsageError('--energy chooses the depth multiplier per layer: give one of --energy and --depth-multiplier');
  return o;
}
