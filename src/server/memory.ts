/**
 * Memory back to the system once the server is idle. V8 keeps the heap pages a burst of work grew
 * into (opening a hundred files, the full analysis of a large model) and compacts them only when
 * it must, which an editor's mostly idle server rarely makes it do. After a second without
 * requests, one compacting full collection (tens of milliseconds, never while the user waits)
 * hands them back: 150 MB at rest became about 105 MB in the benchmark. WASM memory
 * (tree-sitter's) cannot shrink; the tree cache bounds it.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

let gc: (() => void) | undefined | null = null;

/** V8's `gc()`, exposed at run time (no command-line flag: `sepconv-lsp` is started by any editor). */
function collector(): (() => void) | undefined {
  if (gc === null) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const collect = vm.runInNewContext('gc') as () => void;
      // compacting, so that the emptied pages go back to the system; other collections stay as V8 runs them
      gc = () => {
        v8.setFlagsFromString('--compact-on-every-full-gc');
        try {
          collect();
        } finally {
          v8.setFlagsFromString('--no-compact-on-every-full-gc');
        }
      };
    } catch {
      gc = undefined;
    }
  }
  return gc;
}

/** One compacting full collection of this thread's heap now (a no-op where V8 refuses `gc`). */
export function compactHeap(): void {
  collector()?.();
}

export class IdleCollector {
  private timer: NodeJS.Timeout | undefined;
  private pending = false;

  /** `alsoIdle`: what else to do at the same moment (the analysis worker collects its own heap) */
  constructor(
    private readonly idleMs = 1000,
    private readonly alsoIdle?: () => void,
  ) {}

  /** Work happened: collect once nothing else has happened for `idleMs`. */
  touch(): void {
    this.pending = true;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.pending) return;
      this.pending = false;
      collector()?.();
      this.alsoIdle?.();
    }, this.idleMs);
    this.timer.unref();
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}
