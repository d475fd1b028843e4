import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { Budget, isBudgetStop } from '../../src/analysis/kernel/budget';

void test('a budget counts steps to its limit, stays spent until start(), and words its reason "budget: ..."', () => {
  const b = new Budget({ steps: 3 });
  b.start();
  assert.equal(b.spent(), undefined);
  assert.equal(b.spent(1), undefined); // 3 steps: at the limit, not past it
  assert.equal(b.spent(), 'budget: more than 3 steps');
  assert.equal(b.spent(), 'budget: more than 3 steps');
  b.start();
  assert.equal(b.spent(), undefined);
  b.over('more than 2 modules built for one model');
  b.over('a second reason does not replace the first');
  assert.equal(b.spent(), 'budget: more than 2 modules built for one model');
  assert.ok(isBudgetStop(`shape unknown after line 3: \`f()\` (${b.spent()})`));
});

void test('wall time: a run past its own deadline, or past the file deadline, says which', () => {
  const run = new Budget({ steps: 1e6, runMs: 0, fileMs: 60_000 });
  run.startFile();
  run.start();
  const start = performance.now();
  while (performance.now() === start) {
    // let the clock move past the deadline
  }
  let why: string | undefined;
  for (let i = 0; i < 2048 && !why; i++) why = run.spent();
  assert.equal(why, 'budget: more than 0 s for one model');
  const file = new Budget({ steps: 1e6, runMs: 60_000, fileMs: 0 });
  file.startFile();
  file.start();
  while (performance.now() === start) {
    // the same
  }
  why = undefined;
  for (let i = 0; i < 2048 && !why; i++) why = file.spent();
  assert.equal(why, "budget: the file's 0 s of shape inference were used up");
});
