import { constants } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';

/** fsync of a folder entry. */
async function syncDir(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try { await fh.sync(); } finally { await fh.close(); }
}

/**
 * The ceiling for a put: plain fs writes of the bytes the engine must write
 * (the object x (k+m)/k, one file per node, in blocks of the same size, all
 * files in parallel), through a temporary name and rename, with the same
 * sync policy. Returns seconds.
 */
export async function rawWrite(dir: string, files: number, bytesPerFile: number, block: Uint8Array, sync: boolean): Promise<number> {
  await mkdir(dir, { recursive: true });
  const t = performance.now();
  await Promise.all(Array.from({ length: files }, async (_, i) => {
    const tmp = join(dir, `f${i}.tmp`);
    const fh = await open(tmp, 'w');
    for (let at = 0; at < bytesPerFile; at += block.byteLength) await fh.write(block, 0, Math.min(block.byteLength, bytesPerFile - at));
    if (sync) await fh.datasync();
    await fh.close();
    await rename(tmp, join(dir, `f${i}`));
  }));
  if (sync) await syncDir(dir);
  return (performance.now() - t) / 1000;
}

/** The ceiling for a healthy get: reading `files` of those files back in parallel. Returns seconds. */
export async function rawRead(dir: string, files: number, blockBytes: number): Promise<number> {
  const t = performance.now();
  await Promise.all(Array.from({ length: files }, async (_, i) => {
    const fh = await open(join(dir, `f${i}`), 'r');
    const buf = Buffer.allocUnsafe(blockBytes);
    for (let pos = 0; ; pos += blockBytes) {
      const { bytesRead } = await fh.read(buf, 0, blockBytes, pos);
      if (bytesRead === 0) break;
    }
    await fh.close();
  }));
  return (performance.now() - t) / 1000;
}

/** Small objects the plain way: each of `count` objects as `files` small files, `inFlight` objects at a time. Returns seconds. */
export async function rawSmallWrites(dir: string, count: number, files: number, bytes: number, inFlight: number, sync: boolean): Promise<number> {
  await mkdir(dir, { recursive: true });
  const data = Buffer.alloc(bytes, 7);
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) {
      const n = next++;
      await Promise.all(Array.from({ length: files }, async (_, i) => {
        const tmp = join(dir, `${n}.${i}.tmp`);
        const fh = await open(tmp, 'w');
        await fh.write(data);
        if (sync) await fh.datasync();
        await fh.close();
        await rename(tmp, join(dir, `${n}.${i}`));
      }));
      if (sync) await syncDir(dir);
    }
  }));
  return (performance.now() - t) / 1000;
}
