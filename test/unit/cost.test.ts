import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { convCost, savings } from '../../src/analysis/cost';
import { convOutputLength, convOutputLengthPoly, convOutputSize } from '../../src/analysis/kernel/conv';
import type { ConvArgs } from '../../src/analysis/model';
import { Poly } from '../../src/analysis/poly';

const conv = (o: Partial<ConvArgs>): ConvArgs => ({
  dims: 2,
  inChannels: Poly.const(64),
  outChannels: Poly.const(128),
  kernelSize: [3, 3],
  stride: [1, 1],
  padding: [1, 1],
  dilation: [1, 1],
  groups: Poly.const(1),
  bias: true,
  ...o,
});

void test('DESIGN.md test vector: 64 -> 128, 3x3, padding 1, 32x32', () => {
  const c = convCost(conv({}), 'conv', [32, 32], { depthMultiplier: 1, norm: 'none' });
  assert.equal(c.params.before?.constant, 73856);
  assert.equal(c.macs.before?.constant, 75497472);
  // DESIGN.md's 8,960 counts a bias on the depthwise too (576 + 64 + 8192 + 128); its own rewrite
  // rule (depthwise bias=False, bias on the pointwise) gives 576 + 8192 + 128 = 8,896, which is
  // what PyTorch counts for the rewritten module (see the oracle).
  assert.equal(c.params.after?.constant, 8896);
  assert.equal(c.macs.after?.constant, 8978432);
  assert.deepEqual(c.outputSize, [32, 32]);
});

void test('MobileNet ratio 1/Cout + 1/kvol without bias', () => {
  const c = convCost(conv({ bias: false }), 'conv', [14, 14], { depthMultiplier: 1, norm: 'none' });
  assert.equal(c.macs.after!.constant! / c.macs.before!.constant!, 1 / 128 + 1 / 9);
});

void test('output size: stride, dilation, same and valid', () => {
  assert.deepEqual(convOutputSize([224, 224], [7, 7], [2, 2], [3, 3], [1, 1]), [112, 112]);
  assert.deepEqual(convOutputSize([32], [3], [1], [2], [2]), [32]);
  assert.deepEqual(convOutputSize([33, 20], [3, 3], [1, 1], 'same', [1, 1]), [33, 20]);
  assert.deepEqual(convOutputSize([32, 32], [5, 5], [1, 1], 'valid', [1, 1]), [28, 28]);
  assert.deepEqual(convOutputSize([10], [3], [3], [0], [1]), [3]);
});

void test('one output-size formula: tfjs convOutputLength and PyTorch agree, over numbers and symbols', () => {
  // tfjs (conv_utils.convOutputLength): same -> ceil(in / s); valid -> ceil((in - (k-1)*d) / s)
  for (let size = 1; size <= 40; size++) {
    for (const k of [1, 2, 3, 5, 7]) {
      for (const s of [1, 2, 3, 4]) {
        for (const d of [1, 2, 3]) {
          const dk = k + (k - 1) * (d - 1);
          if (size >= dk)
            assert.equal(convOutputLength(size, k, s, 'valid', d), Math.ceil((size - dk + 1) / s), `valid ${size} ${k} ${s} ${d}`);
          assert.equal(convOutputLength(size, k, s, 'same', d), Math.ceil(size / s));
          // PyTorch: padding 0 is 'valid'
          assert.equal(convOutputLength(size, k, s, 0, d), convOutputLength(size, k, s, 'valid', d));
        }
      }
    }
  }
  const h = Poly.sym('H');
  assert.equal(convOutputLengthPoly(h, 3, 1, 'valid')?.toString(), h.sub(Poly.const(2)).toString());
  assert.equal(convOutputLengthPoly(h, 3, 1, 1)?.toString(), h.toString());
  assert.equal(convOutputLengthPoly(h, 3, 1, 'same')?.toString(), h.toString());
  assert.equal(convOutputLengthPoly(h, 3, 2, 'same'), undefined);
  assert.equal(convOutputLengthPoly(Poly.const(224), 7, 2, 3)?.constant, 112);
});

void test('grouped conv keeps its groups on the pointwise', () => {
  const c = convCost(conv({ groups: Poly.const(4), bias: false }), 'conv', [8, 8], { depthMultiplier: 1, norm: 'none' });
  assert.equal(c.params.before?.constant, 128 * 16 * 9);
  assert.equal(c.params.after?.constant, 64 * 9 + (64 * 128) / 4);
});

void test('depth multiplier and BatchNorm parameters', () => {
  const c = convCost(conv({ bias: false }), 'conv', [8, 8], { depthMultiplier: 2, norm: 'bn' });
  assert.equal(c.params.after?.constant, 128 * 9 + 128 * 128 + 2 * 128);
  assert.equal(c.macs.after?.constant, 64 * (128 * 9 + 128 * 128));
});

void test('symbolic channels give polynomials', () => {
  const f = Poly.sym('features');
  const c = convCost(conv({ inChannels: f.mulConst(4), outChannels: f.mulConst(8), bias: false }), 'conv', [8, 8], {
    depthMultiplier: 1,
    norm: 'none',
  });
  assert.equal(c.params.before?.toString(), '288·features²');
  assert.equal(c.params.after?.toString(), '36·features + 32·features²');
  assert.equal(savings(c.params.before, c.params.after), undefined);
});

void test('transposed conv: weights Cin x Cout/g x k, MACs per input element', () => {
  const c = convCost(
    conv({ inChannels: Poly.const(16), outChannels: Poly.const(8), kernelSize: [2, 2], stride: [2, 2], padding: [0, 0] }),
    'transposed',
    [4, 4],
    { depthMultiplier: 1, norm: 'none' },
  );
  assert.equal(c.params.before?.constant, 16 * 8 * 4 + 8);
  assert.equal(c.macs.before?.constant, 16 * 16 * 8 * 4);
  assert.deepEqual(c.outputSize, [8, 8]);
  // separable: transposed depthwise 16x1x2x2 scattering each of 16x4x4 inputs, then a 1x1 16->8 conv at 8x8
  assert.equal(c.params.after?.constant, 16 * 4 + 16 * 8 + 8);
  assert.equal(c.macs.after?.constant, 16 * 16 * 4 + 8 * 8 * 16 * 8);
  // output_padding: the output size as given
  const padded = convCost(
    conv({ inChannels: Poly.const(16), outChannels: Poly.const(8), kernelSize: [3, 3], stride: [2, 2], padding: [1, 1] }),
    'transposed',
    [4, 4],
    { depthMultiplier: 1, norm: 'none' },
    [8, 8],
  );
  assert.equal(padded.macs.after?.constant, 16 * 16 * 9 + 8 * 8 * 16 * 8);
});
