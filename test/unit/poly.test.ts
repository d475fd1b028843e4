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

void test('a constant is a plain number: arithmetic on constants agrees with the same arithmetic on a symbol then substituted', () => {
  // a conv's cost as convCost computes it, with every channel count, kernel and size a constant or a symbol
  const cost = (cin: Poly, cout: Poly, g: number, kvol: number, spatial: number) => {
    const weights = cin.divBy(Poly.const(g))?.mul(cout).mulConst(kvol);
    return weights
      ?.add(cout)
      .mulConst(spatial)
      .sub(cin.mul(Poly.ZERO))
      .add(cin.divExact(g) ?? Poly.const(-1));
  };
  const cases: [number, number, number, number, number][] = [
    [64, 128, 1, 9, 56 * 56],
    [96, 96, 96, 9, 28 * 28],
    [3, 64, 1, 49, 112 * 112],
    [30, 60, 4, 1, 7],
    [0, 16, 1, 9, 4],
  ];
  for (const [cin, cout, g, kvol, spatial] of cases) {
    const constant = cost(Poly.const(cin), Poly.const(cout), g, kvol, spatial);
    const symbolic = cost(Poly.sym('cin'), Poly.sym('cout'), g, kvol, spatial)?.substitute({ cin, cout });
    const expected = cin % g === 0 ? ((cin / g) * cout * kvol + cout) * spatial + cin / g : undefined;
    assert.equal(constant?.constant, expected, `${cin} ${cout} groups ${g}`);
    // the symbolic form divides only where the division is exact for every value: when it does, the same number
    if (symbolic) assert.equal(symbolic.constant, expected);
    assert.ok(!constant || constant.equals(Poly.const(expected!)));
  }
  assert.equal(Poly.const(-0).toString(), '0');
  assert.ok(Poly.const(3).sub(Poly.const(3)).equals(Poly.ZERO));
  assert.ok(Poly.sym('a').sub(Poly.sym('a')).equals(Poly.ZERO));
  assert.equal(Poly.sym('a').sub(Poly.sym('a')).add(Poly.const(2)).mul(Poly.const(3)).constant, 6);
  assert.equal(Poly.const(NaN).mul(Poly.ZERO).constant, 0);
});
