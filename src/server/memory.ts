/**
 * Memory back to the system once the server is idle. V8 keeps the heap pages a burst of work grew
 * into (opening a hundred files, the full analysis of a large model) until a full collection
 * compacts them, which an editor's mostly idle server rarely triggers on its own. After a second
 * without requests, one full collection (tens of milliseconds, never while the user waits) hands
 * them back. WASM memory (tree-sitter's) cannot shrink; the tree cache bounds it.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

let gc: (() => void) | undefined | null = null;

/** V8's `gc()`, exposed at run time (no command-line flag: `sepconv-lsp` is started by any editor). */
function collector(): (() => void) | undefined {
  if (gc === null) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = undefined;
    }
  }
  return gc;
}

export class IdleCollector {
  private timer: NodeJS.Timeout | undefined;
  private pending = false;

  constructor(private readonly idleMs = 1000) {}

  /** Work happened: collect once nothing else has happened for `idleMs`. */
  touch(): void {
    this.pending = true;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.pending) return;
      this.pending = false;
      collector()?.();
    }, this.idleMs);
    this.timer.unref();
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}
