/**
 * The checkpoint plumbing without a framework: the restricted unpickler's refusals, pickle and zip
 * round trips, float16/bfloat16 encodings, and the factorization's algebra. What the numbers mean
 * in PyTorch and tfjs is the weights oracles' business (test/oracle/weights*.test.ts).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as zlib from 'node:zlib';
import { decodeFloats, encodeFloats } from '../../src/weights/dtype';
import { energyAt, factor, rankForEnergy, spectrum } from '../../src/weights/factor';
import { pickle, unpickle, UnsafePickleError, type PyValue } from '../../src/weights/pickle';
import { ZipReader, ZipWriter } from '../../src/weights/zip';
import { cli, tempDir } from '../helpers';

void test('the unpickler refuses what a state dict never holds, naming it', () => {
  const proto = Buffer.from([0x80, 2]);
  const cases: [Buffer, RegExp][] = [
    // GLOBAL os.system, then a call
    [Buffer.concat([proto, Buffer.from('cos\nsystem\n(X\x02\x00\x00\x00lstR.', 'latin1')]), /asks for `os\.system`.*nothing was executed/],
    [Buffer.concat([proto, Buffer.from('cbuiltins\neval\n.', 'latin1')]), /asks for `builtins\.eval`/],
    // INST and OBJ build objects by name
    [Buffer.concat([proto, Buffer.from('(ios\nsystem\n.', 'latin1')]), /opcode INST is not part of a state dict/],
    [Buffer.concat([proto, Buffer.from([0x28, 0x6f, 0x2e])]), /opcode OBJ/],
    // an accepted global called with the wrong arguments
    [Buffer.concat([proto, Buffer.from('ccollections\nOrderedDict\n(K\x01tR.', 'latin1')]), /OrderedDict built from arguments/],
    // a storage class used as a function
    [Buffer.concat([proto, Buffer.from('ctorch\nFloatStorage\n)R.', 'latin1')]), /`torch\.FloatStorage` called as a function/],
  ];
  for (const [data, message] of cases)
    assert.throws(
      () => unpickle(data),
      (e: Error) => e instanceof UnsafePickleError && message.test(e.message),
      message.source,
    );
});

void test('pickle round trip: what the writer emits, the reader reads back the same', () => {
  const value: PyValue = {
    type: 'dict',
    ordered: true,
    entries: [
      [
        'a',
        {
          type: 'tensor',
          storage: { key: '0', dtype: 'F16', location: 'cpu', numel: 6 },
          offset: 0,
          shape: [2, 3],
          stride: [3, 1],
          requiresGrad: false,
        },
      ],
      ['n', -70000],
      ['big', 2n ** 70n],
      ['x', { type: 'float', value: 0.1 }],
      ['t', { type: 'tuple', items: [1, 2, 3, 4, 'é', null, true, false] }],
      ['l', { type: 'list', items: [{ type: 'dict', ordered: false, entries: [['k', 255]] }] }],
    ],
    state: {
      type: 'dict',
      ordered: false,
      entries: [
        ['_metadata', { type: 'dict', ordered: true, entries: [['', { type: 'dict', ordered: false, entries: [['version', 1]] }]] }],
      ],
    },
  };
  assert.deepEqual(unpickle(pickle(value)), value);
});

void test('zip: entries written stored and aligned to 64 bytes read back; deflated entries are inflated', () => {
  const dir = tempDir();
  const file = path.join(dir, 'a.zip');
  const w = new ZipWriter(file);
  const big = Buffer.alloc(100_000, 7);
  w.add('a/data.pkl', Buffer.from('hello'));
  w.addStream('a/data/0', big.length, zlib.crc32(big), (sink) => {
    sink(big.subarray(0, 60_000));
    sink(big.subarray(60_000));
  });
  w.finish();
  const r = new ZipReader(file);
  try {
    assert.deepEqual([...r.entries.keys()], ['a/data.pkl', 'a/data/0']);
    for (const e of r.entries.values()) assert.equal(r.dataOffset(e) % 64, 0);
    assert.equal(r.read(r.entries.get('a/data.pkl')!).toString(), 'hello');
    assert.deepEqual(r.read(r.entries.get('a/data/0')!, 99_990, 10), Buffer.alloc(10, 7));
  } finally {
    r.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

void test('float16 and bfloat16: exact values round-trip, others round to nearest', () => {
  const exact = Float64Array.from([0, 1, -2, 0.5, 65504, 2 ** -24, -0.25]);
  assert.deepEqual(decodeFloats(encodeFloats(exact, 'F16'), 'F16', exact.length), exact);
  assert.deepEqual(decodeFloats(encodeFloats(exact.slice(0, 4), 'BF16'), 'BF16', 4), exact.slice(0, 4));
  // 1 + 2^-11 lies halfway between two halves: ties to even (1); 1 + 3·2^-11 rounds up
  assert.deepEqual([...decodeFloats(encodeFloats(Float64Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11]), 'F16'), 'F16', 2)], [1, 1 + 2 ** -9]);
  assert.equal(decodeFloats(encodeFloats(Float64Array.from([Math.PI]), 'BF16'), 'BF16', 1)[0], 3.140625);
});

void test('factorization: full rank reconstructs W; energies and errors; a rank-1 weight needs K = 1', () => {
  // W [Cout=4, Cin/g=2, 3, 3] with groups 2 (Cin 4)
  const shape = { cout: 4, cinPerGroup: 2, groups: 2, kernel: [3, 3] };
  let x = 1;
  const w = Float64Array.from({ length: 4 * 2 * 9 }, () => (x = (x * 16807) % 2147483647) / 2147483647 - 0.5);
  const s = spectrum(w, shape);
  const k = 2; // min(Cout/g, kvol)
  const { depthwise, pointwise } = factor(w, s, k);
  // W[o, j, t] = sum_r P[o, j*K + r] * D[c*K + r, t], c = g*Cin/g + j
  for (let o = 0; o < 4; o++) {
    const g = Math.floor(o / 2);
    for (let j = 0; j < 2; j++) {
      const c = g * 2 + j;
      for (let t = 0; t < 9; t++) {
        let v = 0;
        for (let r = 0; r < k; r++) v += pointwise[o * 2 * k + j * k + r] * depthwise[(c * k + r) * 9 + t];
        assert.ok(Math.abs(v - w[(o * 2 + j) * 9 + t]) < 1e-12);
      }
    }
  }
  assert.deepEqual(energyAt(s, 2), { energy: 1, error: 0 });
  const e1 = energyAt(s, 1);
  assert.ok(Math.abs(e1.error - Math.sqrt(1 - e1.energy)) < 1e-12);
  // rank one per input channel: u v^T
  const r1 = Float64Array.from({ length: 4 * 2 * 9 }, (_, i) => (1 + (Math.floor(i / 18) % 4)) * (1 + (i % 9)) * (i % 18 < 9 ? 1 : -2));
  assert.equal(rankForEnergy(spectrum(r1, { cout: 4, cinPerGroup: 2, groups: 1, kernel: [3, 3] }), 1), 1);
});

void test('the command line: --weights with apply or report; --energy and --out need it', async () => {
  const usage = async (...argv: string[]) => {
    const r = await cli(...argv);
    assert.equal(r.code, 2, argv.join(' '));
    return r.stderr;
  };
  assert.match(await usage('apply', 'x.py', '--energy', '0.9'), /--energy needs --weights/);
  assert.match(await usage('apply', 'x.py', '--out', 'y.pt'), /--out needs --weights/);
  assert.match(await usage('check', 'x.py', '--weights', 'y.pt'), /--weights goes with apply/);
  assert.match(await usage('apply', 'x.py', '--weights', 'y.pt', '--energy', '1.5'), /--energy takes a fraction/);
  assert.match(
    await usage('apply', 'x.py', '--weights', 'y.pt', '--energy', '0.9', '--depth-multiplier', '2'),
    /one of --energy and --depth-multiplier/,
  );
  // a checkpoint that is not one: an error naming it, nothing written
  const dir = tempDir();
  const code = path.join(dir, 'net.py');
  const text =
    'import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(4, 8, 3)\n\n    def forward(self, x):\n        return self.conv(x)\n';
  fs.writeFileSync(code, text);
  fs.writeFileSync(path.join(dir, 'model.pt'), 'not a checkpoint');
  const r = await cli('apply', code, '--weights', path.join(dir, 'model.pt'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /neither a PyTorch zip checkpoint nor \.safetensors/);
  assert.equal(fs.readFileSync(code, 'utf8'), text);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['model.pt', 'net.py']);
  fs.rmSync(dir, { recursive: true, force: true });
});
