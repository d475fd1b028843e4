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
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { PythonEnvironment } from '../analysis/environment';
import type { Edit, Point } from 'web-tree-sitter';
import { diskSources } from '../analysis/files';
import { Interrupted, modelRuns } from '../analysis/kernel/budget';
import { analyzeText } from '../analysis/analyze';
import { defaultOptions } from '../analysis/options';
import { initParsing, query, queryFiles } from '../analysis/parsing';
import { emptyAnalysis, frameworkFor } from '../frameworks/index';
import { textChange } from '../analysis/textDiff';
import { compactHeap } from './memory';
import { TreeCache } from './trees';
import type { EnvironmentMessage, FromWorker, ToWorker, WorkerData } from './workerProtocol';

/** Documents whose trees and memos the worker keeps (it sees only Python documents with models). */
const CAPACITY = 8;

/**
 * How long a job run before the server knew the Python environment waits for it at the first import
 * that needs it, before it stops and is run again with it: the interpreter's answer is usually
 * on its way (a pyenv shim takes about a second from the server's start).
 */
const ENVIRONMENT_WAIT_MS = 2000;

export async function runAnalysisWorker(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('the analysis worker runs in a worker thread');
  const data = workerData as WorkerData | undefined;
  const interrupt = data?.interrupt;
  // the interpreters' answers, as the server sends them
  const environments = new Map<string, PythonEnvironment | undefined>();
  const environmentOf = (interpreter: string, interrupted: () => boolean): PythonEnvironment | undefined => {
    const deadline = Date.now() + ENVIRONMENT_WAIT_MS;
    for (;;) {
      if (!data) throw new EnvironmentPending();
      const seen = Atomics.load(data.environmentsSent, 0);
      for (let m = receiveMessageOnPort(data.environments); m; m = receiveMessageOnPort(data.environments)) {
        const e = m.message as EnvironmentMessage;
        environments.set(e.interpreter, e.environment);
      }
      if (environments.has(interpreter)) return environments.get(interpreter);
      if (interrupted()) throw new Interrupted();
      const left = deadline - Date.now();
      if (left <= 0) throw new EnvironmentPending();
      Atomics.wait(data.environmentsSent, 0, seen, Math.min(left, 50));
    }
  };
  // the worker analyses only Python (the framework that runs off the server's thread): one grammar
  await initParsing(['python']);
  // the warm-up runs after `ready`, in steps between which a job is taken, and stops at the first job: no job waits for it
  let warming = true;
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
        frameworkFor('python').unprepare?.();
        compactHeap();
        return;
      case 'job': {
        warming = false;
        const src = { key: msg.key, version: msg.version, languageId: msg.languageId, text: msg.text };
        const before = texts.get(msg.key);
        if (before !== undefined && before !== msg.text) trees.edited(msg.key, editBetween(before, msg.text));
        texts.set(msg.key, msg.text);
        const id = msg.id;
        const interrupted = () => !!interrupt && Atomics.load(interrupt, 0) === id;
        // the job's run got the environment off the channel: what it keeps of this document (its full
        // analysis, its memo's record of the run) is keyed by options without it, so it is dropped
        let received = false;
        const sources = {
          ...diskSources(msg.file, [], reader),
          interrupted,
          // asked only at an import that needs the environment: the run waits for it there
          python:
            msg.environmentPending !== undefined
              ? () => {
                  const environment = environmentOf(msg.environmentPending!, interrupted);
                  received = true;
                  return environment;
                }
              : undefined,
        };
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
          if (e instanceof EnvironmentPending) {
            port.postMessage({ type: 'needs-environment', id } satisfies FromWorker);
            return;
          }
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
        if (received) {
          trees.drop(msg.key);
          texts.delete(msg.key);
        }
        return;
      }
    }
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
  for (const step of warmUpSteps()) {
    await new Promise((resolve) => setImmediate(resolve));
    if (!warming) break;
    try {
      step();
    } catch {
      // a warm-up only: the jobs report their own failures
    }
  }
}

/**
 * A run made before the server knew the Python environment needed it: it stops as an interruption
 * does (nothing of it is kept, the interpreter lets it through), and the server runs the job again.
 */
class EnvironmentPending extends Interrupted {}

/**
 * A small model analysed once at start-up, unless a job comes first: the queries compiled and the
 * interpreter's code compiled by V8 (a first hover that comes later otherwise pays for both).
 */
const WARM_UP = `import torch
import torch.nn as nn
import torch.nn.functional as F


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class Block(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride), nn.BatchNorm2d(cout)) if stride != 1 or cin != cout else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.down is None else self.down(x)))


class Net(nn.Module):
    def __init__(self, widths=(16, 32, 64), num_classes=10):
        super().__init__()
        layers = []
        cin = 3
        for i, w in enumerate(widths):
            layers.append(Block(cin, w, stride=1 if i == 0 else 2))
            cin = w
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.pool(self.body(x))
        return self.fc(torch.flatten(x, 1))


def net():
    return Net()
`;

/** The warm-up's steps: each query compiled, then the small model analysed (each step a few tens of milliseconds at most). */
const warmUpSteps = (): (() => void)[] => [
  ...queryFiles()
    .filter((q) => q.dir === 'python')
    .map((q) => () => query('python', q.name)),
  () => void analyzeText(WARM_UP, 'python', defaultOptions(), { sources: {} }),
];

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
