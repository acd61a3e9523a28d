import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import type { Drive, DriveFile, DriveSpace, DriveStat, DriveWriter } from '../../core/contracts/drive.js';
import { nodeFault } from '../../core/errors.js';
import { TMP_DIR } from '../../core/layout.js';
import { Fd, readWhole, syncDir } from './fd.js';
import { adoptIdentity, checkFolder, readIdentity } from './identity.js';
import { LocalShelf } from './local-shelf.js';
import { resolveInside } from './safe-path.js';

/**
 * With sync on, a writer flushes in the background every this many bytes.
 * Linux starts writeback only when dirty pages pass a share of RAM (GiBs
 * here), so without it a large put would first fill the page cache and then
 * wait for the whole flush in commit: CPU time plus disk time instead of the
 * larger of the two. 8 MiB a file keeps the disk busy from the start.
 */
const EARLY_SYNC_BYTES = 8 << 20;

/**
 * mkdir -p of a folder inside a node, refusing to run when the node folder
 * itself is gone: a recursive mkdir would quietly recreate a lost disk's
 * mount point and write onto the wrong file system.
 */
async function mkdirInside(root: string, dir: string): Promise<void> {
  try {
    await stat(root);
  } catch {
    throw nodeFault('ERR_NODE_GONE', `node folder ${root} is gone`);
  }
  await mkdir(dir, { recursive: true });
}

class LocalWriter implements DriveWriter {
  private done = false;
  private unsynced = 0;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly fh: Fd,
    private readonly root: string,
    private readonly tmp: string,
    private readonly final: string,
    private readonly sync: boolean,
    private readonly resolve: (path: string) => string,
  ) {}

  async write(chunk: Uint8Array, position?: number): Promise<void> {
    await this.fh.writeAll(chunk, position ?? null);
    this.unsynced += chunk.byteLength;
    if (this.sync && this.unsynced >= EARLY_SYNC_BYTES && !this.flushing) {
      this.unsynced = 0;
      this.flushing = this.fh.datasync().catch(() => undefined).finally(() => { this.flushing = undefined; });
    }
  }

  async commit(path?: string): Promise<void> {
    const final = path === undefined ? this.final : this.resolve(path);
    await this.flushing;
    if (this.sync) await this.fh.datasync();
    await this.fh.close();
    this.done = true;
    // Another process pruning older versions may remove the freshly made
    // folder between mkdir and rename; make it again.
    for (let attempt = 0; ; attempt++) {
      await mkdirInside(this.root, dirname(final));
      try {
        await rename(this.tmp, final);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 4) throw err;
      }
    }
    if (this.sync) await syncDir(dirname(final));
  }

  async abort(): Promise<void> {
    await this.flushing;
    if (!this.done) await this.fh.close().catch(() => undefined);
    this.done = true;
    await rm(this.tmp, { force: true });
  }
}

class LocalFile implements DriveFile {
  constructor(private readonly fh: Fd, readonly size: number) {}

  async read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const bytes = Math.max(0, Math.min(length, this.size - offset));
    const buf = into ? into.subarray(0, bytes) : Buffer.allocUnsafe(bytes);
    const got = await this.fh.readInto(buf, offset);
    return got === buf.byteLength ? buf : buf.subarray(0, got);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** A node with less free space than this (or this share of its file system, if less) takes no writes. */
const FULL_RESERVE_BYTES = 64 << 20;
const FULL_RESERVE_SHARE = 0.01;

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR';

/**
 * A node that is a local folder. Writes go to `.tmp/` (on the same file
 * system, so rename is atomic) and are renamed into place on commit; with
 * `sync` on, file data and the folder entry are flushed first.
 */
export class LocalDrive implements Drive {
  readonly shelf: LocalShelf;

  constructor(readonly index: number, readonly location: string, private readonly sync: boolean, readonly clusterId: string) {
    this.shelf = new LocalShelf(location, sync);
  }

  private path(p: string): string {
    return resolveInside(this.location, p);
  }

  close(): Promise<void> {
    return this.shelf.close();
  }

  async createWriter(path: string): Promise<DriveWriter> {
    const final = this.path(path);
    // Not recursive: if the node folder itself is gone, the write must fail.
    const tmp = join(this.location, TMP_DIR, randomUUID());
    const fh = await Fd.open(tmp, 'wx');
    return new LocalWriter(fh, this.location, tmp, final, this.sync, (p) => this.path(p));
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const w = await this.createWriter(path);
    try {
      await w.write(data);
      await w.commit();
    } catch (err) {
      await w.abort();
      throw err;
    }
  }

  async createFile(path: string, data: Uint8Array): Promise<{ newFolder: boolean }> {
    const target = this.path(path);
    let newFolder = false;
    let fh: Fd;
    try {
      fh = await Fd.open(target, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      newFolder = await this.makeFolder(dirname(target));
      fh = await Fd.open(target, 'wx');
    }
    try {
      await fh.writeAll(data, 0);
      if (this.sync) await fh.datasync();
    } catch (err) {
      await rm(target, { force: true });
      throw err;
    } finally {
      await fh.close().catch(() => undefined);
    }
    if (this.sync) {
      await syncDir(dirname(target));
      if (newFolder) await syncDir(dirname(dirname(target)));
    }
    return { newFolder };
  }

  /** Makes `dir` (and its parents); true when this call made `dir` itself, false when it was there. */
  private async makeFolder(dir: string): Promise<boolean> {
    try {
      await mkdir(dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'ENOENT') throw err;
    }
    await mkdirInside(this.location, dirname(dir));
    try {
      await mkdir(dir);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }

  async readFile(path: string): Promise<Uint8Array | undefined> {
    try {
      return await readWhole(this.path(path));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async open(path: string): Promise<DriveFile | undefined> {
    let fh: Fd;
    try {
      fh = await Fd.open(this.path(path), 'r');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    try {
      return new LocalFile(fh, await fh.size());
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async stat(path: string): Promise<DriveStat | undefined> {
    try {
      const st = await stat(this.path(path));
      return { size: st.size, mtimeMs: st.mtimeMs, isDirectory: st.isDirectory() };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      return await readdir(this.path(dir));
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const target = this.path(to);
    await mkdirInside(this.location, dirname(target));
    await rename(this.path(from), target);
    if (this.sync) await syncDir(dirname(target));
  }

  async remove(path: string): Promise<void> {
    await rm(this.path(path), { recursive: true, force: true });
  }

  /**
   * The folder, its identity (a wiped folder is given it again, as at start:
   * a disk replaced while running), then a small file written, flushed, read
   * back and removed: a read-only remount, a full disk or a failing one
   * shows here before a client's write meets it.
   */
  async probe(): Promise<DriveSpace> {
    await checkFolder(this.location);
    await adoptIdentity(this.location, await readIdentity(this.location), { format: 1, clusterId: this.clusterId, index: this.index });
    // A shelf still being walked (ERR_NODE_CHECKING) keeps the node out of service.
    await this.shelf.usable();
    // Nearly full counts as full: a probe's 64 bytes would still fit where a shard does not.
    const fs = await statfs(this.location);
    const reserve = Math.min(FULL_RESERVE_BYTES, fs.blocks * fs.bsize * FULL_RESERVE_SHARE);
    if (fs.bavail * fs.bsize < reserve) {
      throw nodeFault('ENOSPC', `${this.location}: ${fs.bavail * fs.bsize} bytes free, less than the ${Math.round(reserve)} kept in reserve`);
    }
    const path = join(this.location, TMP_DIR, `probe-${process.pid}-${randomUUID()}`);
    const bytes = randomBytes(64);
    const fh = await Fd.open(path, 'wx+');
    try {
      await fh.writeAll(bytes, 0);
      await fh.datasync();
      const back = Buffer.alloc(bytes.length);
      const got = await fh.readInto(back, 0);
      if (got !== bytes.length || !back.equals(bytes)) throw nodeFault('EIO', `${this.location}: a probe file read back differently`);
    } finally {
      await fh.close().catch(() => undefined);
      await rm(path, { force: true });
    }
    return { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
  }
}
