/**
 * Pretrained weights in the hover (`sepconv.weights.checkpoint`): per converted module of the
 * hovered conv, K, the energy kept, the relative error and params/MACs at that K, from the same
 * core functions as `sepconv report --weights` (`firstPass`, `planWithCode` of `src/weights/apply.ts`).
 *
 * The checkpoint is read once per path, size and modification time, in a thread of its own
 * (`checkpointReader.ts`), which sends back the list of tensors and the spectra of the conv weights;
 * until then hovers say `weights: loading…`. A document version's plan is then computed on this
 * thread from those spectra (milliseconds: no weight is read again), except a grouped conv's
 * spectrum, which the reader computes on demand. Whatever fails (a missing file, a refused pickle,
 * keys that do not match) is one short reason in the hover.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { CancellationToken } from 'vscode-languageserver';
import type { AnyAnalysis } from '../analysis/analyze';
import type { Layer } from '../analysis/model';
import { frameworkOf } from '../frameworks/index';
import { firstPass, planWithCode, type RankRequest } from '../weights/apply';
import type { Checkpoint, InTensor } from '../weights/checkpoint';
import type { CheckpointPlan, ModuleResult } from '../weights/convert';
import type { ConvShape, Spectrum } from '../weights/factor';
import { siteId } from '../weights/index';
import { LARGE_DOCUMENT, type Analyses } from './analyses';
import { filePath, type View } from './context';
import type { FileIdentity, FromReader, ToReader } from './checkpointReader';

/** What the hover of one conv shows about the checkpoint. */
export type WeightsInfo =
  | { state: 'loading'; checkpoint: string; what: string }
  | { state: 'error'; checkpoint: string; reason: string }
  /** the plan of the document; `modules`: those of the hovered call site (none: no module of the checkpoint's model is built there) */
  | { state: 'ready'; checkpoint: string; rank: string; model?: string; prefix?: string; modules: ModuleResult[] };

interface Loaded {
  identity: string;
  meta: Checkpoint;
  spectra: Map<string, Spectrum>;
  tensors: number;
}

type Entry =
  | { identity: string; state: 'loading' }
  | { identity: string; state: 'ready'; loaded: Loaded }
  | { identity: string; state: 'error'; reason: string };

const spectrumKey = (key: string, s: ConvShape) => `${key}|${s.cout},${s.cinPerGroup},${s.groups},${s.kernel.join('x')}`;

/** A tensor whose values the reader would have to read again (a spectrum not computed yet). */
class NeedsSpectrum extends Error {}

/** Checkpoints the reader thread keeps open at most (one per folder's setting, usually one). */
const CAPACITY = 4;

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** The reader thread: one request at a time, started on first use, started again after a failure. */
class Reader {
  private worker: Worker | undefined;
  private ready: Promise<Worker> | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (m: FromReader) => void; reject: (e: Error) => void }>();

  constructor(private readonly log: (message: string) => void) {}

  async request(msg: WithoutId<Extract<ToReader, { id: number }>>): Promise<FromReader> {
    const worker = await this.start();
    const id = this.nextId++;
    return new Promise<FromReader>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ ...msg, id });
    });
  }

  close(file: string): void {
    this.worker?.postMessage({ type: 'close', file } satisfies ToReader);
  }

  dispose(): void {
    void this.worker?.terminate();
    this.worker = undefined;
    this.ready = undefined;
  }

  private start(): Promise<Worker> {
    if (this.ready) return this.ready;
    const bundled = __filename.endsWith('.js');
    // a bound on what a hostile file can make it allocate; typed arrays count as external memory
    const limits = { resourceLimits: { maxOldGenerationSizeMb: 512 } };
    const worker = bundled
      ? new Worker(path.join(__dirname, 'checkpoint-reader.js'), limits)
      : new Worker(`require('tsx/cjs'); require(${JSON.stringify(path.join(__dirname, 'checkpointReaderIndex.ts'))});`, {
          ...limits,
          eval: true,
        });
    this.worker = worker;
    worker.unref();
    let failed: (e: Error) => void = () => undefined;
    this.ready = new Promise<Worker>((resolve, reject) => {
      failed = reject;
      worker.on('message', (msg: FromReader) => {
        if (msg.type === 'ready') return resolve(worker);
        const w = this.waiting.get(msg.id);
        this.waiting.delete(msg.id);
        w?.resolve(msg);
      });
    });
    const lost = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.ready = undefined;
      failed(new Error(why));
      for (const w of this.waiting.values()) w.reject(new Error(why));
      this.waiting.clear();
    };
    worker.on('error', (e: Error & { code?: string }) => {
      this.log(`SepConv: the checkpoint reader failed: ${e.stack ?? e.message}`);
      lost(e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'reading it took more than 512 MB' : 'the checkpoint reader failed');
    });
    worker.on('exit', () => lost('the checkpoint reader exited'));
    return this.ready;
  }
}

/** A checkpoint's tensors without their values: the plan needs keys, shapes and dtypes, and the spectra. */
function metadata(format: Checkpoint['format'], tensors: { key: string; dtype: InTensor['dtype']; shape: number[] }[]): Checkpoint {
  const map = new Map<string, InTensor>();
  for (const t of tensors) {
    map.set(t.key, {
      ...t,
      values: () => {
        throw new NeedsSpectrum(t.key);
      },
    });
  }
  return {
    format,
    tensors: map,
    write: () => {
      throw new Error('the hover never writes a checkpoint');
    },
    close: () => undefined,
  };
}

/** The hover's short form of a reason (the CLI's messages say what was not written; nothing is here). */
export function shortReason(message: string): string {
  const text = message.replace(/[.;]?\s*[Nn]othing (was )?written\.?$/, '').trim();
  return text.length > 240 ? `${text.slice(0, 239)}…` : text;
}

export class WeightsCache {
  private readonly reader: Reader;
  private readonly entries = new Map<string, Entry>();
  /** per document: the plan of its latest version asked for */
  private readonly plans = new Map<string, { id: string; plan: Promise<CheckpointPlan | string> }>();
  private readonly logged = new Set<string>();
  /** workspace folders (paths) a relative setting is resolved against, first match of the document wins */
  roots: string[] = [];

  /** `log`: the server's log (a checkpoint read, and every reason once) */
  constructor(private readonly log: (message: string) => void) {
    this.reader = new Reader(log);
  }

  /** The setting's path for a document: absolute, else under the workspace folder of the document (or the first, or the document's folder). */
  resolve(setting: string, documentUri: string): string {
    if (path.isAbsolute(setting)) return path.normalize(setting);
    let doc: string | undefined;
    try {
      doc = documentUri.startsWith('file:') ? fileURLToPath(documentUri) : undefined;
    } catch {
      doc = undefined; // a file URL with a host on POSIX
    }
    const root = (doc && this.roots.find((r) => doc.startsWith(r + path.sep))) ?? this.roots[0] ?? (doc && path.dirname(doc));
    return path.resolve(root ?? '.', setting);
  }

  /**
   * What the hover of `layer` shows: the plan of the document (at K = 1 its convertible layers, as
   * `report --weights` judges them) for the checkpoint of the settings; never waits for the file.
   */
  async forLayer(analyses: Analyses, view: View, layer: Layer, token?: CancellationToken): Promise<WeightsInfo | undefined> {
    const setting = view.settings['weights.checkpoint'].trim();
    // the setting names a state-dict checkpoint (.pt, .pth, .safetensors): the layers of the framework whose code goes with one
    if (!setting || frameworkOf(layer).checkpoint.format !== 'state-dict' || !layer.convertible) return undefined;
    const file = this.resolve(setting, view.unit.uri);
    const checkpoint = path.basename(file);
    if (view.unit.text.length > LARGE_DOCUMENT)
      return { state: 'error', checkpoint, reason: `the document is larger than ${LARGE_DOCUMENT / 1024} KB` };
    const entry = await this.entry(file);
    if (entry.state === 'loading') return { state: 'loading', checkpoint, what: 'reading the checkpoint' };
    if (entry.state === 'error') return { state: 'error', checkpoint, reason: entry.reason };

    const energy = view.settings['weights.energy'];
    const req: RankRequest = {
      energy: energy > 0 ? energy : undefined,
      depthMultiplier: view.settings.depthMultiplier,
      norm: view.settings.normalization,
    };
    const rank =
      req.energy !== undefined
        ? `K per layer: the smallest keeping ${+(req.energy * 100).toFixed(4)}% of ‖W‖²`
        : `K = ${req.depthMultiplier} (\`sepconv.depthMultiplier\`)`;
    // which convs convert is judged at K = 1, as `report --weights` does
    const options = { ...view.options, depthMultiplier: 1 };
    const docFile = filePath(view.unit);
    const id = JSON.stringify([view.unit.version, entry.identity, req, options, view.rewriteOptions]);
    let cached = this.plans.get(view.unit.key);
    if (cached?.id !== id) {
      // at the default depth multiplier this is the document's full analysis (shared with lenses and
      // actions); at another, one of its own, not kept (the tree cache keeps one analysis per version)
      const shared = view.settings.depthMultiplier === 1;
      let analysis = shared ? analyses.trees.cached(view.unit, options) : undefined;
      if (!analysis) {
        const busy = analyses.worker.busyWith;
        const src = { key: view.unit.key, version: view.unit.version, languageId: view.unit.languageId, text: view.unit.text };
        const full = shared
          ? analyses.full(src, options, docFile, token)
          : analyses.full({ ...src, key: `${src.key}#weights` }, options, docFile, token, false);
        // as a hover's shapes: never wait for another document's analysis
        if ((busy && busy.key !== view.unit.key) || analyses.worker.restarting) {
          full.catch(() => undefined);
          return { state: 'loading', checkpoint, what: 'waiting for the analysis of this file' };
        }
        analysis = await full;
      }
      cached = { id, plan: this.plan(entry.loaded, file, view, docFile ?? '', analysis, req) };
      this.plans.set(view.unit.key, cached);
    }
    const plan = await cached.plan;
    if (typeof plan === 'string') return { state: 'error', checkpoint, reason: plan };
    const site = siteId(docFile ?? '', layer.span.start);
    return {
      state: 'ready',
      checkpoint,
      rank,
      model: plan.candidate,
      prefix: plan.prefix || undefined,
      modules: plan.modules.filter((m) => m.site === site),
    };
  }

  /** A closed document's plan is dropped. */
  forget(key: string): void {
    this.plans.delete(key);
  }

  dispose(): void {
    this.reader.dispose();
  }

  /** The plan of the document against the loaded checkpoint, or why there is none. */
  private async plan(
    loaded: Loaded,
    file: string,
    view: View,
    docFile: string,
    analysis: AnyAnalysis,
    req: RankRequest,
  ): Promise<CheckpointPlan | string> {
    if (analysis.syntaxError) return `the file does not parse: ${analysis.syntaxError.message}`;
    const code = [{ file: docFile, id: view.unit.languageId, text: view.unit.text, analysis }];
    try {
      const { converted } = firstPass(code, view.rewriteOptions, frameworkOf(analysis));
      // a spectrum not read yet (a grouped conv's) comes from the reader, then the plan is made again
      for (;;) {
        let wanted: { key: string; shape: ConvShape } | undefined;
        try {
          return planWithCode(loaded.meta, code, converted, req, (t, shape) => {
            const s = loaded.spectra.get(spectrumKey(t.key, shape));
            if (!s) wanted = { key: t.key, shape };
            return s;
          });
        } catch (e) {
          if (!(e instanceof NeedsSpectrum) || !wanted) throw e;
          const reply = await this.reader.request({ type: 'spectrum', file, key: wanted.key, shape: wanted.shape });
          if (reply.type === 'failed') throw new Error(reply.error);
          if (reply.type !== 'spectrum') throw new Error('the checkpoint reader answered out of turn');
          loaded.spectra.set(spectrumKey(wanted.key, wanted.shape), reply.spectrum);
        }
      }
    } catch (e) {
      const reason = shortReason((e as Error).message);
      const line = `SepConv: ${path.basename(file)} with ${view.unit.uri}: ${reason}`;
      // once, not per version of the document
      if (!this.logged.has(line)) this.log(line);
      this.logged.add(line);
      return reason;
    }
  }

  /** The checkpoint at `file` as it is on disk now: read (or being read) once per size and modification time. */
  private async entry(file: string): Promise<Entry> {
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return {
        identity: '',
        state: 'error',
        reason: code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${(e as Error).message}`,
      };
    }
    if (!st.isFile()) return { identity: '', state: 'error', reason: `not a file: ${file}` };
    const identity = `${st.mtimeMs}:${st.size}`;
    const known = this.entries.get(file);
    if (known?.identity === identity) return known;
    const entry: Entry = { identity, state: 'loading' };
    this.entries.delete(file);
    this.entries.set(file, entry);
    while (this.entries.size > CAPACITY) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.reader.close(oldest);
    }
    void this.load(file, entry);
    return entry;
  }

  private async load(file: string, entry: Entry): Promise<void> {
    let next: Entry;
    try {
      const reply = await this.reader.request({ type: 'load', file });
      if (reply.type === 'failed') throw new Error(reply.error);
      if (reply.type !== 'loaded') throw new Error('the checkpoint reader answered out of turn');
      const id: FileIdentity = reply.identity;
      // changed while it was read: the next hover reads it again
      const identity = `${id.mtimeMs}:${id.size}`;
      const spectra = new Map(reply.spectra.map((s) => [spectrumKey(s.key, s.shape), s.spectrum]));
      next = {
        identity,
        state: 'ready',
        loaded: { identity, meta: metadata(reply.format, reply.tensors), spectra, tensors: reply.tensors.length },
      };
      this.log(
        `SepConv: read checkpoint ${file}: ${reply.tensors.length} tensors, ${reply.spectra.length} conv weights factored in ${Math.round(reply.ms)} ms`,
      );
    } catch (e) {
      const reason = shortReason((e as Error).message);
      next = { identity: entry.identity, state: 'error', reason };
      this.log(`SepConv: cannot read checkpoint ${file}: ${reason}`);
    }
    if (this.entries.get(file) === entry) this.entries.set(file, next);
  }
}
