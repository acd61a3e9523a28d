import type { Drive, DriveFile, DriveSpace, DriveShelf, DriveStat, DriveWriter, NodeServices } from './contracts/drive.js';
import { NodeUnavailableError } from './errors.js';
import type { NodeHealth } from './node-health.js';

/**
 * A drive behind its node's health: operations the node cannot take in its
 * state fail at once without touching it (nothing is written to a read-only,
 * full or refused node, nothing read from an offline one), and the faults
 * operations meet update the state.
 */
export class GuardedDrive implements Drive {

  get index(): number { return this.inner.index; }
  get location(): string { return this.inner.location; }
  /** Node-side services behind the same gate: a call that changes the node needs a writable one. */
  readonly services: NodeServices;
  readonly shelf: DriveShelf;

  /** `services`: the node's services (the drive's own, or hosted in this process) */
  constructor(private readonly inner: Drive, private readonly health: NodeHealth, services: NodeServices) {
    this.services = {
      call: (service, op, args, access) => this.run(access, () => services.call(service, op, args, access)),
    };
    const shelf = inner.shelf;
    this.shelf = {
      put: (items, rows) => this.run('write', () => shelf.put(items, rows)),
      get: (name) => this.run('read', () => shelf.get(name)),
      list: (folder) => this.run('read', () => shelf.list(folder)),
      remove: (names, rows) => this.run('write', () => shelf.remove(names, rows)),
      scan: (after, limit) => this.run('read', () => shelf.scan(after, limit)),
      rows: (table, range) => this.run('read', () => shelf.rows(table, range)),
      streamRows: (table, range) => {
        const stream = shelf.streamRows(table, range);
        return { next: () => this.run('read', () => stream.next()), close: () => stream.close() };
      },
    };
  }

  private async run<T>(kind: 'read' | 'write', op: () => Promise<T>): Promise<T> {
    const n = this.inner.index;
    const waiting = this.health.admit(n, kind);
    if (waiting && !(await waiting)) throw new NodeUnavailableError(n, this.health.state(n), this.health.why(n));
    const started = performance.now();
    try {
      const result = await op();
      this.health.measured(n, performance.now() - started, false);
      return result;
    } catch (err) {
      this.health.measured(n, performance.now() - started, true);
      this.health.report(n, err);
      throw err;
    }
  }

  async createWriter(path: string): Promise<DriveWriter> {
    const w = await this.run('write', () => this.inner.createWriter(path));
    return {
      write: (chunk, position) => this.run('write', () => w.write(chunk, position)),
      commit: (to) => this.run('write', () => w.commit(to)),
      abort: () => w.abort(),
    };
  }

  writeFile(path: string, data: Uint8Array): Promise<void> { return this.run('write', () => this.inner.writeFile(path, data)); }
  createFile(path: string, data: Uint8Array): Promise<{ newFolder: boolean }> { return this.run('write', () => this.inner.createFile(path, data)); }
  rename(from: string, to: string): Promise<void> { return this.run('write', () => this.inner.rename(from, to)); }
  remove(path: string): Promise<void> { return this.run('write', () => this.inner.remove(path)); }
  readFile(path: string): Promise<Uint8Array | undefined> { return this.run('read', () => this.inner.readFile(path)); }
  open(path: string): Promise<DriveFile | undefined> { return this.run('read', () => this.inner.open(path)); }
  stat(path: string): Promise<DriveStat | undefined> { return this.run('read', () => this.inner.stat(path)); }
  list(dir: string): Promise<string[]> { return this.run('read', () => this.inner.list(dir)); }
  async probe(): Promise<DriveSpace> {
    const n = this.inner.index;
    await this.health.probe(n);
    if (!this.health.canWrite(n)) throw new NodeUnavailableError(n, this.health.state(n), this.health.why(n));
    return this.health.status()[n]!.space ?? { freeBytes: 0, totalBytes: 0 };
  }
}

