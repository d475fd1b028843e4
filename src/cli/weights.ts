/**
 * `sepconv apply <paths> --weights <checkpoint>`: the code and the checkpoint are converted together.
 * Every file is analysed and planned first, the checkpoint is matched and factored, and only when
 * all of it succeeds is anything written (the checkpoint first, then the code). One thread: the
 * checkpoint needs every file's plan.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { analyzeText, type AnyAnalysis } from '../analysis/analyze';
import { diskSources, readSourceFile } from '../analysis/files';
import type { Layer, ModelSummary } from '../analysis/model';
import { isNotebook } from '../analysis/notebook';
import { initParsing } from '../analysis/parsing';
import { rewrite, type FileRewrite } from '../refactor/index';
import { candidates, defaultOutput, type Checkpoint, openCheckpoint, planCheckpoint, siteId, type CheckpointPlan, type ConvertedLayer } from '../weights/index';
import { convertLayersModel, isLayersModel, type LayersModelResult } from '../weights/tfjs';
import type { CliOptions } from './args';
import type { Io } from './main';
import { unitFor, writeAtomic, type Unit } from './process';

interface Planned {
  file: string;
  original: string;
  unit: Unit;
  analysis: AnyAnalysis;
  first: FileRewrite;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** Runs `apply --weights`; the exit code. */
export async function applyWithWeights(files: string[], opts: CliOptions, io: Io): Promise<number> {
  await initParsing();
  const ckptFile = opts.weights!;
  const tfjs = isLayersModel(ckptFile);
  const planned: Planned[] = [];
  for (const file of files) {
    const src = readSourceFile(file);
    if (src.text === undefined) {
      io.err(`sepconv: ${file}: ${src.error ?? 'unreadable'}`);
      return 2;
    }
    const unit = unitFor(file, src.text);
    if ((unit.id === 'python') === tfjs) continue; // the other framework's files are not this checkpoint's
    // which convs convert is judged at K = 1 (the separable form exists and can be smaller); each is
    // then written at its own K, which may keep every weight at a larger size (the table says so)
    const analysis = analyzeText(unit.text, unit.id, { ...opts.analysis, depthMultiplier: 1 }, { sources: unit.id === 'python' ? diskSources(isNotebook(file) ? undefined : file, opts.paths, undefined, true) : undefined });
    if (analysis.syntaxError) {
      io.err(`${file}: not rewritten: ${analysis.syntaxError.message}; nothing written`);
      return 1;
    }
    const first = rewrite(unit.text, unit.id, analysis, () => true, { depthMultiplier: opts.analysis.depthMultiplier, norm: opts.analysis.norm, lineLength: opts.lineLength, minSavings: opts.minSavings });
    if (first.error) {
      io.err(`${file}: ${first.error}; nothing written`);
      return 1;
    }
    planned.push({ file, original: src.text, unit, analysis, first });
  }
  const converted: ConvertedLayer[] = planned.flatMap((p) => p.first.converted.map((layer: Layer) => ({ file: p.file, layer })));
  if (converted.length === 0) {
    io.err(`sepconv: no convolution of the given ${tfjs ? 'TensorFlow.js' : 'PyTorch'} files is converted; the checkpoint is left alone`);
    return 1;
  }
  const out = opts.out ?? defaultOutput(ckptFile);
  if (path.resolve(out) === path.resolve(ckptFile)) {
    io.err('sepconv: --out must not be the checkpoint itself');
    return 2;
  }
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.sepconv-${process.pid}.tmp`);
  const write = !opts.diff && !opts.dryRun;

  let multipliers = new Map<string, number>();
  let summary: string[];
  let json: unknown;
  let commit: () => void;
  let ckpt: Checkpoint | undefined;
  try {
    if (tfjs) {
      if (opts.energy !== undefined) throw new Error('--energy applies to PyTorch checkpoints; give TensorFlow.js models a --depth-multiplier');
      const result: LayersModelResult = convertLayersModel(ckptFile, converted, { depthMultiplier: opts.analysis.depthMultiplier, style: opts.analysis.tfjsStyle });
      summary = result.layers.map((l) => `  ${l.name} -> ${l.becomes.join(' + ')}  K=${l.k}  energy ${pct(l.energy)}  rel. error ${l.error.toExponential(2)}`);
      json = { checkpoint: ckptFile, out, layers: result.layers };
      commit = () => result.write(out);
    } else {
      const open = (ckpt = openCheckpoint(ckptFile));
      const models: ModelSummary[] = planned.flatMap((p) => (p.analysis.framework === 'pytorch' ? (p.analysis.models ?? []) : []));
      const keys = new Map([...open.tensors].map(([k, t]) => [k, t.shape]));
      const rank = opts.energy !== undefined ? { energy: opts.energy } : { multiplier: opts.analysis.depthMultiplier };
      const plan: CheckpointPlan = planCheckpoint(open, candidates(converted, models, keys), { rank, norm: opts.analysis.norm });
      multipliers = plan.ranks;
      summary = plan.modules.map(
        (m) => `  ${m.key}  K=${m.k}/${m.fullRank}  energy ${pct(m.energy)}  rel. error ${m.error.toExponential(2)}  params ${m.params.before} -> ${m.params.after}${m.params.after >= m.params.before ? ' (not smaller at this K)' : ''}`,
      );
      json = { checkpoint: ckptFile, out, model: plan.candidate, prefix: plan.prefix, modules: plan.modules };
      commit = () => {
        try {
          open.write(tmp, plan.replace);
          fs.renameSync(tmp, out);
        } finally {
          fs.rmSync(tmp, { force: true });
        }
      };
    }
  } catch (e) {
    ckpt?.close();
    io.err(`sepconv: ${ckptFile}: ${(e as Error).message}`);
    return 2;
  }
  try {
    return finish();
  } finally {
    ckpt?.close();
  }

  function finish(): number {
    // the code again, with each site's own K
    const byFile = new Map<string, Map<number, number>>();
    for (const c of converted) {
      const k = multipliers.get(siteId(c.file, c.layer.span.start));
      if (k === undefined) continue;
      const m = byFile.get(c.file) ?? new Map<number, number>();
      m.set(c.layer.span.start, k);
      byFile.set(c.file, m);
    }
    const contents: { file: string; content: string; count: number }[] = [];
    for (const p of planned) {
      const again = byFile.has(p.file)
        ? rewrite(p.unit.text, p.unit.id, p.analysis, () => true, { depthMultiplier: opts.analysis.depthMultiplier, multipliers: byFile.get(p.file), norm: opts.analysis.norm, lineLength: opts.lineLength, minSavings: opts.minSavings })
        : p.first;
      if (again.error) {
        io.err(`${p.file}: ${again.error}`);
        return 1;
      }
      if (again.newText !== p.unit.text) contents.push({ file: p.file, content: p.unit.serialize(again.newText, again.edits), count: again.converted.length });
    }
    if (write) {
      try {
        commit();
      } catch (e) {
        io.err(`sepconv: ${out}: cannot write: ${(e as Error).message}; the code was not changed`);
        return 2;
      }
    }
    for (const c of contents) {
      if (opts.diff) {
        const original = planned.find((p) => p.file === c.file)!.original;
        io.out(createTwoFilesPatch(c.file, c.file, original, c.content, undefined, undefined, { context: 3 }));
      } else if (opts.dryRun) io.out(`${c.file}: would convert ${c.count} layer(s)`);
      else {
        writeAtomic(c.file, c.content);
        io.out(`${c.file}: converted ${c.count} layer(s)`);
      }
    }
    if (opts.format === 'json') io.out(JSON.stringify(json, null, 2));
    else {
      io.out(`${write ? 'wrote' : 'would write'} ${out}:`);
      for (const line of summary) io.out(line);
    }
    return 0;
  }
}
