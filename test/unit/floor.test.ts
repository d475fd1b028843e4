/** The oracle floors' comparison (test/oracle/floor.ts): what fails, what only says the floor can be raised. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareFloor, formatBaseline } from '../oracle/floor';

void test('a drop in exact or a rise in unknown fails; the opposite passes and says the floor can be raised', () => {
  const floor = { a: { exact: 10, unknown: 2 }, b: { exact: 5, unknown: 0 } };
  assert.deepEqual(compareFloor({ a: { exact: 10, unknown: 2 }, b: { exact: 5, unknown: 0 } }, floor).failures, []);
  assert.deepEqual(compareFloor({ a: { exact: 9, unknown: 2 }, b: { exact: 5, unknown: 0 } }, floor).failures, [
    'a: below its floor: exact 10 -> 9',
  ]);
  assert.deepEqual(compareFloor({ a: { exact: 10, unknown: 2 }, b: { exact: 5, unknown: 1 } }, floor).failures, [
    'b: below its floor: unknown 0 -> 1',
  ]);
  const better = compareFloor({ a: { exact: 12, unknown: 0 }, b: { exact: 5, unknown: 0 } }, floor);
  assert.deepEqual(better.failures, []);
  assert.deepEqual(better.raisable, ['a: exact 10 -> 12, unknown 2 -> 0']);
  assert.match(better.table.join('\n'), /a: exact 12 \(floor 10\), unknown 0 \(floor 2\)  floor can be raised/);
});

void test('a case without a floor, or a floor without its case, fails', () => {
  assert.equal(compareFloor({ a: { exact: 1, unknown: 0 } }, {}).failures.length, 1);
  assert.equal(compareFloor({}, { a: { exact: 1, unknown: 0 } }).failures.length, 1);
});

void test('the baseline is one line per case, sorted', () => {
  assert.equal(
    formatBaseline({ b: { exact: 2, unknown: 1 }, a: { exact: 3, unknown: 0 } }),
    '{\n  "a": { "exact": 3, "unknown": 0 },\n  "b": { "exact": 2, "unknown": 1 }\n}\n',
  );
});
