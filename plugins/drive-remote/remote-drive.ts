import type { Drive, DriveFile, DriveSpace, DriveShelf, DriveStat, DriveWriter, NodeServices } from '../../core/contracts/drive.js';
import type { NodeIdentity } from '../../core/node-identity.js';
import { placed, placedAll } from '../../core/read-into.js';
import { LinkClient } from './link/link-client.js';
import { LinkWriter } from './link/link-writer.js';
import { fromWireRow } from './link/operations.js';
import { remoteRowStream } from './remote-row-stream.js';

/** Reads larger than this go as several calls: no answer frame grows past a few MiB. */
const READ_PIECE = 4 << 20;

/** host and port of a node's URL (`http://host:port`, as NODES names it: the port also answers `GET /health`) */
export function nodeAddress(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port || 80) };
}

/**
 * A storage node served by `kintsugi node` on another host, behind the same
 * Drive contract as a local folder, over the node link (link/): one
 * authenticated, sealed, multiplexed connection per lane. A node whose
 * folder carries another identity refuses every call (ERR_NODE_IDENTITY →
 * `refused`); a node that cannot be reached or stops answering is
 * ERR_NODE_GONE (`offline`), and the core's health gate fails further calls
 * fast until a probe succeeds.
 */
export class RemoteDrive implements Drive {
  private readonly link: LinkClient;

  constructor(readonly index: number, private readonly url: string, secret: string, clusterId: string) {
    this.link = new LinkClient({ ...nodeAddress(url), secret, clusterId, node: index }, `node ${index} at ${url}`);
  }

  get location(): string {
    return this.url;
  }

  /** The node keeps the plugins' node-side structures (the listing index) itself: calls go to it. */
  readonly services: NodeServices = {
    call: (name, op, args, access) => this.link.call(access === 'write' ? 'service.write' : 'service.read', { name, op, args }),
  };

  readonly shelf: DriveShelf = {
    put: (items, rows = []) => this.link.call('shelf.put', { items, rows }),
    get: async (name) => (await this.link.call('shelf.get', { name })) ?? undefined,
    list: (folder) => this.link.call('shelf.list', { folder }),
    remove: async (names, rows = []) => { await this.link.call('shelf.remove', { names, rows }); },
    scan: (after, limit) => this.link.call('shelf.scan', { after, limit }),
    rows: async (table, range) => (await this.link.call('shelf.rows', { table, range })).map(fromWireRow),
    streamRows: (table, range) => remoteRowStream(this.link, table, range),
  };

  createWriter(path: string): Promise<DriveWriter> {
    return LinkWriter.open(this.link, path);
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    await this.link.call('file.replace', { path, data });
  }

  createFile(path: string, data: Uint8Array): Promise<{ newFolder: boolean }> {
    return this.link.call('file.create', { path, data });
  }

  async readFile(path: string): Promise<Uint8Array | undefined> {
    return (await this.link.call('file.read', { path })) ?? undefined;
  }

  async open(path: string): Promise<DriveFile | undefined> {
    const opened = await this.link.call('file.open', { path });
    if (!opened) return undefined;
    const { handle, size } = opened;
    const piece = (offset: number, length: number) => this.link.call('handle.read', { handle, offset, length });
    return {
      size,
      read: async (offset, length, into) => {
        if (length <= READ_PIECE) return placed(await piece(offset, length), into);
        const parts: Promise<Buffer>[] = [];
        for (let at = 0; at < length; at += READ_PIECE) parts.push(piece(offset + at, Math.min(READ_PIECE, length - at)));
        const read = await Promise.all(parts);
        return into ? placedAll(read, into) : Buffer.concat(read);
      },
      close: async () => { await this.link.call('handle.close', { handle }); },
    };
  }

  async stat(path: string): Promise<DriveStat | undefined> {
    return (await this.link.call('file.stat', { path })) ?? undefined;
  }

  list(dir: string): Promise<string[]> {
    return this.link.call('file.list', { path: dir });
  }

  async rename(from: string, to: string): Promise<void> {
    await this.link.call('file.rename', { from, to });
  }

  async remove(path: string): Promise<void> {
    await this.link.call('file.remove', { path });
  }

  probe(): Promise<DriveSpace> {
    return this.link.call('probe', {});
  }

  /** The identity the node's folder carries (asked before the cluster is known: nothing is expected of it). */
  identity(): Promise<NodeIdentity | 'missing'> {
    return this.link.call('identity', {});
  }

  async close(): Promise<void> {
    this.link.close();
  }
}
