/**
 * The language server's side of its analysis worker (`analysisWorker.ts`): a queue of jobs run one
 * at a time in one worker thread, under a time and a memory bound. A job past its time bound, or a
 * worker past its memory bound, is stopped by terminating the worker (the analysis is synchronous
 * code: nothing else stops it), which is started again for the next job; the job's waiters get the
 * reason (`budget: time, over 5 s`). Waiters leave when their request is cancelled, their document
 * changed or closed; a job nobody waits for is interrupted: a flag shared with the worker
 * (`WorkerData.interrupt`) set to its id, which shape inference reads between models and every
 * 1,024 interpreter steps, ends it early with nothing kept (the worker and its trees and memos live
 * on); one that does not end within a grace time is stopped by terminating the worker.
 */
import type { Worker, MessagePort } from 'node:worker_threads';
import type { PythonEnvironment } from '../analysis/environment';
import type { CancellationToken } from 'vscode-languageserver';
import type { AnyAnalysis } from '../analysis/analyze';
import type { EnvironmentMessage, FromWorker, JobMessage, ToWorker } from './workerProtocol';
import { adoptEarly, startAnalysisThread } from './workerThread';

export interface WorkerLimits {
  /** wall time one job may take */
  timeMs: number;
  /** the worker's JavaScript heap (V8's old generation) */
  memoryMb: number;
}

export const DEFAULT_LIMITS: WorkerLimits = { timeMs: 5000, memoryMb: 512 };

/** Time a job gets for reading its text (on top of the bound): a 4 MB file takes seconds to parse on a busy machine. */
const PARSE_MS_PER_CHAR = 1 / 400;

/**
 * A job nobody waits for any more, interrupted, that has not ended this long after (it is not in
 * shape inference: a parse, a static pass) is stopped by terminating the worker: that costs a
 * restart and the worker's memos.
 */
const ORPHAN_GRACE_MS = 1000;

/** `environment`: the job needed the Python environment it was run without (`JobRequest.environmentPending`) */
export type Outcome = { ok: true; analysis: AnyAnalysis; full: boolean } | { ok: false; reason: string; environment?: boolean };

/** Why a waiter left without an outcome. */
export class Dropped extends Error {
  constructor(readonly why: 'cancelled' | 'superseded') {
    super(why);
  }
}

export type JobRequest = Omit<JobMessage, 'type' | 'id'>;

interface Job {
  msg: JobMessage;
  same: string;
  waiters: Set<{ settle: (o: Outcome) => void; drop: (why: Dropped) => void }>;
  started?: number;
  /** the worker was asked to interrupt it: no new waiter joins it */
  interrupted?: boolean;
}

export interface WorkerStats {
  jobs: number;
  /** workers started (the first one included) */
  starts: number;
  /** jobs stopped at a bound, and jobs stopped (the worker terminated) because nobody waited for them */
  budgetStops: number;
  orphanStops: number;
  /** running jobs nobody waited for that were interrupted, and those of them that ended so (the worker kept) */
  interrupts: number;
  interrupted: number;
}

/** One job as the worker ran it (a test's view of the order of work: `AnalysisWorker.log`). */
export interface JobRecord {
  id: number;
  kind: JobRequest['kind'];
  key: string;
  version: string;
  /** how it ended: its analysis was the full one, a partial one, or it was interrupted, failed or stopped */
  end: 'full' | 'partial' | 'interrupted' | 'failed' | 'stopped' | 'needs-environment';
  /** models it ran (shape inference's runs), for a job that ended with an analysis */
  models?: number;
  /** from its start in the worker to its end (milliseconds) */
  ms: number;
}

export class AnalysisWorker {
  private worker: Worker | undefined;
  private ready = false;
  private queue: Job[] = [];
  private running: Job | undefined;
  private budgetTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  /** unsaved texts of open files, sent to every new worker */
  private readonly overlay = new Map<string, string>();
  private overlayChanges: Record<string, string | null> = {};
  readonly stats: WorkerStats = { jobs: 0, starts: 0, budgetStops: 0, orphanStops: 0, interrupts: 0, interrupted: 0 };
  /** the jobs run, in the order they ended (the last 100) */
  readonly log: JobRecord[] = [];
  private disposed = false;
  /** shared with the worker: the id of the running job to interrupt, or 0 (the first thread's, kept for the next ones) */
  private interrupt: Int32Array = new Int32Array(new SharedArrayBuffer(4));
  /** the interpreters' answers known, sent to every new worker; the current worker's channel for them and their count */
  private readonly environments = new Map<string, PythonEnvironment | undefined>();
  private environmentPort: MessagePort | undefined;
  private environmentsSent: Int32Array = new Int32Array(new SharedArrayBuffer(4));

  /** `log`: where internal errors go (the server's log); users see only that the analysis failed */
  constructor(
    private limits: WorkerLimits = DEFAULT_LIMITS,
    private readonly report: (message: string) => void = () => undefined,
  ) {}

  setLimits(limits: WorkerLimits): void {
    this.limits = limits;
  }

  /**
   * Whether the worker is starting again after it was stopped (a bound, a job nobody waited for):
   * the first start, when the first Python document opens, is worth waiting for; a restart is not
   * (it follows a hostile document's analysis).
   */
  get restarting(): boolean {
    return !this.ready && this.stats.starts > 1;
  }

  /** The document (key and version) whose job is running, if any, and the job's kind. */
  get busyWith(): { key: string; version: string; kind: JobRequest['kind'] } | undefined {
    return this.running && { key: this.running.msg.key, version: this.running.msg.version, kind: this.running.msg.kind };
  }

  /**
   * Runs a job (or joins the same one queued or running). Rejects with `Dropped` when `token` is
   * cancelled or the document moves on (`supersede`).
   */
  run(req: JobRequest, token?: CancellationToken): Promise<Outcome> {
    if (token?.isCancellationRequested) return Promise.reject(new Dropped('cancelled'));
    const same = JSON.stringify([
      req.key,
      req.version,
      req.kind,
      req.options,
      req.range ?? null,
      req.file ?? null,
      req.environmentPending ?? null,
    ]);
    let job = this.running?.same === same && !this.running.interrupted ? this.running : this.queue.find((j) => j.same === same);
    if (!job) {
      job = { msg: { type: 'job', id: this.nextId++, ...req }, same, waiters: new Set() };
      // a hover waits for its answer: it goes before the background work, except its document's
      // preparation (work the hover would do itself, done once)
      if (req.kind === 'focused') {
        const prep = this.queue.findIndex((j) => j.msg.kind === 'prepare' && j.msg.key === req.key && j.msg.version === req.version);
        this.queue.splice(prep + 1, 0, job);
      } else this.queue.push(job);
      this.stats.jobs++;
    }
    const j = job;
    return new Promise<Outcome>((resolve, reject) => {
      const waiter = {
        settle: (o: Outcome) => {
          sub?.dispose();
          resolve(o);
        },
        drop: (why: Dropped) => {
          sub?.dispose();
          reject(why);
        },
      };
      const sub = token?.onCancellationRequested(() => {
        j.waiters.delete(waiter);
        waiter.drop(new Dropped('cancelled'));
        this.abandoned(j);
      });
      j.waiters.add(waiter);
      this.pump();
    });
  }

  /** The document `key` is now at `version` (or closed: undefined): jobs for any other version are dropped. */
  supersede(key: string, version?: string): void {
    for (const j of [...this.queue, ...(this.running ? [this.running] : [])]) {
      if (j.msg.key !== key || j.msg.version === version) continue;
      for (const w of j.waiters) w.drop(new Dropped('superseded'));
      j.waiters.clear();
      this.abandoned(j);
    }
  }

  /** A closed document: drop its jobs and free its tree in the worker. */
  close(key: string): void {
    this.supersede(key);
    this.post({ type: 'drop', key });
  }

  /** Frees the worker's tree of `key` (a text analysed once), leaving its jobs alone. */
  forget(key: string): void {
    this.post({ type: 'drop', key });
  }

  /** Starts the worker ahead of its first job (a Python document was opened), so no request waits for it. */
  warm(): void {
    if (!this.worker && !this.disposed) this.start();
  }

  /** The unsaved text of an open file (null once closed), for shape inference of its neighbours. */
  setOverlay(file: string, text: string | null): void {
    if (text === null) this.overlay.delete(file);
    else this.overlay.set(file, text);
    this.overlayChanges[file] = text;
  }

  /** An interpreter answered: a job waiting for its environment (`JobRequest.environmentPending`) goes on with it. */
  environment(interpreter: string, environment: PythonEnvironment | undefined): void {
    if (this.environments.has(interpreter)) return;
    this.environments.set(interpreter, environment);
    this.sendEnvironment(interpreter, environment);
  }

  private sendEnvironment(interpreter: string, environment: PythonEnvironment | undefined): void {
    if (!this.environmentPort) return;
    this.environmentPort.postMessage({ interpreter, environment } satisfies EnvironmentMessage);
    Atomics.add(this.environmentsSent, 0, 1);
    Atomics.notify(this.environmentsSent, 0);
  }

  /** The server is idle: the worker compacts its heap too. */
  collect(): void {
    this.post({ type: 'collect' });
  }

  dispose(): void {
    this.disposed = true;
    for (const j of [...this.queue, ...(this.running ? [this.running] : [])]) for (const w of j.waiters) w.drop(new Dropped('cancelled'));
    this.queue = [];
    this.running = undefined;
    clearTimeout(this.budgetTimer);
    void this.worker?.terminate();
    this.worker = undefined;
    this.environmentPort?.close();
  }

  // ---- the worker thread -------------------------------------------------------------------------

  private post(msg: ToWorker): void {
    if (this.worker && this.ready) this.worker.postMessage(msg);
  }

  private start(): void {
    this.environmentPort?.close();
    // the thread the process entry started ahead, if it has the bound wanted; else a new one
    const adopted = adoptEarly(this.limits.memoryMb);
    const thread = adopted?.thread ?? startAnalysisThread(this.limits.memoryMb, this.interrupt);
    this.interrupt = thread.interrupt;
    this.environmentPort = thread.environmentPort;
    this.environmentsSent = thread.environmentsSent;
    for (const [interpreter, environment] of this.environments) this.sendEnvironment(interpreter, environment);
    const worker = thread.worker;
    this.worker = worker;
    this.ready = false;
    this.stats.starts++;
    const onMessage = (msg: FromWorker) => {
      if (worker !== this.worker) return;
      if (msg.type === 'ready') {
        this.ready = true;
        // a new worker knows no unsaved text yet
        this.overlayChanges = {};
        worker.postMessage({ type: 'overlay', files: Object.fromEntries(this.overlay) } satisfies ToWorker);
        this.pump();
        return;
      }
      const job = this.running;
      if (!job || job.msg.id !== msg.id) return;
      if (msg.type === 'needs-environment') {
        this.finish(job, { ok: false, reason: 'the Python environment is not known yet', environment: true }, 'needs-environment');
        return;
      }
      if (msg.type === 'interrupted') {
        this.stats.interrupted++;
        this.finish(job, { ok: false, reason: 'interrupted' }, 'interrupted');
        return;
      }
      if (msg.type === 'failed') this.report(`SepConv: the analysis of ${job.msg.key} failed: ${msg.error}`);
      this.finish(
        job,
        msg.type === 'done'
          ? { ok: true, analysis: msg.analysis, full: msg.full }
          : { ok: false, reason: 'the analysis failed on an internal error' },
        msg.type === 'done' ? (msg.full ? 'full' : 'partial') : 'failed',
        msg.type === 'done' ? msg.models : undefined,
      );
    };
    worker.on('message', onMessage);
    worker.on('error', (e: Error & { code?: string }) => {
      if (worker !== this.worker) return;
      const memory = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
      if (memory) this.stats.budgetStops++;
      else this.report(`SepConv: the analysis worker failed: ${e.stack ?? e.message}`);
      const reason = memory ? `budget: memory, over ${this.limits.memoryMb} MB` : 'the analysis failed on an internal error';
      this.lost(reason);
    });
    worker.on('exit', () => {
      if (worker === this.worker) this.lost('the analysis worker exited');
    });
    // what the adopted thread said before it was adopted (its `ready`), handled as if it came now:
    // after this start returns to its caller (pump() goes on when the worker is ready, not within)
    const said = adopted?.messages ?? [];
    if (said.length) queueMicrotask(() => said.forEach(onMessage));
  }

  /** The worker is gone (it failed or was stopped): the running job ends with `reason`; a new worker takes the queue. */
  private lost(reason: string): void {
    const old = this.worker;
    this.worker = undefined;
    this.ready = false;
    void old?.terminate();
    const job = this.running;
    if (job) this.finish(job, { ok: false, reason }, 'stopped');
    else this.pump();
  }

  private finish(job: Job, outcome: Outcome, end: JobRecord['end'], models?: number): void {
    clearTimeout(this.budgetTimer);
    if (this.running === job) this.running = undefined;
    const ms = Math.round(performance.now() - (job.started ?? performance.now()));
    this.log.push({ id: job.msg.id, kind: job.msg.kind, key: job.msg.key, version: job.msg.version, end, models, ms });
    if (this.log.length > 100) this.log.shift();
    for (const w of job.waiters) w.settle(outcome);
    job.waiters.clear();
    this.pump();
  }

  private pump(): void {
    if (this.disposed || this.running) return;
    // jobs nobody waits for any more are not started
    this.queue = this.queue.filter((j) => j.waiters.size > 0);
    if (this.queue.length === 0) return;
    if (!this.worker) this.start();
    if (!this.ready) return;
    const job = this.queue.shift()!;
    if (Object.keys(this.overlayChanges).length) {
      this.worker!.postMessage({ type: 'overlay', files: this.overlayChanges } satisfies ToWorker);
      this.overlayChanges = {};
    }
    this.running = job;
    job.started = performance.now();
    Atomics.store(this.interrupt, 0, 0);
    this.worker!.postMessage(job.msg);
    // parsing is linear in the text and bounded by the 4 MB limit: it gets its own share of time
    const ms = this.limits.timeMs + job.msg.text.length * PARSE_MS_PER_CHAR;
    this.budgetTimer = setTimeout(() => {
      if (this.running !== job) return;
      this.stats.budgetStops++;
      this.lost(`budget: time, over ${Math.round(ms / 100) / 10} s`);
    }, ms);
    this.budgetTimer.unref();
  }

  /**
   * Nobody may wait for `job` any more: forget it when queued; when running, interrupt it, and stop
   * the worker if it has not ended within the grace time.
   */
  private abandoned(job: Job): void {
    if (job.waiters.size > 0) return;
    if (job !== this.running) {
      this.queue = this.queue.filter((j) => j !== job);
      return;
    }
    if (!job.interrupted) {
      job.interrupted = true;
      this.stats.interrupts++;
      Atomics.store(this.interrupt, 0, job.msg.id);
    }
    setTimeout(() => {
      if (this.running !== job) return;
      this.stats.orphanStops++;
      this.lost('nobody waits for it');
    }, ORPHAN_GRACE_MS).unref();
  }
}
