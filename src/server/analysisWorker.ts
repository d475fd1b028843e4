/**
 * The analysis worker (bundled to dist/analysis-worker.js): a worker thread that runs the Python
 * analyses that execute the file's models (the full analysis with shape inference, the focused
 * hover analysis) so that the language server's thread never waits for them. It keeps its own
 * `TreeCache` (trees, analyses and `LayerMemo`s per document, reparsed incrementally from the
 * difference between the texts it is sent) and the unsaved texts of open files that shape
 * inference may read instead of the disk. The main thread (`worker.ts`) bounds its time and memory
 * and terminates it; nothing here needs to check a budget. A job the server no longer wants is
 * interrupted through a shared flag (`WorkerData.interrupt`) that shape inference reads between
 * models and every 1,024 interpreter steps: it ends early with nothing kept, the worker lives on.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Edit, Point } from 'web-tree-sitter';
import { diskSources } from '../analysis/files';
import { Interrupted, modelRuns } from '../analysis/kernel/budget';
import { initParsing } from '../analysis/parsing';
import { emptyAnalysis } from '../frameworks/index';
import { textChange } from '../analysis/textDiff';
import { compactHeap } from './memory';
import { TreeCache } from './trees';
import type { FromWorker, ToWorker, WorkerData } from './workerProtocol';

/** Documents whose trees and memos the worker keeps (it sees only Python documents with models). */
const CAPACITY = 8;

export async function runAnalysisWorker(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('the analysis worker runs in a worker thread');
  const interrupt = (workerData as WorkerData | undefined)?.interrupt;
  // the worker analyses only Python (the framework that runs off the server's thread): one grammar
  await initParsing(['python']);
  const trees = new TreeCache(CAPACITY);
  const texts = new Map<string, string>();
  const overlay = new Map<string, string>();
  const reader = (f: string) => overlay.get(f);

  port.on('message', (msg: ToWorker) => {
    switch (msg.type) {
      case 'overlay':
        for (const [file, text] of Object.entries(msg.files)) {
          if (text === null) overlay.delete(file);
          else overlay.set(file, text);
        }
        return;
      case 'drop':
        trees.drop(msg.key);
        texts.delete(msg.key);
        return;
      case 'collect':
        compactHeap();
        return;
      case 'job': {
        const src = { key: msg.key, version: msg.version, languageId: msg.languageId, text: msg.text };
        const before = texts.get(msg.key);
        if (before !== undefined && before !== msg.text) trees.edited(msg.key, editBetween(before, msg.text));
        texts.set(msg.key, msg.text);
        const id = msg.id;
        const sources = { ...diskSources(msg.file, [], reader), interrupted: interrupt && (() => Atomics.load(interrupt, 0) === id) };
        const runs = modelRuns();
        let reply: FromWorker;
        try {
          if (msg.kind === 'focused' && msg.range) {
            const analysis = trees.focusedAnalysis(src, msg.options, msg.range, sources, msg.at);
            reply = { type: 'done', id: msg.id, analysis, full: trees.cached(src, msg.options) === analysis, models: modelRuns() - runs };
          } else if (msg.kind === 'range' && msg.range) {
            reply = {
              type: 'done',
              id: msg.id,
              analysis: trees.quickAnalysis(src, msg.options, msg.range),
              full: false,
              models: modelRuns() - runs,
            };
          } else if (msg.kind === 'prepare') {
            trees.prepare(src, msg.options, sources);
            reply = { type: 'done', id: msg.id, analysis: emptyAnalysis(src.languageId, []), full: false, models: modelRuns() - runs };
          } else if (msg.kind === 'static') {
            reply = { type: 'done', id: msg.id, analysis: trees.staticAnalysis(src, msg.options), full: false, models: modelRuns() - runs };
          } else {
            reply = {
              type: 'done',
              id: msg.id,
              analysis: trees.analysis(src, msg.options, sources),
              full: true,
              models: modelRuns() - runs,
            };
          }
        } catch (e) {
          if (e instanceof Interrupted) {
            // stopped between models or statements: the tree and memo of this version stand, no analysis was kept
            port.postMessage({ type: 'interrupted', id } satisfies FromWorker);
            return;
          }
          // the analysis threw: the tree and memo of this document may be half-updated, start it afresh
          trees.drop(msg.key);
          texts.delete(msg.key);
          reply = { type: 'failed', id: msg.id, error: e instanceof Error ? e.message : String(e) };
        }
        port.postMessage(reply);
        return;
      }
    }
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

/** The tree-sitter edit that turns `before` into `after` (their common prefix and suffix kept). */
function editBetween(before: string, after: string): Edit {
  const c = textChange(before, after);
  const start = pointAt(before, c.start);
  return {
    startIndex: c.start,
    oldEndIndex: c.oldEnd,
    newEndIndex: c.newEnd,
    startPosition: start,
    oldEndPosition: pointAt(before, c.oldEnd, c.start, start),
    newEndPosition: pointAt(after, c.newEnd, c.start, start),
  };
}

/** Row and column (UTF-16 units, as the server's edits count them) of `offset`, counted from `from`. */
function pointAt(text: string, offset: number, from = 0, at: Point = { row: 0, column: 0 }): Point {
  let row = at.row;
  let lineStart = from - at.column;
  for (let i = text.indexOf('\n', from); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    row++;
    lineStart = i + 1;
  }
  return { row, column: offset - lineStart };
}
