/**
 * The language server's analysis worker (src/server/worker.ts, analysisWorker.ts): what it sends
 * back is the analysis the server's thread would compute; a job past its time or memory bound ends
 * with the reason and the next job gets a new worker; cancelled, superseded and abandoned jobs end.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { CancellationTokenSource } from 'vscode-languageserver';
import { analyzeText } from '../../src/analysis/analyze';
import { defaultOptions } from '../../src/analysis/options';
import { diskSources } from '../../src/analysis/files';
import { initParsing, parse } from '../../src/analysis/parsing';
import { Poly } from '../../src/analysis/poly';
import { revive } from '../../src/server/analyses';
import { parseLimits } from '../../src/server/server';
import { AnalysisWorker, DEFAULT_LIMITS, Dropped, type JobRequest } from '../../src/server/worker';
import { adoptEarly, startEarly } from '../../src/server/workerThread';
import { ROOT } from '../helpers';

const SHAPES = path.join(ROOT, 'test/fixtures/shapes');
const HOSTILE = path.join(ROOT, 'test/hostile/server');
const options = defaultOptions();
const read = (p: string) => fs.readFileSync(p, 'utf8');
const job = (key: string, text: string, kind: JobRequest['kind'] = 'full', version = '1'): JobRequest => ({
  kind,
  key,
  version,
  languageId: 'python',
  text,
  options,
});

/** The data of an analysis, as JSON shows it (Polys by their text, Maps as entries). */
function plain(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, (_k, x: unknown) =>
      x instanceof Map ? [...x.entries()] : x instanceof Set ? [...x] : x instanceof Poly ? `poly:${x.toString()}` : x,
    ),
  );
}

const workers: AnalysisWorker[] = [];
const make = (limits = DEFAULT_LIMITS) => {
  const w = new AnalysisWorker(limits);
  workers.push(w);
  return w;
};
before(() => initParsing());
after(() => {
  for (const w of workers) w.dispose();
});

void test('the worker sends back the analysis the server thread computes, polynomials and all', { timeout: 120_000 }, async () => {
  const w = make();
  for (const c of fs
    .readdirSync(SHAPES)
    .filter((d) => fs.existsSync(path.join(SHAPES, d, 'model.py')))
    .sort()) {
    const text = read(path.join(SHAPES, c, 'model.py'));
    const outcome = await w.run(job(`file:///${c}.py`, text));
    assert.ok(outcome.ok, c);
    const got = revive(outcome.analysis);
    const tree = parse('python', text);
    const want = analyzeText(text, 'python', options, { tree, sources: diskSources(undefined, [], () => undefined) });
    tree.delete();
    assert.deepEqual(plain(got), plain(want), c);
    // revived: the methods of Poly work again
    const l = got.layers.find((x) => x.args.inChannels);
    assert.equal(l?.args.inChannels?.toString(), want.layers.find((x) => x.args.inChannels)?.args.inChannels?.toString(), c);
  }
});

void test('a job past its time bound ends with the reason; the next job gets a new worker', { timeout: 60_000 }, async () => {
  // the interpreter's own budgets end this model after about 20,000 modules (seconds): the worker's bound is shorter
  const w = make({ timeMs: 300, memoryMb: 512 });
  const outcome = await w.run(job('file:///while.py', read(path.join(HOSTILE, 'while_true_modulelist.py'))));
  assert.deepEqual(outcome.ok ? 'finished' : outcome.reason.replace(/[\d.]+ s$/, 'N s'), 'budget: time, over N s');
  assert.equal(w.stats.budgetStops, 1);
  // (as an editor's initializationOptions.limits would set it) a bound a normal model fits in
  w.setLimits({ timeMs: 30_000, memoryMb: 512 });
  const next = await w.run(job('file:///resnet.py', read(path.join(SHAPES, 'resnet/model.py'))));
  assert.ok(next.ok && next.analysis.layers.length > 0, JSON.stringify(next).slice(0, 300));
  assert.equal(w.stats.starts, 2);
});

void test('a worker past its memory bound is stopped with the reason', { timeout: 120_000 }, async () => {
  const w = make({ timeMs: 100_000, memoryMb: 64 });
  const outcome = await w.run(job('file:///range.py', read(path.join(HOSTILE, 'range_comprehension.py'))));
  assert.deepEqual(outcome.ok ? 'finished' : outcome.reason, 'budget: memory, over 64 MB');
});

void test(
  'cancelled and superseded waiters leave at once; a job nobody waits for is interrupted, the worker kept',
  { timeout: 60_000 },
  async () => {
    const w = make({ timeMs: 30_000, memoryMb: 512 });
    // eight models like fib_init.py's, each stopped by its own step budget: seconds of work on any machine
    // (one took 0.6 s on a fast one, and the job ended before the test looked)
    const fib = read(path.join(HOSTILE, 'fib_init.py'));
    const head = fib.slice(0, fib.indexOf('class Fib('));
    const text = head + Array.from({ length: 8 }, (_, i) => fib.slice(head.length).replace('class Fib(', `class Fib${i}(`)).join('\n\n');
    const source = new CancellationTokenSource();
    const cancelled = w.run(job('file:///fib.py', text), source.token);
    const superseded = w.run(job('file:///fib.py', text, 'focused', '1'));
    // the worker starts, then runs the job for a while
    while (w.busyWith === undefined) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(w.busyWith?.key, 'file:///fib.py');
    source.cancel();
    await assert.rejects(cancelled, (e: unknown) => e instanceof Dropped && e.why === 'cancelled');
    // the queued full job lost its only waiter and was forgotten; the running focused one (a hover goes
    // first) loses its own to the edit and is interrupted
    w.supersede('file:///fib.py', '2');
    await assert.rejects(superseded, (e: unknown) => e instanceof Dropped && e.why === 'superseded');
    while (w.busyWith !== undefined) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      w.log.map((j) => [j.kind, j.end]),
      [['focused', 'interrupted']],
      'interrupted: nobody waits for it (the full job never started)',
    );
    assert.equal(w.stats.interrupted, 1);
    assert.equal(w.stats.orphanStops, 0);
    assert.equal(w.stats.starts, 1, 'the worker lives on');
    const next = await w.run(job('file:///fib.py', 'import torch.nn as nn\nc = nn.Conv2d(3, 8, 3)\n', 'full', '2'));
    assert.ok(next.ok && next.analysis.layers.length === 1);
  },
);

void test(
  'the thread the process entry starts ahead is adopted when its bound is the one wanted (its `ready` kept), else stopped',
  { timeout: 60_000 },
  async () => {
    // started ahead with the default bound, ready before anything adopts it: the worker runs its jobs
    startEarly(DEFAULT_LIMITS.memoryMb);
    await new Promise((r) => setTimeout(r, 3000));
    const w = make();
    const outcome = await w.run(job('file:///early.py', read(path.join(SHAPES, 'resnet/model.py'))));
    assert.ok(outcome.ok && outcome.analysis.layers.length > 0, JSON.stringify(outcome).slice(0, 300));
    assert.equal(w.stats.starts, 1);
    // given once: nothing is left to adopt
    assert.equal(adoptEarly(DEFAULT_LIMITS.memoryMb), undefined);
    // started with another bound than the server's (initializationOptions.limits): stopped, not adopted
    startEarly(DEFAULT_LIMITS.memoryMb);
    assert.equal(adoptEarly(256), undefined);
    const bounded = make({ timeMs: 100_000, memoryMb: 64 });
    const stopped = await bounded.run(job('file:///range.py', read(path.join(HOSTILE, 'range_comprehension.py'))));
    assert.deepEqual(stopped.ok ? 'finished' : stopped.reason, 'budget: memory, over 64 MB');
  },
);

void test('the bounds come from initializationOptions.limits, else the defaults', () => {
  assert.deepEqual(parseLimits(undefined), DEFAULT_LIMITS);
  assert.deepEqual(parseLimits({ timeMs: 1500 }), { timeMs: 1500, memoryMb: DEFAULT_LIMITS.memoryMb });
  assert.deepEqual(parseLimits({ timeMs: -1, memoryMb: 'a lot' }), DEFAULT_LIMITS);
  assert.deepEqual(parseLimits({ timeMs: 10_000, memoryMb: 2048 }), { timeMs: 10_000, memoryMb: 2048 });
});
