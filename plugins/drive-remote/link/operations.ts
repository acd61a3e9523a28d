import type { DriveSpace, DriveStat, ShelfItem, ShelfPut, ShelfPutResult } from '../../../core/contracts/drive.js';
import type { NodeIdentity } from '../../../core/node-identity.js';

/**
 * Every call a gateway makes to a `kintsugi node`, in one table that both
 * sides import: the client is typed by it and the node's handlers must
 * implement exactly it (see NodeHandlers), so the compiler checks one
 * against the other.
 */
export interface Operations {
  /** what the folder carries; asked before the gateway knows its cluster */
  identity: { args: Record<string, never>; answer: NodeIdentity | 'missing' };
  /** the drive's probe: identity checked afresh, space reported */
  probe: { args: Record<string, never>; answer: DriveSpace };
  'file.read': { args: { path: string }; answer: Buffer | null };
  'file.replace': { args: { path: string; data: Uint8Array }; answer: null };
  'file.create': { args: { path: string; data: Uint8Array }; answer: { newFolder: boolean } };
  'file.remove': { args: { path: string }; answer: null };
  'file.stat': { args: { path: string }; answer: DriveStat | null };
  'file.list': { args: { path: string }; answer: string[] };
  'file.rename': { args: { from: string; to: string }; answer: null };
  'file.open': { args: { path: string }; answer: { handle: number; size: number } | null };
  'handle.read': { args: { handle: number; offset: number; length: number }; answer: Buffer };
  'handle.close': { args: { handle: number }; answer: null };
  /** opens a writer on this call's stream: its bytes follow as data frames on the same stream */
  'writer.open': { args: { path: string }; answer: null };
  /** commits the writer opened on stream `writer` once `bytes` bytes have arrived for it */
  'writer.commit': { args: { writer: number; bytes: number; path: string | null }; answer: null };
  'writer.abort': { args: { writer: number }; answer: null };
  'shelf.put': { args: { items: readonly ShelfPut[] }; answer: ShelfPutResult[] };
  'shelf.get': { args: { name: string }; answer: ShelfItem | null };
  'shelf.list': { args: { folder: string }; answer: string[] };
  'shelf.remove': { args: { names: readonly string[] }; answer: null };
  'shelf.scan': { args: { after: string; limit: number }; answer: { name: string; bytes: Uint8Array }[] };
  /** a plugin's node-side structure (the listing index), by name; bodies are the plugin's own encoding */
  'service.read': { args: { name: string; op: string; body: Uint8Array }; answer: Buffer };
  'service.write': { args: { name: string; op: string; body: Uint8Array }; answer: Buffer };
}

export type OperationName = keyof Operations;
export type Args<K extends OperationName> = Operations[K]['args'];
export type Answer<K extends OperationName> = Operations[K]['answer'];

export interface OperationSpec {
  /** `bulk`: shard bytes go this way; everything else takes the small lane, so it never queues behind them */
  readonly lane: 'small' | 'bulk';
  /** changes the node: carries an operation id, and a retry is answered with the first answer */
  readonly mutates: boolean;
  /** the answer is bytes as they are (no msgpack around them) */
  readonly raw?: boolean;
}

export const OPERATIONS: { readonly [K in OperationName]: OperationSpec } = {
  identity: { lane: 'small', mutates: false },
  probe: { lane: 'small', mutates: false },
  'file.read': { lane: 'small', mutates: false },
  'file.replace': { lane: 'small', mutates: true },
  'file.create': { lane: 'small', mutates: true },
  'file.remove': { lane: 'small', mutates: true },
  'file.stat': { lane: 'small', mutates: false },
  'file.list': { lane: 'small', mutates: false },
  'file.rename': { lane: 'small', mutates: true },
  'file.open': { lane: 'small', mutates: false },
  'handle.read': { lane: 'bulk', mutates: false, raw: true },
  'handle.close': { lane: 'small', mutates: false },
  'writer.open': { lane: 'bulk', mutates: false },
  'writer.commit': { lane: 'bulk', mutates: true },
  'writer.abort': { lane: 'bulk', mutates: true },
  'shelf.put': { lane: 'small', mutates: true },
  'shelf.get': { lane: 'small', mutates: false },
  'shelf.list': { lane: 'small', mutates: false },
  'shelf.remove': { lane: 'small', mutates: true },
  'shelf.scan': { lane: 'small', mutates: false },
  'service.read': { lane: 'small', mutates: false, raw: true },
  'service.write': { lane: 'small', mutates: true, raw: true },
};

export function isOperation(name: unknown): name is OperationName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(OPERATIONS, name);
}

/** Bytes a writer may send ahead of the node's credit. */
export const WRITER_WINDOW = 2 << 20;
/** The most bytes a writer's data frame carries: small enough that calls on other streams wait little behind one. */
export const DATA_PIECE = 256 << 10;
