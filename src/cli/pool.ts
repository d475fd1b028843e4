/**
 * Runs `processFile` over many files on the main thread and on worker threads, one parser per
 * thread, as many threads as cores. Work is balanced by cost, not by count: each language family's
 * files are queued largest first (a zoo file can take seconds, a utility file a millisecond), every
 * thread's first file is handed to it at start, and then each thread claims the next file itself
 * from counters in shared memory (an atomic add: no round trip through the main thread, which is
 * busy with files of its own). Each family with files has a thread of its own (Python here,
 * JavaScript/TypeScript in the first worker), so that a thread compiles one family's grammar,
 * queries and analysis code. A family is shared by every thread only when many of its files may
 * hold a layer (`threadOrders`): on a folder of a few dozen model files a second thread's warm-up
 * costs more than it gives. Small jobs (and runs from TypeScript sources, as in the tests) stay on
 * the main thread: a worker costs a bundle load and a WASM start.
 *
 * `SEPCONV_THREADS=n` sets the number of threads (1: no workers; n > 1: workers even for a small
 * job, every family shared). `SEPCONV_FILE_TIMES=<file>` writes each file's processing time and
 * thread there as JSON (for the benchmark: `{ threads, cpuMs, files: [{ path, ms, thread }] }`,
 * files in the order given, the process's CPU time over all its threads so far).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { FrameworkId } from '../analysis/model';
import { NOTEBOOK_LANGUAGE } from '../analysis/notebook';
import { initParsing, languageForPath } from '../analysis/parsing';
import { readSourceFile } from '../analysis/files';
import { FRAMEWORKS, frameworkFor, type Framework } from '../frameworks/index';
import type { CliOptions } from './args';
import { cachedOutcome, processFile, sourcesFor, type FileOutcome } from './process';

/** Below this many files, and below `MIN_BYTES_FOR_WORKERS` of them, one thread is faster than starting workers. */
const MIN_FILES_FOR_WORKERS = 64;
/** A few model files of this size hold seconds of shape inference: worth a second thread. */
const MIN_BYTES_FOR_WORKERS = 256 * 1024;
/** Files that may hold a layer, below which a family stays on one thread (`threadOrders`). */
const MIN_FILES_TO_SHARE = 128;

/** A thread's family: the framework whose files it prefers (it compiles one grammar set, queries and analysis). */
type Family = FrameworkId;
const FAMILIES: Family[] = FRAMEWORKS.map((f) => f.id);

/** What a worker is started with: every queue, the shared counters, its preference and its first file. */
interface WorkerSetup {
  sepconvWorker: true;
  opts: CliOptions;
  files: string[];
  /** per family, indexes into `files`, largest first */
  queues: Record<Family, number[]>;
  /** per family (in `FAMILIES` order), the position of the next file to claim in its queue */
  counters: SharedArrayBuffer;
  /** the families it takes files of, its own first */
  order: Family[];
  first: number | undefined;
}

/** A worker's message: one file done, or all of its work done. */
type WorkerMessage = { index: number; outcome: FileOutcome; ms: number } | { done: true };

/** Claims the next file for a thread that takes these families, in this order (the first is its own). */
function claimer(queues: Record<Family, number[]>, counters: Int32Array, order: Family[]): () => number | undefined {
  return () => {
    for (const f of order) {
      const queue = queues[f];
      const slot = FAMILIES.indexOf(f);
      // a cheap read first, so that an exhausted queue's counter stops growing
      if (Atomics.load(counters, slot) >= queue.length) continue;
      const at = Atomics.add(counters, slot, 1);
      if (at < queue.length) return queue[at];
    }
    return undefined;
  };
}

interface FileTime {
  path: string;
  ms: number;
  thread: number;
}

function timed(file: string, opts: CliOptions): { outcome: FileOutcome; ms: number } {
  const t0 = performance.now();
  const outcome = processFile(file, opts);
  return { outcome, ms: performance.now() - t0 };
}

function writeTimes(files: string[], times: FileTime[], threads: number): void {
  const out = process.env.SEPCONV_FILE_TIMES;
  if (!out) return;
  const cpu = process.cpuUsage(); // the process's, every thread's
  fs.writeFileSync(
    out,
    JSON.stringify({
      threads,
      cpuMs: (cpu.user + cpu.system) / 1000,
      files: Array.from(files, (path, i) => times[i] ?? { path, ms: 0, thread: -1 }),
    }),
  );
}

export async function processFiles(all: string[], opts: CliOptions): Promise<FileOutcome[]> {
  // the result cache first, on this thread: a run where nothing changed starts no worker and no parser
  const outcomes = new Array<FileOutcome>(all.length);
  const allTimes = new Array<FileTime>(all.length);
  const misses: number[] = [];
  all.forEach((file, i) => {
    const t0 = performance.now();
    const hit = cachedOutcome(file, opts);
    if (!hit) return misses.push(i);
    outcomes[i] = hit;
    allTimes[i] = { path: file, ms: performance.now() - t0, thread: 0 };
  });
  const { results, times, threads } = await analyseAll(
    misses.map((i) => all[i]),
    opts,
  );
  misses.forEach((i, k) => {
    outcomes[i] = results[k];
    allTimes[i] = times[k];
  });
  writeTimes(all, allTimes, threads);
  return outcomes;
}

async function analyseAll(files: string[], opts: CliOptions): Promise<{ results: FileOutcome[]; times: FileTime[]; threads: number }> {
  if (files.length === 0) return { results: [], times: [], threads: 1 };
  const forced = Number(process.env.SEPCONV_THREADS ?? 0);
  const cores = Math.min(forced >= 1 ? forced : os.availableParallelism(), files.length);
  const bundled = __filename.endsWith('.js');
  const sizes = files.map(sizeOf);
  const big = files.length >= MIN_FILES_FOR_WORKERS || sizes.reduce((a, b) => a + b, 0) >= MIN_BYTES_FOR_WORKERS;
  const times: FileTime[] = new Array<FileTime>(files.length);
  // largest first within a family (ties in the order given): the long files start at once, the short ones fill the gaps at the end
  const byCost = files.map((_, i) => i).sort((a, b) => sizes[b] - sizes[a] || a - b);
  const queues = Object.fromEntries(FAMILIES.map((family) => [family, byCost.filter((i) => familyOf(files[i]) === family)])) as Record<
    Family,
    number[]
  >;
  const orders = bundled && cores >= 2 && (big || forced > 1) ? threadOrders(queues, files, opts, cores, forced > 1) : [];
  if (orders.length < 2) {
    await initParsing();
    const results = files.map((f, i) => {
      const { outcome, ms } = timed(f, opts);
      times[i] = { path: f, ms, thread: 0 };
      return outcome;
    });
    return { results, times, threads: 1 };
  }

  const results: FileOutcome[] = new Array<FileOutcome>(files.length);
  const counters = new SharedArrayBuffer(4 * FAMILIES.length);
  const count = new Int32Array(counters);
  // every thread's first file, handed out before any thread starts (so each one has work, whatever its start-up time)
  const firsts = orders.map((order) => claimer(queues, count, order)());

  const workers = orders.slice(1).map((order, w) => {
    const setup: WorkerSetup = { sepconvWorker: true, opts, files, queues, counters, order, first: firsts[w + 1] };
    const worker = new Worker(__filename, { workerData: setup });
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (msg: WorkerMessage) => {
        if ('done' in msg) {
          void worker.terminate().then(() => resolve());
          return;
        }
        results[msg.index] = msg.outcome;
        times[msg.index] = { path: files[msg.index], ms: msg.ms, thread: w + 1 };
      });
      worker.on('error', reject);
    });
  });

  // the main thread's share: the workers need nothing from it until they are done
  await initParsing();
  const claim = claimer(queues, count, orders[0]);
  for (let i = firsts[0]; i !== undefined; i = claim()) {
    const { outcome, ms } = timed(files[i], opts);
    results[i] = outcome;
    times[i] = { path: files[i], ms, thread: 0 };
  }
  await Promise.all(workers);
  return { results, times, threads: orders.length };
}

/**
 * The families each thread takes files of, its own first; one entry per thread to run (fewer than
 * `cores` when more would not pay). Each family with files gets a thread of its own. A family is
 * shared by every thread only when at least `MIN_FILES_TO_SHARE` of its files may hold a layer (its
 * framework's text test): each thread that takes a family compiles its grammar, queries and
 * analysis code and loads the libraries its models import, and on a folder of a few dozen model
 * files that warm-up costs more than a second thread gives (the main thread's V8 already compiles
 * and collects on the other core). `shareAll` (`SEPCONV_THREADS=n`, n > 1) shares every family.
 */
function threadOrders(queues: Record<Family, number[]>, files: string[], opts: CliOptions, cores: number, shareAll: boolean): Family[][] {
  const present = FAMILIES.filter((f) => queues[f].length > 0);
  const owners = present.slice(0, cores);
  // a family no thread owns (more families than threads) is taken by every thread
  const shared = present.filter(
    (f) =>
      shareAll ||
      !owners.includes(f) ||
      mayHoldCount(
        queues[f].map((i) => files[i]),
        opts,
        MIN_FILES_TO_SHARE,
      ) >= MIN_FILES_TO_SHARE,
  );
  for (let k = 0; owners.length < cores && shared.length > 0; k++) owners.push(shared[k % shared.length]);
  return owners.map((own) => [own, ...shared.filter((f) => f !== own)]);
}

/** How many of `files` may hold a layer (their framework's cheap text test), counted up to `enough`. */
function mayHoldCount(files: string[], opts: CliOptions, enough: number): number {
  let n = 0;
  for (const file of files) {
    if (n >= enough) break;
    const text = readSourceFile(file).text;
    if (text !== undefined && frameworkOf(file).mayHold(text, sourcesFor(file, opts))) n++;
  }
  return n;
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0; // unreadable: processFile reports it
  }
}

/** A file's framework; a notebook (no grammar by its extension) is its code cells' */
function frameworkOf(file: string): Framework {
  return frameworkFor(languageForPath(file) ?? NOTEBOOK_LANGUAGE);
}

/** A file's family */
const familyOf = (file: string): Family => frameworkOf(file).id;

/** The worker side: started by `processFiles` with the same bundle. */
export function isPoolWorker(): boolean {
  return !isMainThread && (workerData as { sepconvWorker?: boolean } | null)?.sepconvWorker === true;
}

export async function runPoolWorker(): Promise<void> {
  const { opts, files, queues, counters, order, first } = workerData as WorkerSetup;
  await initParsing();
  const claim = claimer(queues, new Int32Array(counters), order);
  for (let i = first; i !== undefined; i = claim()) {
    const { outcome, ms } = timed(files[i], opts);
    parentPort!.postMessage({ index: i, outcome, ms } satisfies WorkerMessage);
  }
  parentPort!.postMessage({ done: true } satisfies WorkerMessage);
}
