import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRatio, Poly } from '../../src/analysis/poly';

void test('arithmetic and readable form', () => {
  const f = Poly.sym('features');
  const p = f.mulConst(4).mul(f.mulConst(8)).mulConst(9);
  assert.equal(p.toString(), '288·features²');
  assert.equal(p.add(f.mulConst(36)).toString(), '36·features + 288·features²');
  assert.equal(f.sub(f).toString(), '0');
  assert.equal(Poly.const(3).sub(f).toString(), '3 - features');
  assert.equal(f.mul(Poly.sym('a')).toString(), 'a·features');
});

void test('exact division only', () => {
  const f = Poly.sym('c');
  assert.equal(f.mulConst(6).divExact(3)?.toString(), '2·c');
  assert.equal(f.mulConst(6).divExact(4), undefined);
  assert.equal(f.mul(f).mulConst(4).divBy(f.mulConst(2))?.toString(), '2·c');
  assert.equal(Poly.const(5).divBy(f), undefined);
});

void test('substitution', () => {
  const p = Poly.sym('a').mul(Poly.sym('b')).mulConst(9).add(Poly.sym('a'));
  assert.equal(p.substitute({ a: 2, b: 3 }).constant, 56);
  assert.equal(p.substitute({ a: 2 }).toString(), '2 + 18·b');
});

void test('ratio formula cancels common factors', () => {
  const f = Poly.sym('features');
  const before = f.mul(f).mulConst(288);
  const after = f.mulConst(36).add(f.mul(f).mulConst(32));
  assert.equal(formatRatio(after, before), '(9 + 8·features) / (72·features)');
  assert.equal(formatRatio(Poly.const(8960), Poly.const(73856)), '0.1213');
});
