/**
 * Starting the analysis worker thread, and starting it early: the process entry (`index.ts`) starts
 * one before it loads the rest of the server, so that the thread loads its own bundle, the grammar
 * and its warm-up while the server's modules load and `initialize` is answered (about 0.2 s of the
 * first hover after the editor opens a file). `AnalysisWorker` adopts that thread when it first
 * needs one, if it was started with the memory bound it wants; else it stops it and starts its own.
 * Kept to `node:` imports: everything it imports loads before the early start.
 */
import * as path from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { FromWorker, WorkerData } from './workerProtocol';

/** A started analysis thread and the server's ends of what it shares with it. */
export interface AnalysisThread {
  worker: Worker;
  /** the heap bound it was started with */
  memoryMb: number;
  /** the id of the running job to interrupt, or 0 */
  interrupt: Int32Array;
  /** where the Python environments go, and their count (`WorkerData.environments`) */
  environmentPort: MessagePort;
  environmentsSent: Int32Array;
}

/** Starts an analysis worker thread with a heap bound of `memoryMb`, sharing `interrupt` (a new one by default). */
export function startAnalysisThread(memoryMb: number, interrupt: Int32Array = new Int32Array(new SharedArrayBuffer(4))): AnalysisThread {
  const channel = new MessageChannel();
  const environmentsSent = new Int32Array(new SharedArrayBuffer(4));
  const options = {
    resourceLimits: { maxOldGenerationSizeMb: memoryMb },
    workerData: { interrupt, environments: channel.port2, environmentsSent } satisfies WorkerData,
    transferList: [channel.port2],
  };
  // from the sources (tests through tsx), the worker loads tsx itself: a .ts entry is not understood otherwise
  const worker = __filename.endsWith('.js')
    ? new Worker(path.join(__dirname, 'analysis-worker.js'), options)
    : new Worker(`require('tsx/cjs'); require(${JSON.stringify(path.join(__dirname, 'workerIndex.ts'))});`, { ...options, eval: true });
  return { worker, memoryMb, interrupt, environmentPort: channel.port1, environmentsSent };
}

/** The thread started ahead, what it said before it was adopted, and whether it ended meanwhile. */
interface Early {
  thread: AnalysisThread;
  messages: FromWorker[];
  ended: boolean;
  detach: () => void;
}
let early: Early | undefined;

/** Starts the analysis thread ahead of the server (the process entry calls it first). */
export function startEarly(memoryMb: number): void {
  if (early) return;
  const thread = startAnalysisThread(memoryMb);
  // listening only until it is adopted (detach)
  const onMessage = (m: FromWorker) => e.messages.push(m);
  const onEnd = () => {
    e.ended = true;
  };
  const e: Early = {
    thread,
    messages: [],
    ended: false,
    detach: () => {
      thread.worker.off('message', onMessage);
      thread.worker.off('error', onEnd);
      thread.worker.off('exit', onEnd);
    },
  };
  thread.worker.on('message', onMessage);
  thread.worker.on('error', onEnd);
  thread.worker.on('exit', onEnd);
  early = e;
}

/**
 * The thread started ahead, if it is alive and bounded to `memoryMb`, with the messages it sent
 * before (its `ready`), for the caller to handle once it listens; it is given once. Otherwise (it
 * ended, or the bound differs) it is stopped, and the caller starts its own.
 */
export function adoptEarly(memoryMb: number): { thread: AnalysisThread; messages: FromWorker[] } | undefined {
  const e = early;
  if (!e) return undefined;
  early = undefined;
  e.detach();
  if (e.ended || e.thread.memoryMb !== memoryMb) {
    void e.thread.worker.terminate();
    e.thread.environmentPort.close();
    return undefined;
  }
  return { thread: e.thread, messages: e.messages };
}
