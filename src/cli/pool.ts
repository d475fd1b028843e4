/**
 * Runs `processFile` over many files on the main thread and on worker threads, one parser per
 * thread, as many threads as cores. The main thread starts at once while the workers load; each
 * thread keeps to one language family while it can (Python here, JavaScript/TypeScript in the
 * first worker), so that it compiles one family's grammar, queries and analysis code, and takes the
 * other family's files when its own run out. Small jobs (and runs from TypeScript sources, as in
 * the tests) stay on the main thread: a worker costs a bundle load and a WASM start.
 */
import * as os from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { initParsing, languageForPath } from '../analysis/parsing';
import type { CliOptions } from './args';
import { processFile, type FileOutcome } from './process';

/** Below this many files one thread is faster than starting workers. */
const MIN_FILES_FOR_WORKERS = 64;
/** Files handed to a worker at a time (two chunks in flight): enough to amortise messages, few enough that the threads finish together. */
const CHUNK = 6;

/** Files sent to a worker, with their places in the list given to `processFiles`. */
interface Job {
  indexes: number[];
  files: string[];
}

type Family = 'python' | 'javascript';

/** The indexes of one language family's files still to do, in the order given. */
class Queue {
  private next = 0;
  constructor(private readonly indexes: number[]) {}
  get empty(): boolean {
    return this.next >= this.indexes.length;
  }
  take(n: number): number[] {
    const out = this.indexes.slice(this.next, this.next + n);
    this.next += out.length;
    return out;
  }
}

export async function processFiles(files: string[], opts: CliOptions): Promise<FileOutcome[]> {
  const threads = Math.min(os.availableParallelism(), Math.ceil(files.length / CHUNK));
  const bundled = __filename.endsWith('.js');
  if (!bundled || threads < 2 || files.length < MIN_FILES_FOR_WORKERS || process.env.SEPCONV_THREADS === '1') {
    await initParsing();
    return files.map((f) => processFile(f, opts));
  }
  const results: FileOutcome[] = new Array<FileOutcome>(files.length);
  const indexes = files.map((_, i) => i);
  const queues: Record<Family, Queue> = {
    python: new Queue(indexes.filter((i) => familyOf(files[i]) === 'python')),
    javascript: new Queue(indexes.filter((i) => familyOf(files[i]) === 'javascript')),
  };
  /** The next files for a thread that prefers `family`: its own while there are any, then the other's. */
  const take = (family: Family, n: number): number[] => {
    const own = queues[family];
    return own.empty ? queues[family === 'python' ? 'javascript' : 'python'].take(n) : own.take(n);
  };

  const workers = Array.from({ length: threads - 1 }, (_, w) => {
    const family: Family = w % 2 === 0 ? 'javascript' : 'python';
    const worker = new Worker(__filename, { workerData: { sepconvWorker: true, opts } });
    return new Promise<void>((resolve, reject) => {
      let inFlight = 0;
      const send = () => {
        const chunk = take(family, CHUNK);
        if (chunk.length === 0) {
          if (inFlight === 0) void worker.terminate().then(() => resolve());
          return;
        }
        inFlight++;
        worker.postMessage({ indexes: chunk, files: chunk.map((i) => files[i]) } satisfies Job);
      };
      worker.on('message', (msg: { indexes: number[]; outcomes: FileOutcome[] }) => {
        inFlight--;
        msg.outcomes.forEach((o, i) => (results[msg.indexes[i]] = o));
        send();
      });
      worker.on('error', reject);
      // two chunks in flight, so the worker never waits for the main thread to hand it the next
      worker.on('online', () => {
        send();
        send();
      });
    });
  });

  // the main thread's share, a file at a time so that the workers' messages are answered between files
  await initParsing();
  for (;;) {
    const [i] = take('python', 1);
    if (i === undefined) break;
    results[i] = processFile(files[i], opts);
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(workers);
  return results;
}

function familyOf(file: string): Family {
  const id = languageForPath(file);
  return id === undefined || id === 'python' ? 'python' : 'javascript';
}

/** The worker side: started by `processFiles` with the same bundle. */
export function isPoolWorker(): boolean {
  return !isMainThread && (workerData as { sepconvWorker?: boolean } | null)?.sepconvWorker === true;
}

export async function runPoolWorker(): Promise<void> {
  const { opts } = workerData as { opts: CliOptions };
  await initParsing();
  parentPort!.on('message', (job: Job) => {
    parentPort!.postMessage({ indexes: job.indexes, outcomes: job.files.map((f) => processFile(f, opts)) });
  });
}
