/**
 * Which thread analyses what. The server's thread keeps the trees and answers what is cheap and
 * bounded: inlay hints (the static analysis of the visible lines) and TensorFlow.js files (whose
 * interpreter has its own step budget). Python analyses that run the file's models go to the
 * analysis worker (`worker.ts`): the full analysis, and a hover's focused one. Their results are
 * kept in the tree cache per version, as before. A hover on a document never waits for another
 * document's analysis: while the worker runs one, the hover gets what the static pass knows and
 * the full analysis is queued for the next. The first hover of a version without a full analysis
 * runs only the models that build the hovered line's calls (`at`); the full analysis follows in the
 * background `BACKGROUND_MS` later, interrupted by an edit (the worker drops a job nobody waits
 * for). When an analysis runs out of budget, the document keeps its static layers, and a note says
 * the shapes are unknown and why.
 */
import type { CancellationToken } from 'vscode-languageserver';
import { analyzeText, type AnyAnalysis } from '../analysis/analyze';
import type { Span } from '../analysis/model';
import type { PythonEnvironment } from '../analysis/environment';
import type { AnalysisOptions } from '../analysis/options';
import { Poly } from '../analysis/poly';
import { emptyAnalysis, frameworkFor } from '../frameworks/index';
import type { Source, TreeCache } from './trees';
import type { AnalysisWorker, JobRequest, Outcome } from './worker';

/** The Python environment of an interpreter that has not answered yet. */
export interface PendingEnvironment {
  interpreter: string;
  environment: Promise<PythonEnvironment | undefined>;
}

/** How the note on a document whose models were not run to the end starts. */
const UNKNOWN_SHAPES = 'shapes unknown';
/** The note on a hover's static answer while the worker runs another document's analysis. */
const PENDING_SHAPES = 'shapes pending (the analysis is busy with another document): hover again in a moment';

/**
 * Documents larger than this (six times the largest model file of torchvision and torchaudio) are
 * never parsed on the server's thread (a 4 MB file takes seconds): their hints and hovers come from
 * the static analysis of their lines in the worker, and they get no lenses or file-wide actions.
 */
export const LARGE_DOCUMENT = 512 * 1024;

/** After a hover answered from some of the file's models, the full analysis starts this much later (unless an edit came). */
const BACKGROUND_MS = 300;

export class Analyses {
  /** analyses of a document version waiting for the worker, by key, version and options */
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** the full analyses to start after a partial hover answer, by document */
  private readonly pending = new Map<string, NodeJS.Timeout>();

  /** `current`: whether `src` is still the text of its document (a result for an older one is not kept) */
  constructor(
    readonly trees: TreeCache,
    readonly worker: AnalysisWorker,
    private readonly current: (src: Source) => boolean,
  ) {}

  /** Keeps the full analysis of `src` in the tree cache, unless its document moved on meanwhile. */
  private keep(src: Source, options: AnalysisOptions, analysis: AnyAnalysis): void {
    if (this.current(src)) this.trees.store(src, options, analysis);
  }

  /** The full analysis of `src` in the background, `BACKGROUND_MS` from now, if `src` is still the document's text then. */
  private background(src: Source, options: AnalysisOptions, file: string | undefined): void {
    clearTimeout(this.pending.get(src.key));
    const timer = setTimeout(() => {
      if (this.pending.get(src.key) === timer) this.pending.delete(src.key);
      if (this.current(src) && !this.trees.cached(src, options)) this.full(src, options, file).catch(() => undefined);
    }, BACKGROUND_MS);
    timer.unref();
    this.pending.set(src.key, timer);
  }

  /** The worker's outcome of `req`, known to `full` while it runs. */
  private async job(req: JobRequest, token?: CancellationToken): Promise<Outcome> {
    const id = JSON.stringify([req.key, req.version, req.options]);
    const p = this.worker.run(req, token);
    this.inflight.set(id, p);
    try {
      return await p;
    } finally {
      if (this.inflight.get(id) === p) this.inflight.delete(id);
    }
  }

  /**
   * The full analysis of this version of `src` (computed once). `file`: its path, for shape
   * inference's neighbours. `keep`: cache it in the tree cache (not for one-off texts).
   */
  async full(
    src: Source,
    options: AnalysisOptions,
    file: string | undefined,
    token?: CancellationToken,
    keep = true,
  ): Promise<AnyAnalysis> {
    if (!frameworkFor(src.languageId).offThread)
      return keep ? this.trees.analysis(src, options) : analyzeText(src.text, src.languageId, options);
    if (keep) {
      // a hover's analysis of this version may turn into the full one (or run out of budget): wait for it first
      await this.inflight.get(JSON.stringify([src.key, src.version, options]))?.catch(() => undefined);
      const cached = this.trees.cached(src, options);
      if (cached) return cached;
    }
    const outcome = await this.job(
      { kind: 'full', key: src.key, version: src.version, languageId: src.languageId, text: src.text, options, file },
      token,
    );
    const analysis = outcome.ok ? revive(outcome.analysis) : await this.withoutShapes(src, options, outcome.reason, token);
    if (keep) this.keep(src, options, analysis);
    else this.worker.forget(src.key);
    return analysis;
  }

  /**
   * The layers in `range` with the numbers the full analysis gives them (a hover): the full analysis
   * when there is one; else the worker's focused analysis (with `at`, the hovered line: from only
   * the models that build its calls when nothing better is known, the full analysis then following
   * in the background), unless the worker is busy with another document: then the static analysis
   * of the range now, and the full analysis queued. `pending`: the Python environment the
   * interpreter has not given yet (`options` has none): when the worker is free for this hover, its
   * run starts without it and stops if it needs it (then runs again with it); a run that did not
   * need it is the one it would have made with it, kept (and followed) under the options with it.
   */
  async focused(
    src: Source,
    options: AnalysisOptions,
    range: Span,
    file: string | undefined,
    token?: CancellationToken,
    at?: Span,
    pending?: PendingEnvironment,
  ): Promise<AnyAnalysis> {
    if (pending) {
      const busy = this.worker.busyWith;
      const free = !this.worker.restarting && (!busy || (busy.key === src.key && busy.version === src.version && busy.kind === 'prepare'));
      if (!frameworkFor(src.languageId).offThread || !free)
        return this.focused(src, { ...options, python: await pending.environment }, range, file, token, at);
      // the worker's run waits for the answer at the first import that needs it
      pending.environment.then((e) => this.worker.environment(pending.interpreter, e)).catch(() => undefined);
      const outcome = await this.job(
        {
          kind: 'focused',
          key: src.key,
          version: src.version,
          languageId: src.languageId,
          text: src.text,
          options,
          file,
          range,
          at,
          environmentPending: pending.interpreter,
        },
        token,
      );
      if (!outcome.ok) {
        const withEnvironment = { ...options, python: await pending.environment };
        if (outcome.environment) return this.focused(src, withEnvironment, range, file, token, at);
        const analysis = await this.withoutShapes(src, withEnvironment, outcome.reason, token);
        this.keep(src, withEnvironment, analysis);
        return analysis;
      }
      const analysis = revive(outcome.analysis);
      // the answer does not wait for the interpreter; what follows it does
      pending.environment
        .then((python) => {
          const withEnvironment = { ...options, python };
          if (outcome.full) this.keep(src, withEnvironment, analysis);
          else this.background(src, withEnvironment, file);
        })
        .catch(() => undefined);
      return analysis;
    }
    if (!frameworkFor(src.languageId).offThread) return this.trees.focusedAnalysis(src, options, range);
    const cached = this.trees.cached(src, options);
    if (cached) return cached;
    const busy = this.worker.busyWith;
    // the worker already runs this version's full analysis: the hover waits for it (or is cancelled);
    // its preparation or another hover's run is not that: the hover's own run follows it
    if (busy?.key === src.key && busy.version === src.version && busy.kind === 'full') return this.full(src, options, file, token);
    // another document's, or the worker is starting again after a bound: the hover does not wait
    // (an older version of this document's ends soon, and leaves its memo)
    if ((busy && busy.key !== src.key) || this.worker.restarting) {
      this.full(src, options, file).catch(() => undefined);
      // a range analysis of its own (the full one is not there): the note is this answer's alone
      const quick = this.trees.quickAnalysis(src, options, range);
      quick.notes.push({ message: PENDING_SHAPES, span: { start: 0, end: 0 } });
      return quick;
    }
    const outcome = await this.job(
      { kind: 'focused', key: src.key, version: src.version, languageId: src.languageId, text: src.text, options, file, range, at },
      token,
    );
    if (outcome.ok) {
      const analysis = revive(outcome.analysis);
      if (outcome.full) this.keep(src, options, analysis);
      else this.background(src, options, file);
      return analysis;
    }
    // what ran out of budget for a few models would for all of them: this is the version's full analysis
    const analysis = await this.withoutShapes(src, options, outcome.reason, token);
    this.keep(src, options, analysis);
    return analysis;
  }

  /**
   * A document just opened: the worker parses it and runs its top level and imports ahead of the
   * first hover (which, queued meanwhile, waits for this work it would do itself). Not for
   * the frameworks analysed on this thread, nor large documents.
   */
  prepare(src: Source, options: AnalysisOptions, file: string | undefined): void {
    if (!frameworkFor(src.languageId).offThread || src.text.length > LARGE_DOCUMENT) return;
    this.worker
      .run({ kind: 'prepare', key: src.key, version: src.version, languageId: src.languageId, text: src.text, options, file })
      .catch(() => undefined);
  }

  /** The layers in `range` without shape inference, from the worker (a large document's hints and hovers). */
  async range(src: Source, options: AnalysisOptions, range: Span, token?: CancellationToken): Promise<AnyAnalysis> {
    const outcome = await this.worker.run(
      { kind: 'range', key: src.key, version: src.version, languageId: src.languageId, text: src.text, options, range },
      token,
    );
    if (outcome.ok) return revive(outcome.analysis);
    return emptyAnalysis(src.languageId, [{ message: `no layers (${outcome.reason})`, span: { start: 0, end: 0 } }]);
  }

  /** Every layer without shape inference, noted with why the models are unknown; none if even that fails. */
  private async withoutShapes(src: Source, options: AnalysisOptions, reason: string, token?: CancellationToken): Promise<AnyAnalysis> {
    const outcome = await this.worker.run(
      { kind: 'static', key: src.key, version: src.version, languageId: src.languageId, text: src.text, options },
      token,
    );
    const note = { message: `${UNKNOWN_SHAPES} (${reason}): the models of this file were not run to the end`, span: { start: 0, end: 0 } };
    if (!outcome.ok) return emptyAnalysis(src.languageId, [note, { message: `no layers (${outcome.reason})`, span: note.span }]);
    const analysis = revive(outcome.analysis);
    analysis.notes.push(note);
    analysis.models = [];
    return analysis;
  }
}

/** Why the shapes of `analysis` are unknown (its models were stopped by a budget, or are still to run), else undefined. */
export function unknownShapes(analysis: AnyAnalysis): string | undefined {
  return analysis.notes.find((n) => n.message.startsWith(UNKNOWN_SHAPES) || n.message === PENDING_SHAPES)?.message;
}

/**
 * An analysis as the worker sent it, with its polynomials made `Poly` objects again (structured
 * cloning keeps their data, the fields `termMap` and `num`, but not their class).
 */
export function revive<T>(value: T): T {
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    if (v instanceof Map || v instanceof Set) return;
    const keys = Object.keys(v);
    // Poly's fields: its terms (a Map, or undefined for a constant) and the constant
    const { termMap, num } = v as { termMap?: unknown; num?: unknown };
    if (keys.length === 2 && 'termMap' in v && (termMap === undefined || termMap instanceof Map) && typeof num === 'number') {
      Object.setPrototypeOf(v, Poly.prototype);
      return;
    }
    for (const k of keys) walk((v as Record<string, unknown>)[k]);
  };
  walk(value);
  return value;
}
