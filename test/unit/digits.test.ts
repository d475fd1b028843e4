import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { grouped } from '../../src/analysis/digits';

void test('counts are written as toLocaleString("en-US") writes them, without ICU', () => {
  const values = [0, -0, 7, 999, 1000, -1000, 12345, 999999, 1000000, 28901376, -28901376, 2 ** 31, 2 ** 53 - 1, 2 ** 53, 2 ** 60];
  // past 1e21, where JavaScript's own digits switch to exponent notation
  values.push(1e21, 2 ** 70, 1.5e22, 123456789e20, Number.MAX_VALUE);
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    values.push(Math.floor((seed / 2 ** 31) * 10 ** (1 + (i % 16))) * (i % 3 === 0 ? -1 : 1));
  }
  for (const v of values) assert.equal(grouped(v), v.toLocaleString('en-US'), String(v));
});
