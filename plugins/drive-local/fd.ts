import fs from 'node:fs';
import { promisify } from 'node:util';

const openFd = promisify(fs.open);
const readFd = promisify(fs.read);
const writeFd = promisify(fs.write);
const closeFd = promisify(fs.close);
const fstatFd = promisify(fs.fstat);
const fdatasyncFd = promisify(fs.fdatasync);
const fsyncFd = promisify(fs.fsync);

/**
 * A raw file descriptor with promise methods. fs/promises' FileHandle costs
 * about twice the CPU per call here (its own bookkeeping on top of the thread
 * pool round trip), and a small put or get makes dozens of these calls.
 */
export class Fd {
  private constructor(readonly fd: number) {}

  static async open(path: string, flags: string | number): Promise<Fd> {
    return new Fd(await openFd(path, flags));
  }

  /** Writes all of `data` at `position` (or at the current offset when null). */
  async writeAll(data: Uint8Array, position: number | null): Promise<void> {
    for (let off = 0; off < data.byteLength;) {
      const { bytesWritten } = await writeFd(this.fd, data, off, data.byteLength - off, position === null ? null : position + off);
      off += bytesWritten;
    }
  }

  /** Fills `buf` from `position` until it is full or the file ends; the bytes read. */
  async readInto(buf: Uint8Array, position: number): Promise<number> {
    let got = 0;
    while (got < buf.byteLength) {
      const { bytesRead } = await readFd(this.fd, buf, got, buf.byteLength - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got;
  }

  async size(): Promise<number> {
    return (await fstatFd(this.fd)).size;
  }

  datasync(): Promise<void> {
    return fdatasyncFd(this.fd);
  }

  sync(): Promise<void> {
    return fsyncFd(this.fd);
  }

  private closed = false;

  /** Closes once: a second close of a raw fd number could close a file opened since under the same number. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeFd(this.fd);
  }
}

/** fsync of a folder, so that a rename in it survives a power cut. */
export async function syncDir(path: string): Promise<void> {
  const fd = await Fd.open(path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try { await fd.sync(); } finally { await fd.close(); }
}

/**
 * A whole small file in open + read + close (no fstat): read into a buffer
 * of `guess` bytes, and only when the file fills it, ask for its size.
 */
export async function readWhole(path: string, guess = 64 << 10): Promise<Buffer> {
  const f = await Fd.open(path, 'r');
  try {
    let buf = Buffer.allocUnsafe(guess);
    let got = await f.readInto(buf, 0);
    if (got === guess) {
      const size = await f.size();
      const all = Buffer.allocUnsafe(Math.max(size, guess));
      all.set(buf);
      buf = all;
      got += await f.readInto(buf.subarray(got), got);
    }
    return buf.subarray(0, got);
  } finally {
    await f.close();
  }
}
