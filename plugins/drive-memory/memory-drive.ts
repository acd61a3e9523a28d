import type { Drive, DriveFile, DriveShelf, DriveSpace, DriveStat, DriveWriter, ShelfItem, ShelfPut, ShelfPutResult, ShelfRow, ShelfRowRange, ShelfRowStream, ShelfRowStreamRange, ShelfRowWrite } from '../../core/contracts/drive.js';
import { checkDrivePath } from '../../core/drive-path.js';
import { placed } from '../../core/read-into.js';
import { nodeFault } from '../../core/errors.js';
import { pagedRowStream } from '../../core/row-stream.js';
import { Faults, flipped, type DriveCall, type FaultRule } from './faults.js';

interface StoredFile {
  readonly bytes: Uint8Array;
  readonly mtimeMs: number;
}

const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('/')));
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const never = () => new Promise<never>(() => undefined);
/** The bytes of a shelf item that rotted (a corrupt put): it reads as absent. */
const ROTTEN = new Uint8Array(0);

/**
 * One node held in memory: a tree of files and folders, and a shelf, with
 * no disk under it. Engine tests that need only drives run on it in a
 * fraction of the time, and its faults (fail, hang or corrupt the nth call,
 * or every call on a path) reach exactly the call a test aims at. It has no
 * node services of its own: the core hosts them for it, as for a folder, so
 * the whole engine (listing indexes included) runs on it.
 */
export class MemoryDrive implements Drive {
  readonly location: string;
  readonly shelf: MemoryShelf;
  /** the faults in force; add rules with `inject` */
  readonly faults = new Faults();
  private readonly files = new Map<string, StoredFile>();
  /** folders and when they were made ('' is the node's own folder) */
  private readonly folders = new Map<string, number>([['', Date.now()]]);

  constructor(readonly index: number, private readonly capacityBytes = 2 ** 40) {
    this.location = `memory:node-${index}`;
    this.shelf = new MemoryShelf((call, name) => this.gate(call, name));
  }

  /** Adds a fault (see FaultRule); `faults.clear()` takes them all away. */
  inject(rule: FaultRule): this {
    this.faults.add(rule);
    return this;
  }

  /** Acts out the fault a call meets: throws, never settles, or answers true when its bytes are to be corrupted. */
  private async gate(call: DriveCall, path?: string): Promise<boolean> {
    const verdict = this.faults.check(call, path);
    if (!verdict) return false;
    if (verdict.action === 'fail') throw verdict.error;
    if (verdict.action === 'hang') return never();
    if (verdict.action === 'slow') {
      await new Promise((r) => setTimeout(r, verdict.ms));
      return false;
    }
    return true;
  }

  /** Makes a folder and its parents; true when `dir` itself was not there. */
  private makeFolders(dir: string): boolean {
    if (this.folders.has(dir)) return false;
    if (this.files.has(dir)) throw nodeFault('ENOTDIR', `${dir} is a file`);
    this.makeFolders(parentOf(dir));
    this.folders.set(dir, Date.now());
    return true;
  }

  private place(path: string, bytes: Uint8Array): void {
    if (this.folders.has(path)) throw nodeFault('EISDIR', `${path} is a folder`);
    this.makeFolders(parentOf(path));
    this.files.set(path, { bytes, mtimeMs: Date.now() });
  }

  async createWriter(path: string): Promise<DriveWriter> {
    checkDrivePath(path);
    await this.gate('createWriter', path);
    return new MemoryWriter(path, (final, bytes) => this.place(final, bytes), (call, p) => this.gate(call, p));
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    checkDrivePath(path);
    const corrupt = await this.gate('writeFile', path);
    this.place(path, corrupt ? flipped(data) : Uint8Array.from(data));
  }

  async createFile(path: string, data: Uint8Array): Promise<{ newFolder: boolean }> {
    checkDrivePath(path);
    const corrupt = await this.gate('createFile', path);
    if (this.files.has(path) || this.folders.has(path)) throw nodeFault('EEXIST', `${path} exists`);
    const newFolder = this.makeFolders(parentOf(path));
    this.files.set(path, { bytes: corrupt ? flipped(data) : Uint8Array.from(data), mtimeMs: Date.now() });
    return { newFolder };
  }

  async readFile(path: string): Promise<Uint8Array | undefined> {
    checkDrivePath(path);
    const corrupt = await this.gate('readFile', path);
    const file = this.files.get(path);
    if (!file) return undefined;
    return corrupt ? flipped(file.bytes) : Uint8Array.from(file.bytes);
  }

  async open(path: string): Promise<DriveFile | undefined> {
    checkDrivePath(path);
    await this.gate('open', path);
    const file = this.files.get(path);
    // The bytes are never changed in place: a file stays readable after its path is removed or replaced.
    return file ? new MemoryFile(path, file.bytes, (call, p) => this.gate(call, p)) : undefined;
  }

  async stat(path: string): Promise<DriveStat | undefined> {
    checkDrivePath(path);
    await this.gate('stat', path);
    const file = this.files.get(path);
    if (file) return { size: file.bytes.byteLength, mtimeMs: file.mtimeMs, isDirectory: false };
    const made = this.folders.get(path);
    return made === undefined ? undefined : { size: 0, mtimeMs: made, isDirectory: true };
  }

  async list(dir: string): Promise<string[]> {
    checkDrivePath(dir);
    await this.gate('list', dir);
    return this.entries(dir);
  }

  /** The names in a folder (not a call: no fault meets it). */
  private entries(dir: string): string[] {
    const prefix = `${dir}/`;
    const names = new Set<string>();
    for (const path of [...this.files.keys(), ...this.folders.keys()]) {
      if (path.startsWith(prefix)) names.add(path.slice(prefix.length).split('/')[0]!);
    }
    return [...names];
  }

  async rename(from: string, to: string): Promise<void> {
    checkDrivePath(from);
    checkDrivePath(to);
    await this.gate('rename', from);
    const file = this.files.get(from);
    if (file) {
      this.place(to, file.bytes);
      this.files.delete(from);
      return;
    }
    if (!this.folders.has(from)) throw nodeFault('ENOENT', `${from} does not exist`);
    if (this.files.has(to)) throw nodeFault('ENOTDIR', `${to} is a file`);
    if (this.entries(to).length) throw nodeFault('ENOTEMPTY', `${to} is not empty`);
    this.makeFolders(parentOf(to));
    const moved = (path: string) => (path === from ? to : path.startsWith(`${from}/`) ? to + path.slice(from.length) : undefined);
    for (const [path, f] of [...this.files]) {
      const target = moved(path);
      if (target !== undefined) { this.files.delete(path); this.files.set(target, f); }
    }
    for (const [path, made] of [...this.folders]) {
      const target = moved(path);
      if (target !== undefined) { this.folders.delete(path); this.folders.set(target, made); }
    }
  }

  async remove(path: string): Promise<void> {
    checkDrivePath(path);
    await this.gate('remove', path);
    const inside = (p: string) => p === path || p.startsWith(`${path}/`);
    for (const p of [...this.files.keys()]) if (inside(p)) this.files.delete(p);
    for (const p of [...this.folders.keys()]) if (inside(p)) this.folders.delete(p);
  }

  async probe(): Promise<DriveSpace> {
    await this.gate('probe');
    let used = this.shelf.bytes();
    for (const f of this.files.values()) used += f.bytes.byteLength;
    const free = this.capacityBytes - used;
    if (free <= 0) throw nodeFault('ENOSPC', `${this.location}: full (${used} of ${this.capacityBytes} bytes)`);
    return { freeBytes: free, totalBytes: this.capacityBytes };
  }
}

class MemoryWriter implements DriveWriter {
  private data = new Uint8Array(0);
  private length = 0;
  private done = false;

  constructor(
    private readonly path: string,
    private readonly place: (path: string, bytes: Uint8Array) => void,
    private readonly gate: (call: DriveCall, path: string) => Promise<boolean>,
  ) {}

  async write(chunk: Uint8Array, position?: number): Promise<void> {
    const corrupt = await this.gate('writer.write', this.path);
    const at = position ?? this.length;
    const end = at + chunk.byteLength;
    if (end > this.data.byteLength) {
      const grown = new Uint8Array(Math.max(end, this.data.byteLength * 2));
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    // Copied: the caller may reuse its buffer once this resolves.
    this.data.set(corrupt ? flipped(chunk) : chunk, at);
    this.length = Math.max(this.length, end);
  }

  async commit(path?: string): Promise<void> {
    const final = path === undefined ? this.path : checkDrivePath(path);
    await this.gate('writer.commit', final);
    if (this.done) throw nodeFault('EBADF', `${this.path}: the writer was already committed or aborted`);
    this.done = true;
    this.place(final, this.data.slice(0, this.length));
  }

  async abort(): Promise<void> {
    this.done = true;
    this.data = new Uint8Array(0);
  }
}

class MemoryFile implements DriveFile {
  readonly size: number;

  constructor(private readonly path: string, private readonly bytes: Uint8Array, private readonly gate: (call: DriveCall, path: string) => Promise<boolean>) {
    this.size = bytes.byteLength;
  }

  async read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const corrupt = await this.gate('file.read', this.path);
    const part = this.bytes.subarray(offset, Math.min(offset + length, this.size));
    // One copy either way: the stored bytes never leave as themselves (a reader may write into what it got).
    if (corrupt) return placed(flipped(part), into);
    return into ? placed(part, into) : part.slice();
  }

  async close(): Promise<void> {}
}

/** The shelf of a MemoryDrive: items by name, in UTF-8 byte order, with their folders' counts. */
export class MemoryShelf implements DriveShelf {
  private readonly items = new Map<string, ShelfItem>();
  private readonly perFolder = new Map<string, number>();
  /** tables' rows by table, then by key (hex) */
  private readonly tables = new Map<string, Map<string, { key: Buffer; value: Uint8Array }>>();

  constructor(private readonly gate: (call: DriveCall, name?: string) => Promise<boolean>) {}

  /** The bytes the items take (for the drive's probe). */
  bytes(): number {
    let n = 0;
    for (const item of this.items.values()) n += item.bytes.byteLength;
    return n;
  }

  /** Applies row writes; rows of a table the gate says rots are stored rotten. */
  private async writeRows(rows: readonly ShelfRowWrite[]): Promise<void> {
    for (const row of rows) {
      const corrupt = await this.gate('shelf.put', row.table);
      let table = this.tables.get(row.table);
      if (!table) this.tables.set(row.table, (table = new Map()));
      const id = Buffer.from(row.key).toString('hex');
      const stored = table.get(id)?.value;
      if (row.value === undefined) {
        if (!row.onlyIfRotten || stored === ROTTEN) table.delete(id);
        continue;
      }
      if (row.unlessFirstByte !== undefined && stored && stored !== ROTTEN && stored[0] === row.unlessFirstByte) continue;
      table.set(id, { key: Buffer.from(row.key), value: corrupt ? ROTTEN : Uint8Array.from(row.value) });
    }
  }

  async rows(table: string, range: ShelfRowRange): Promise<ShelfRow[]> {
    await this.gate('shelf.rows', table);
    const rows = [...(this.tables.get(table)?.values() ?? [])]
      .filter((r) => Buffer.compare(r.key, range.from) >= 0 && (!range.to || Buffer.compare(r.key, range.to) < 0))
      .sort((a, b) => Buffer.compare(a.key, b.key))
      .slice(0, range.limit);
    return rows.map((r) => ({ key: Buffer.from(r.key), value: r.value === ROTTEN ? undefined : Uint8Array.from(r.value) }));
  }

  streamRows(table: string, range: ShelfRowStreamRange): ShelfRowStream {
    return pagedRowStream((r) => this.rows(table, r), range);
  }

  async put(items: readonly ShelfPut[], rows: readonly ShelfRowWrite[] = []): Promise<ShelfPutResult[]> {
    const results: ShelfPutResult[] = [];
    const now = Date.now();
    for (const item of items) {
      const corrupt = await this.gate('shelf.put', item.name);
      const folder = parentOf(item.name);
      const first = item.askFirst ? { firstInFolder: !this.perFolder.get(folder) } : {};
      const had = this.items.has(item.name);
      if (item.ifAbsent && had) {
        results.push({ written: false, ...first });
        continue;
      }
      if (!had) this.perFolder.set(folder, (this.perFolder.get(folder) ?? 0) + 1);
      // A rotten item fails its checksum: it reads as absent, as on a disk.
      this.items.set(item.name, { bytes: corrupt ? ROTTEN : Uint8Array.from(item.bytes), mtimeMs: now });
      results.push({ written: true, ...first });
    }
    await this.writeRows(rows);
    return results;
  }

  async get(name: string): Promise<ShelfItem | undefined> {
    const corrupt = await this.gate('shelf.get', name);
    const item = this.items.get(name);
    if (!item || corrupt || item.bytes === ROTTEN) return undefined;
    return { bytes: Uint8Array.from(item.bytes), mtimeMs: item.mtimeMs };
  }

  async list(folder: string): Promise<string[]> {
    await this.gate('shelf.list', folder);
    const prefix = `${folder}/`;
    return [...this.items.keys()].filter((n) => n.startsWith(prefix)).sort(byBytes).map((n) => n.slice(prefix.length));
  }

  async remove(names: readonly string[], rows: readonly ShelfRowWrite[] = []): Promise<void> {
    await this.writeRows(rows);
    for (const name of names) {
      await this.gate('shelf.remove', name);
      if (!this.items.delete(name)) continue;
      const folder = parentOf(name);
      const left = (this.perFolder.get(folder) ?? 1) - 1;
      if (left) this.perFolder.set(folder, left);
      else this.perFolder.delete(folder);
    }
  }

  async scan(after: string, limit: number): Promise<{ name: string; bytes: Uint8Array }[]> {
    await this.gate('shelf.scan', after);
    const names = [...this.items.keys()].filter((n) => after === '' || byBytes(n, after) > 0).sort(byBytes).slice(0, limit);
    return names.map((name) => {
      const bytes = this.items.get(name)!.bytes;
      return { name, bytes: bytes === ROTTEN ? new Uint8Array(0) : Uint8Array.from(bytes) };
    });
  }
}
