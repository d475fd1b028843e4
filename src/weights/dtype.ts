/**
 * Element types of checkpoint tensors and their little-endian encodings. Floating-point weights are
 * decoded to float64 for the factorization and encoded back in their own type; other types are only
 * ever copied byte for byte.
 */

export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const DTYPE_SIZE: Record<DType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export const isFloat = (d: DType): boolean => d === 'F64' || d === 'F32' || d === 'F16' || d === 'BF16';

/** PyTorch storage classes (`torch.FloatStorage`) by dtype, both ways. */
export const TORCH_STORAGE: Record<DType, string> = {
  F64: 'DoubleStorage',
  F32: 'FloatStorage',
  F16: 'HalfStorage',
  BF16: 'BFloat16Storage',
  I64: 'LongStorage',
  I32: 'IntStorage',
  I16: 'ShortStorage',
  I8: 'CharStorage',
  U8: 'ByteStorage',
  BOOL: 'BoolStorage',
};
export const STORAGE_DTYPE = new Map<string, DType>(Object.entries(TORCH_STORAGE).map(([d, s]) => [s, d as DType]));

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float -> IEEE half, round to nearest even (through float32 bits). */
function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

function floatToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** The first `count` elements of a float type in `buf`. */
export function decodeFloats(buf: Buffer, dtype: DType, count: number): Float64Array {
  // little-endian hosts read aligned float32 through a typed view
  const out = new Float64Array(count);
  if (dtype === 'F32' && LITTLE_ENDIAN && buf.byteOffset % 4 === 0) {
    const view = new Float32Array(buf.buffer, buf.byteOffset, count);
    for (let i = 0; i < count; i++) out[i] = view[i];
    return out;
  }
  for (let i = 0; i < count; i++) {
    switch (dtype) {
      case 'F64':
        out[i] = buf.readDoubleLE(i * 8);
        break;
      case 'F32':
        out[i] = buf.readFloatLE(i * 4);
        break;
      case 'F16':
        out[i] = halfToFloat(buf.readUInt16LE(i * 2));
        break;
      case 'BF16':
        u32[0] = buf.readUInt16LE(i * 2) << 16;
        out[i] = f32[0];
        break;
      default:
        throw new Error(`a ${dtype} tensor is not a floating-point weight`);
    }
  }
  return out;
}

export function encodeFloats(values: Float64Array, dtype: DType): Buffer {
  if (dtype === 'F32' && LITTLE_ENDIAN) {
    const view = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) view[i] = values[i];
    return Buffer.from(view.buffer);
  }
  const size = DTYPE_SIZE[dtype];
  const buf = Buffer.alloc(values.length * size);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    switch (dtype) {
      case 'F64':
        buf.writeDoubleLE(v, i * 8);
        break;
      case 'F32':
        buf.writeFloatLE(v, i * 4);
        break;
      case 'F16':
        buf.writeUInt16LE(floatToHalf(v), i * 2);
        break;
      case 'BF16':
        buf.writeUInt16LE(floatToBf16(v), i * 2);
        break;
      default:
        if (dtype === 'I64') buf.writeBigInt64LE(BigInt(Math.round(v)), i * 8);
        else throw new Error(`cannot write ${dtype} values`);
    }
  }
  return buf;
}
