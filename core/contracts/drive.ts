import type { Logger } from './logger.js';

/** What `stat` reports about a stored file or folder. */
export interface DriveStat {
  readonly size: number;
  readonly mtimeMs: number;
  readonly isDirectory: boolean;
}

/** A file being written: appended to, then committed atomically or aborted. */
export interface DriveWriter {
  /**
   * Writes at `position` (or appends); resolves when the bytes are taken and
   * the caller may reuse its buffer — handed to the OS, or (a node on another
   * host) copied into a batch on its way, whose failure then fails a later
   * write or the commit. Positional writes may be in flight together; a
   * later write over the same bytes wins.
   */
  write(chunk: Uint8Array, position?: number): Promise<void>;
  /**
   * Flushes (unless sync is off) and renames into place — at the path given
   * at creation, or at `path` when the name is decided only once the bytes
   * are written (a new version's id is taken when its upload completes).
   * The file is then visible.
   */
  commit(path?: string): Promise<void>;
  /** Removes the temporary file; whatever was at the final path is untouched. */
  abort(): Promise<void>;
}

/** An open file for positional reads; stays readable if the path is deleted meanwhile. */
export interface DriveFile {
  readonly size: number;
  /**
   * Reads exactly `length` bytes at `offset`, or fewer at the end of the
   * file. With `into` (at least `length` bytes) they land there and the
   * result is a view of it: a reader that reuses its buffers spares a fresh
   * allocation, and the page faults of filling it, per read.
   */
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** An item on a node's shelf, and when it was put there. */
export interface ShelfItem {
  readonly bytes: Uint8Array;
  readonly mtimeMs: number;
}

/** One item to put on a shelf; `ifAbsent`: an item already under the name stays (and is reported not written). */
export interface ShelfPut {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly ifAbsent?: boolean;
  /**
   * Answer whether no other item shared the folder (ShelfPutResult.firstInFolder).
   * It costs a cursor step inside the commit, which holds the node's write lock:
   * only a writer that uses the answer asks (a client's new version; a heal or a
   * rebalance writing thousands of copies a commit does not).
   */
  readonly askFirst?: boolean;
}

/**
 * A write to one of the shelf's tables: rows with binary keys kept in key
 * order beside the items, for a plugin's structure derived from them (the
 * listing index), so that an item and its rows go in one commit.
 */
export interface ShelfRowWrite {
  readonly table: string;
  readonly key: Uint8Array;
  /** absent: the row is removed */
  readonly value?: Uint8Array;
  /** a stored row whose value starts with this byte stays as it is (a tombstone that a late write must not undo) */
  readonly unlessFirstByte?: number;
  /** with no value: the row goes only if it still fails its checksum (a sweep for rot must not take a row rewritten since it read it) */
  readonly onlyIfRotten?: boolean;
}

/** A stored row; `value` undefined: it failed its checksum (rot), and reads as nothing until rewritten or removed. */
export interface ShelfRow {
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
}

/** Which rows of a table a read walks: keys from `from` (inclusive) up to `to` (exclusive), at most `limit`. */
export interface ShelfRowRange {
  readonly from: Uint8Array;
  readonly to?: Uint8Array;
  readonly limit: number;
}

/**
 * Which rows a stream walks: keys from `from` (inclusive) up to `to`
 * (exclusive), in batches of `first` rows, each next one up to 4× the one
 * before, never more than `most` (a seek reads few rows, a scan many).
 */
export interface ShelfRowStreamRange {
  readonly from: Uint8Array;
  readonly to?: Uint8Array;
  readonly first: number;
  readonly most: number;
}

/** A batch of a row stream; `last`: nothing follows it in the range. */
export interface ShelfRowBatch {
  readonly rows: ShelfRow[];
  readonly last: boolean;
}

/** A table's rows as a stream of batches (see DriveShelf.streamRows). */
export interface ShelfRowStream {
  /** The next batch; after the last one, empty batches marked last. */
  next(): Promise<ShelfRowBatch>;
  /** Ends the stream before its last batch (the reader went elsewhere); harmless when it has ended. */
  close(): void;
}

export interface ShelfPutResult {
  readonly written: boolean;
  /** no other item's name shared this one's folder (all before its last '/') when it was put; answered when the put asked (askFirst) */
  readonly firstInFolder?: boolean;
}

/**
 * Small items (metadata records, inline objects' shards) kept together in
 * one store on the node instead of a file each, named like files
 * ('/'-separated). A put is durable when it resolves (unless sync is off)
 * and one durable commit covers every put that arrived meanwhile — group
 * commit — so many concurrent small writes cost one flush per node, not a
 * file, a folder and three flushes each. Every item carries a checksum: one
 * that fails it reads as absent, like a torn file.
 */
export interface DriveShelf {
  /** Puts items, and writes `rows`, in one commit; a result per item, in order. */
  put(items: readonly ShelfPut[], rows?: readonly ShelfRowWrite[]): Promise<ShelfPutResult[]>;
  get(name: string): Promise<ShelfItem | undefined>;
  /** The names under `folder/`, relative to it, in order; [] for none. */
  list(folder: string): Promise<string[]>;
  /** Takes items away, and writes `rows`, in one commit; a missing item is not an error. */
  remove(names: readonly string[], rows?: readonly ShelfRowWrite[]): Promise<void>;
  /** Up to `limit` items in name order after `after` ('' from the first): a walk over the shelf (a rotten item comes with no bytes). */
  scan(after: string, limit: number): Promise<{ name: string; bytes: Uint8Array }[]>;
  /** A table's rows in key order (none: []). */
  rows(table: string, range: ShelfRowRange): Promise<ShelfRow[]>;
  /**
   * A table's rows in key order, batch by batch: a drive a round trip away
   * sends the next batches before they are asked for (a bounded window), so
   * a long scan waits for the network once, not once per batch.
   */
  streamRows(table: string, range: ShelfRowStreamRange): ShelfRowStream;
}

/** A node's file system, as its last probe found it. */
export interface DriveSpace {
  readonly freeBytes: number;
  readonly totalBytes: number;
}

/**
 * One storage node — a folder on this host, or a node process on another
 * (plugins/drive-remote), same contract. Paths are relative, '/'-separated,
 * built by the engine from hashes; a drive refuses any path that could leave
 * its folder.
 */

export interface Drive {
  readonly index: number;
  /** where it lives, for messages */
  readonly location: string;
  /**
   * (a node on another host) the plugins' node-side structures, kept by the
   * node process beside its files and reached by calls (see NodeService);
   * absent: the core hosts them in this process (core/node-host.ts)
   */
  readonly services?: NodeServices;
  /** the node's small items, group-committed (see DriveShelf) */
  readonly shelf: DriveShelf;
  createWriter(path: string): Promise<DriveWriter>;
  /** Writes a small file atomically (temporary file, flush, rename), replacing any file there. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /**
   * Writes a new small file straight at `path` (fails if one exists), making
   * its folder when missing, and says whether it had to: a file in a new
   * folder has no siblings. Cheaper than writeFile (no temporary file and
   * rename), for files whose readers check a checksum, so that a torn file
   * left by a crash is recognised as such.
   */
  createFile(path: string, data: Uint8Array): Promise<{ newFolder: boolean }>;
  /** The whole file, or undefined when it does not exist. */
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** An open file, or undefined when it does not exist. */
  open(path: string): Promise<DriveFile | undefined>;
  /** Size and age of a file or folder, or undefined when it does not exist. */
  stat(path: string): Promise<DriveStat | undefined>;
  /** Entry names in a folder; [] when the folder does not exist. */
  list(dir: string): Promise<string[]>;
  /** Renames a file or folder within the node (atomic); a missing source is an error. */
  rename(from: string, to: string): Promise<void>;
  /** Deletes a file or a folder tree; a missing one is not an error. */
  remove(path: string): Promise<void>;
  /**
   * Checks the node as a whole: it is there, carries this node's identity
   * (a new, empty one is initialised), and takes a small write, flush and
   * read. Throws what it met: an error with `code` EROFS, ENOSPC, EIO,
   * ENOTDIR (not a folder), ERR_NODE_GONE (missing) or ERR_NODE_IDENTITY.
   * Resolves to the space its file system has left.
   */
  probe(): Promise<DriveSpace>;
  /**
   * Releases what this process holds open on the node (a local shelf's
   * map), when the process is done with it: a clean close lets the node's
   * next open skip checks a crash would need. Absent: nothing to release.
   */
  close?(): Promise<void>;
}

/**
 * A plugin's structure kept beside a node's files on the node's own host
 * (the listing index's keeper), answering calls made to it by name: in the
 * gateway's process for a folder on its host, in `kintsugi node` for a node
 * on another host. Arguments and answers are plain data (msgpack crosses
 * the wire with them).
 */
export interface NodeService {
  handle(op: string, args: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/** How a gateway calls the services of a node; `access`: whether the call changes the node. */
export interface NodeServices {
  call(service: string, op: string, args: unknown, access: 'read' | 'write'): Promise<unknown>;
}

/** Makes a plugin's service for one node, on the node's host: the node's drive and its cluster. */
export type NodeServiceFactory = (drive: Drive, clusterId: string, sync: boolean, log: Logger) => NodeService;
