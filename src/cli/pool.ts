/**
 * Runs `processFile` over many files on worker threads, one parser per worker, sized to the cores.
 * Small jobs (and runs from TypeScript sources, as in the tests) stay on the main thread: a worker
 * costs a bundle load and a WASM start.
 */
import * as os from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { initParsing } from '../analysis/parsing';
import type { CliOptions } from './args';
import { processFile, type FileOutcome } from './process';

/** Below this many files one thread is faster than starting workers. */
const MIN_FILES_FOR_WORKERS = 64;
/** Files handed to a worker at a time: big enough to amortise messages, small enough to balance. */
const CHUNK = 16;

interface Job {
  start: number;
  files: string[];
}

export async function processFiles(files: string[], opts: CliOptions): Promise<FileOutcome[]> {
  const threads = Math.min(os.availableParallelism(), Math.ceil(files.length / CHUNK));
  const bundled = __filename.endsWith('.js');
  if (!bundled || threads < 2 || files.length < MIN_FILES_FOR_WORKERS || process.env.SEPCONV_THREADS === '1') {
    await initParsing();
    return files.map((f) => processFile(f, opts));
  }
  const results: FileOutcome[] = new Array<FileOutcome>(files.length);
  let next = 0;
  const take = (): Job | undefined => {
    if (next >= files.length) return undefined;
    const job = { start: next, files: files.slice(next, next + CHUNK) };
    next += CHUNK;
    return job;
  };
  await Promise.all(
    Array.from({ length: threads }, () => {
      const worker = new Worker(__filename, { workerData: { sepconvWorker: true, opts } });
      return new Promise<void>((resolve, reject) => {
        const send = () => {
          const job = take();
          if (job) worker.postMessage(job);
          else void worker.terminate().then(() => resolve());
        };
        worker.on('message', (msg: { start: number; outcomes: FileOutcome[] }) => {
          msg.outcomes.forEach((o, i) => (results[msg.start + i] = o));
          send();
        });
        worker.on('error', reject);
        worker.on('online', send);
      });
    }),
  );
  return results;
}

/** The worker side: started by `processFiles` with the same bundle. */
export function isPoolWorker(): boolean {
  return !isMainThread && (workerData as { sepconvWorker?: boolean } | null)?.sepconvWorker === true;
}

export async function runPoolWorker(): Promise<void> {
  const { opts } = workerData as { opts: CliOptions };
  await initParsing();
  parentPort!.on('message', (job: Job) => {
    parentPort!.postMessage({ start: job.start, outcomes: job.files.map((f) => processFile(f, opts)) });
  });
}
