/**
 * The code and its checkpoint converted together, for every front end (CLI, language server): the
 * caller analyses its files (at K = 1: which convs convert does not depend on the K a layer gets),
 * this plans the rewrite, matches and factors the checkpoint, and rewrites the code again with each
 * call site's K. Nothing is written here: the result says what to write, and `writeCheckpoint()`
 * writes the new checkpoint (through a temporary file and a rename). Any problem throws, before
 * anything is written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnyAnalysis } from '../analysis/analyze';
import type { Layer, ModelSummary } from '../analysis/model';
import type { LanguageId } from '../analysis/parsing';
import { frameworkOf, type CheckpointFormat, type Framework } from '../frameworks/index';
import { rewrite, type FileRewrite, type RewriteOptions } from '../refactor/index';
import type { Checkpoint } from './checkpoint';
import { planCheckpoint, WeightsError, type CheckpointPlan, type ConvertOptions, type ModuleResult } from './convert';
import { candidates, openCheckpoint, siteId, type ConvertedLayer } from './index';
import { convertLayersModel, isLayersModel, type LayersModelLayer } from './tfjs';

export interface CodeFile {
  file: string;
  id: LanguageId;
  text: string;
  /** analysed with depthMultiplier 1 */
  analysis: AnyAnalysis;
}

export interface WeightsRequest {
  checkpoint: string;
  out: string;
  /** K by energy (PyTorch), else `rewrite.depthMultiplier` for every layer */
  energy?: number;
  tfjsStyle: 'separable' | 'split';
  rewrite: RewriteOptions & { minSavings: number };
}

export interface WeightsResult {
  /** each file's rewrite at its sites' K (unchanged files left out) */
  files: { file: string; rewrite: FileRewrite }[];
  /** per converted module (PyTorch) or layer (tfjs): K, the energy kept, the relative error */
  modules: ModuleResult[];
  layers: LayersModelLayer[];
  /** the model of the code the checkpoint is, and the key prefix found */
  model?: string;
  prefix?: string;
  /** one line per module for a table or a message */
  summary: string[];
  writeCheckpoint(): void;
  /** releases the checkpoint file */
  close(): void;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/**
 * The layers whose checkpoint weights can be factorised: a transposed conv's weight is laid out
 * [Cin, Cout, k...] and a guarded line converts only some of its modules, so their code is left as it is.
 */
const withWeights = (l: Layer): boolean => l.kind !== 'transposed' && !l.guard;

/**
 * The rewrite's first pass (every file at the request's options): which convs convert, each with its
 * file and line. Throws when a file cannot be rewritten or nothing converts.
 */
export function firstPass(
  code: CodeFile[],
  rewriteOptions: WeightsRequest['rewrite'],
  owner: Framework,
): { firsts: { c: CodeFile; first: FileRewrite }[]; converted: ConvertedLayer[] } {
  const firsts = code.map((c) => {
    const first = rewrite(c.text, c.id, c.analysis, withWeights, {
      ...rewriteOptions,
      multipliers: undefined,
    });
    if (first.error) throw new WeightsError(`${c.file}: ${first.error}`);
    return { c, first };
  });
  const lineOf = (text: string, offset: number) => text.slice(0, offset).split('\n').length;
  const converted: ConvertedLayer[] = firsts.flatMap(({ c, first }) =>
    first.converted.map((layer: Layer) => ({ file: c.file, layer, line: lineOf(c.text, layer.span.start) })),
  );
  if (converted.length === 0)
    throw new WeightsError(`no convolution of the given ${owner.name} code is converted; the checkpoint is left alone`);
  return { firsts, converted };
}

/** How K is chosen: by energy, else one depth multiplier for every layer. */
export interface RankRequest {
  energy?: number;
  depthMultiplier: number;
  norm: ConvertOptions['norm'];
}

/**
 * The plan of a PyTorch checkpoint for the code's converted layers: the model of the code it is,
 * K per call site and per module K, energy kept, relative error, params and MACs at that K. What
 * `apply --weights` writes, `report --weights` prints and the editor's hover shows.
 */
export function planWithCode(
  ckpt: Checkpoint,
  code: CodeFile[],
  converted: ConvertedLayer[],
  req: RankRequest,
  spectrumOf?: ConvertOptions['spectrumOf'],
): CheckpointPlan {
  const models: ModelSummary[] = code.flatMap((c) => frameworkOf(c.analysis).checkpoint.models(c.analysis));
  const keys = new Map([...ckpt.tensors].map(([k, t]) => [k, t.shape]));
  const rank = req.energy !== undefined ? { energy: req.energy } : { multiplier: req.depthMultiplier };
  return planCheckpoint(ckpt, candidates(converted, models, keys), { rank, norm: req.norm, spectrumOf });
}

/** One module's line of the report: `key  K=k/full  energy e%  rel. error x  params a -> b  MACs c -> d`. */
export function moduleLine(m: ModuleResult): string {
  return `${m.key}  K=${m.k}/${m.fullRank}  energy ${pct(m.energy)}  rel. error ${m.error.toExponential(2)}  params ${m.params ? `${m.params.before} -> ${m.params.after}` : '?'}${m.macs ? `  MACs ${m.macs.before} -> ${m.macs.after}` : ''}${m.params && m.params.after >= m.params.before ? ' (not smaller at this K)' : ''}`;
}

/** The format of a checkpoint file (a layers model's model.json, else a state dict): `frameworkForCheckpoint` gives its code's framework. */
export function checkpointFormat(file: string): CheckpointFormat {
  return isLayersModel(file) ? 'layers-model' : 'state-dict';
}

/** What a format's conversion gets: the code, its first pass, the request, and how to write through a temporary file. */
interface Conversion {
  code: CodeFile[];
  firsts: { c: CodeFile; first: FileRewrite }[];
  converted: ConvertedLayer[];
  req: WeightsRequest;
  viaTemp: (write: (file: string) => void) => void;
}

/** Each checkpoint format converted its own way (the framework of the code says which: `Framework.checkpoint.format`). */
const CONVERSIONS: Record<CheckpointFormat, (c: Conversion) => WeightsResult> = {
  'layers-model': ({ firsts, converted, req, viaTemp }) => {
    if (req.energy !== undefined)
      throw new WeightsError('--energy applies to PyTorch checkpoints; give TensorFlow.js models a depth multiplier');
    const result = convertLayersModel(req.checkpoint, converted, { depthMultiplier: req.rewrite.depthMultiplier, style: req.tfjsStyle });
    return {
      files: firsts.filter((f) => f.first.newText !== f.c.text).map((f) => ({ file: f.c.file, rewrite: f.first })),
      modules: [],
      layers: result.layers,
      summary: result.layers.map(
        (l) => `${l.name} -> ${l.becomes.join(' + ')}  K=${l.k}  energy ${pct(l.energy)}  rel. error ${l.error.toExponential(2)}`,
      ),
      writeCheckpoint: () => viaTemp((file) => result.write(file, req.out)),
      close: () => undefined,
    };
  },
  'state-dict': ({ code, firsts, converted, req, viaTemp }) => {
    const ckpt: Checkpoint = openCheckpoint(req.checkpoint);
    try {
      const plan = planWithCode(ckpt, code, converted, {
        energy: req.energy,
        depthMultiplier: req.rewrite.depthMultiplier,
        norm: req.rewrite.norm,
      });
      const files: WeightsResult['files'] = [];
      for (const { c, first } of firsts) {
        const multipliers = new Map<number, number>();
        for (const l of first.converted) {
          const k = plan.ranks.get(siteId(c.file, l.span.start));
          if (k !== undefined) multipliers.set(l.span.start, k);
        }
        const again = multipliers.size ? rewrite(c.text, c.id, c.analysis, withWeights, { ...req.rewrite, multipliers }) : first;
        if (again.error) throw new WeightsError(`${c.file}: ${again.error}`);
        if (again.newText !== c.text) files.push({ file: c.file, rewrite: again });
      }
      return {
        files,
        modules: plan.modules,
        layers: [],
        model: plan.candidate,
        prefix: plan.prefix,
        summary: plan.modules.map(moduleLine),
        writeCheckpoint: () => viaTemp((file) => ckpt.write(file, plan.replace)),
        close: () => ckpt.close(),
      };
    } catch (e) {
      ckpt.close();
      throw e;
    }
  },
};

/** The code of framework `owner` and its checkpoint converted together (see the file's comment). */
export function convertWithCode(code: CodeFile[], req: WeightsRequest, owner: Framework): WeightsResult {
  const { firsts, converted } = firstPass(code, req.rewrite, owner);
  if (path.resolve(req.out) === path.resolve(req.checkpoint)) throw new WeightsError('the new checkpoint must not overwrite the old one');
  const tmp = path.join(path.dirname(req.out), `.${path.basename(req.out)}.sepconv-${process.pid}.tmp`);
  const viaTemp = (write: (file: string) => void) => {
    try {
      write(tmp);
      fs.renameSync(tmp, req.out);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  };
  return CONVERSIONS[owner.checkpoint.format]({ code, firsts, converted, req, viaTemp });
}
