/**
 * The zip container of PyTorch checkpoints (`torch.save`, PyTorch ≥ 1.6): a reader that finds the
 * entries through the central directory and reads one entry at a time from the file (never the
 * whole archive), and a writer that streams STORED entries to a file, their data aligned to 64
 * bytes as PyTorch aligns them. Deflated entries (a checkpoint re-zipped by another tool) are
 * inflated with Node's zlib. Zip64 archives are read; the writer refuses to grow past 4 GiB.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Exactly `length` bytes of a file at `position`. */
export function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new Error('unexpected end of file');
    done += n;
  }
  return buf;
}

/** A zip archive open for reading entries one by one. `close()` when done. */
export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private readonly fd: number;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'r');
    try {
      this.readDirectory();
    } catch (e) {
      fs.closeSync(this.fd);
      throw e;
    }
  }

  static isZip(file: string): boolean {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(4);
      return fs.readSync(fd, head, 0, 4, 0) === 4 && head.readUInt32LE(0) === LOCAL;
    } finally {
      fs.closeSync(fd);
    }
  }

  private readDirectory(): void {
    const size = fs.fstatSync(this.fd).size;
    const tailLength = Math.min(size, 22 + 0xffff + 20);
    const tail = readAt(this.fd, size - tailLength, tailLength);
    let at = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD) {
        at = i;
        break;
      }
    }
    if (at < 0) throw new Error('not a zip archive (no end of central directory)');
    let count = tail.readUInt16LE(at + 10);
    let dirSize = tail.readUInt32LE(at + 12);
    let dirOffset = tail.readUInt32LE(at + 16);
    if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
      const loc = at - 20;
      if (loc < 0 || tail.readUInt32LE(loc) !== ZIP64_LOCATOR) throw new Error('zip64 archive without its locator');
      const eocd64 = readAt(this.fd, Number(tail.readBigUInt64LE(loc + 8)), 56);
      if (eocd64.readUInt32LE(0) !== ZIP64_EOCD) throw new Error('zip64 end of central directory not found');
      count = Number(eocd64.readBigUInt64LE(32));
      dirSize = Number(eocd64.readBigUInt64LE(40));
      dirOffset = Number(eocd64.readBigUInt64LE(48));
    }
    const dir = readAt(this.fd, dirOffset, dirSize);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (dir.readUInt32LE(p) !== CENTRAL) throw new Error('corrupt zip central directory');
      const method = dir.readUInt16LE(p + 10);
      const crc32 = dir.readUInt32LE(p + 16);
      let compressedSize = dir.readUInt32LE(p + 20);
      let sizeField = dir.readUInt32LE(p + 24);
      const nameLength = dir.readUInt16LE(p + 28);
      const extraLength = dir.readUInt16LE(p + 30);
      const commentLength = dir.readUInt16LE(p + 32);
      let localHeaderOffset = dir.readUInt32LE(p + 42);
      const name = dir.toString('utf8', p + 46, p + 46 + nameLength);
      // zip64 extra field: the sizes and offset that overflowed, in this order
      let e = p + 46 + nameLength;
      const extraEnd = e + extraLength;
      while (e + 4 <= extraEnd) {
        const id = dir.readUInt16LE(e);
        const len = dir.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (sizeField === 0xffffffff) {
            sizeField = Number(dir.readBigUInt64LE(q));
            q += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = Number(dir.readBigUInt64LE(q));
            q += 8;
          }
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(dir.readBigUInt64LE(q));
        }
        e += 4 + len;
      }
      if (method !== 0 && method !== 8)
        throw new Error(`zip entry ${name} uses compression method ${method} (only stored and deflated are read)`);
      this.entries.set(name, { name, method, crc32, compressedSize, size: sizeField, localHeaderOffset });
      p = extraEnd + commentLength;
    }
  }

  /** Where an entry's (stored) bytes start in the file. */
  dataOffset(entry: ZipEntry): number {
    const h = readAt(this.fd, entry.localHeaderOffset, 30);
    if (h.readUInt32LE(0) !== LOCAL) throw new Error(`corrupt zip local header for ${entry.name}`);
    return entry.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
  }

  /** The entry's bytes, or `length` of them from `offset` (within the uncompressed data). */
  read(entry: ZipEntry, offset = 0, length = entry.size - offset): Buffer {
    if (offset < 0 || length < 0 || offset + length > entry.size) throw new Error(`read past the end of ${entry.name}`);
    const start = this.dataOffset(entry);
    if (entry.method === 0) return readAt(this.fd, start + offset, length);
    const all = zlib.inflateRawSync(readAt(this.fd, start, entry.compressedSize));
    return all.subarray(offset, offset + length);
  }

  /** Copies an entry's stored bytes to `sink` in pieces of at most `chunk` bytes. */
  copy(entry: ZipEntry, sink: (piece: Buffer) => void, chunk = 8 << 20): void {
    if (entry.method !== 0) {
      sink(this.read(entry));
      return;
    }
    const start = this.dataOffset(entry);
    for (let done = 0; done < entry.size; done += chunk) sink(readAt(this.fd, start + done, Math.min(chunk, entry.size - done)));
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Writes a zip archive entry by entry, STORED, each entry's data starting at a multiple of 64. */
export class ZipWriter {
  private readonly fd: number;
  private offset = 0;
  private readonly central: Buffer[] = [];
  private count = 0;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w');
  }

  private write(buf: Buffer): void {
    let done = 0;
    while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, this.offset + done);
    this.offset += buf.length;
    if (this.offset > 0xfffffff0) throw new Error('the new checkpoint would exceed 4 GiB (zip64 writing is not supported)');
  }

  /** Adds an entry whose bytes come in `pieces` (each written as it comes); `crc` and `size` known beforehand. */
  addStream(name: string, size: number, crc: number, pieces: (sink: (piece: Buffer) => void) => void): void {
    const nameBytes = Buffer.from(name, 'utf8');
    const headerEnd = this.offset + 30 + nameBytes.length;
    // an extra field (id "FB", as PyTorch writes) pads the data to 64 bytes
    let pad = (64 - ((headerEnd + 4) % 64)) % 64;
    const extra = Buffer.alloc(4 + pad, 'Z');
    extra.write('FB', 0, 'latin1');
    extra.writeUInt16LE(pad, 2);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt32LE(0, 10); // time, date
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(size, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const headerOffset = this.offset;
    this.write(Buffer.concat([local, nameBytes, extra]));
    const dataStart = this.offset;
    pieces((piece) => this.write(piece));
    if (this.offset - dataStart !== size) throw new Error(`internal error: ${name} wrote ${this.offset - dataStart} bytes, not ${size}`);
    pad = 0;
    const c = Buffer.alloc(46);
    c.writeUInt32LE(CENTRAL, 0);
    c.writeUInt16LE(20, 4); // made by
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0x0800, 8);
    c.writeUInt16LE(0, 10);
    c.writeUInt32LE(0, 12);
    c.writeUInt32LE(crc >>> 0, 16);
    c.writeUInt32LE(size, 20);
    c.writeUInt32LE(size, 24);
    c.writeUInt16LE(nameBytes.length, 28);
    c.writeUInt16LE(pad, 30);
    c.writeUInt16LE(0, 32);
    c.writeUInt16LE(0, 34);
    c.writeUInt16LE(0, 36);
    c.writeUInt32LE(0, 38);
    c.writeUInt32LE(headerOffset, 42);
    this.central.push(c, nameBytes);
    this.count++;
  }

  add(name: string, data: Buffer): void {
    this.addStream(name, data.length, zlib.crc32(data), (sink) => sink(data));
  }

  finish(): void {
    const dir = Buffer.concat(this.central);
    const dirOffset = this.offset;
    this.write(dir);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(EOCD, 0);
    end.writeUInt16LE(this.count, 8);
    end.writeUInt16LE(this.count, 10);
    end.writeUInt32LE(dir.length, 12);
    end.writeUInt32LE(dirOffset, 16);
    this.write(end);
    fs.closeSync(this.fd);
  }

  /** Closes without finishing (the caller removes the file). */
  abort(): void {
    fs.closeSync(this.fd);
  }
}
