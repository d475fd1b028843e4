/**
 * Pretrained weights through the rewrite: open a checkpoint (PyTorch zip or safetensors), find the
 * tensors of the converted convs, and write the converted checkpoint. The front ends (CLI, server)
 * analyse and rewrite the code; this module only needs which layers were converted and the models
 * shape inference built (`ModelSummary.convModules`, the `named_modules()` paths).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConvArgs, Layer, ModelSummary } from '../analysis/model';
import type { Checkpoint } from './checkpoint';
import type { Candidate, ConvTarget } from './convert';
import { readSafetensors } from './safetensors';
import { readTorch } from './torch';
import { ZipReader } from './zip';

export type { Checkpoint } from './checkpoint';
export { planCheckpoint, WeightsError, type CheckpointPlan, type ConvertOptions, type ModuleResult, type RankChoice } from './convert';
export { UnsafePickleError } from './pickle';

export function openCheckpoint(file: string): Checkpoint {
  if (file.endsWith('.safetensors')) return readSafetensors(file);
  if (ZipReader.isZip(file)) return readTorch(file);
  const head = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 2, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (head[0] === 0x80)
    throw new Error(
      `${file} is a legacy (pre-1.6) PyTorch checkpoint; load it and save it again with torch.save in a current PyTorch (the zip format)`,
    );
  throw new Error(`${file} is neither a PyTorch zip checkpoint nor .safetensors`);
}

/** Where a new checkpoint goes when no --out is given: `model.pt` -> `model.separable.pt`. */
export function defaultOutput(file: string): string {
  const ext = path.extname(file);
  return path.join(path.dirname(file), `${path.basename(file, ext)}.separable${ext}`);
}

/** A converted layer of one file. */
export interface ConvertedLayer {
  file: string;
  layer: Layer;
  /** 1-based, for messages */
  line?: number;
}

export const siteId = (file: string, start: number) => `${path.resolve(file)}:${start}`;

function convShape(args: ConvArgs): { shape: ConvTarget['shape']; bias: boolean } | string {
  const cout = args.outChannels?.constant;
  const cin = args.inChannels?.constant;
  const groups = args.groups?.constant;
  if (cout === undefined || cin === undefined || groups === undefined || !args.kernelSize || args.bias === undefined)
    return 'its arguments are not all known numbers';
  return { shape: { cout, cinPerGroup: cin / groups, groups, kernel: args.kernelSize }, bias: args.bias };
}

/**
 * The ways the converted layers could lie in a checkpoint: one candidate per model shape inference
 * built (its conv modules at converted sites, by exact path); layers no model builds are looked up by
 * their attribute name (`self.conv1` -> every `…conv1.weight` whose shape is the conv's) in each.
 */
export function candidates(converted: ConvertedLayer[], models: ModelSummary[], keys: Map<string, number[]>): Candidate[] {
  const sites = new Map(converted.map((c) => [siteId(c.file, c.layer.span.start), c]));
  const built = new Set<string>();
  const out: Candidate[] = [];
  for (const m of models) {
    const targets: ConvTarget[] = [];
    for (const c of m.convModules ?? []) {
      const site = siteId(c.file, c.start);
      if (!sites.has(site)) continue;
      built.add(site);
      const s = convShape(c.args);
      if (typeof s === 'string') continue;
      targets.push({ path: c.path, ...s, site, args: c.args, inputs: c.inputs });
    }
    if (targets.length) out.push({ name: m.name, targets });
  }
  const byName: ConvTarget[] = [];
  for (const [site, c] of sites) {
    if (built.has(site)) continue;
    const s = convShape(c.layer.args);
    const name = c.layer.target?.replace(/^self\./, '');
    if (typeof s === 'string' || !name || !/^[\w.]+$/.test(name)) {
      const why = typeof s === 'string' ? s : 'it is not assigned to an attribute';
      const where = `${path.basename(c.file)}${c.line ? `:${c.line}` : ''}`;
      byName.push({
        path: '',
        absolute: true,
        shape: { cout: 0, cinPerGroup: 0, groups: 1, kernel: [] },
        bias: false,
        site,
        unresolved: `the converted ${c.layer.op} at ${where} is built by no model SepConv could run and ${why}, so its tensors cannot be found (give the model's arguments with --assume name=N or a \`# sepconv: name=N\` pragma)`,
      });
      continue;
    }
    const want = [s.shape.cout, s.shape.cinPerGroup, ...s.shape.kernel].join(',');
    const hits = [...keys]
      .filter(([k, shape]) => (k === `${name}.weight` || k.endsWith(`.${name}.weight`)) && shape.join(',') === want)
      .map(([k]) => k.slice(0, -'.weight'.length));
    if (hits.length === 0) byName.push({ path: name, absolute: true, ...s, site, args: c.layer.args });
    for (const h of hits) byName.push({ path: h, absolute: true, ...s, site, args: c.layer.args });
  }
  if (out.length === 0) return [{ name: 'by attribute name', targets: byName }];
  return out.map((c) => ({ ...c, targets: [...c.targets, ...byName] }));
}
