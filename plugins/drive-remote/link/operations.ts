import type { DriveSpace, DriveStat, ShelfItem, ShelfPut, ShelfPutResult, ShelfRow, ShelfRowRange, ShelfRowStreamRange, ShelfRowWrite } from '../../../core/contracts/drive.js';
import type { NodeIdentity } from '../../../core/node-identity.js';

export interface OperationSpec {
  /** `bulk`: shard bytes go this way; everything else takes the small lane, so it never queues behind them */
  readonly lane: 'small' | 'bulk';
  /** changes the node: carries an operation id, and a retry is answered with the first answer */
  readonly mutates: boolean;
  /** the answer is bytes as they are (no msgpack around them) */
  readonly raw?: boolean;
  /** answered by a stream of batches the node sends ahead within the caller's credit (see ClientConnection.openStream) */
  readonly stream?: true;
}

/** An operation's spec, carrying its arguments' and answer's types (for the compiler only: nothing holds them at run time). */
interface Typed<A, R> extends OperationSpec {
  readonly types?: { args: A; answer: R };
}

const op = <A, R>(spec: OperationSpec): Typed<A, R> => spec;
const streamOp = <A, R>(spec: OperationSpec & { stream: true }): Typed<A, R> & { readonly stream: true } => spec;
type None = Record<string, never>;
type ServiceCall = { name: string; op: string; args: unknown };
/** A shelf row on the wire (msgpack has no undefined: a rotten row's value is null). */
type WireRow = { key: Uint8Array; value: Uint8Array | null };
export const toWireRow = (r: ShelfRow): WireRow => ({ key: r.key, value: r.value ?? null });
export const fromWireRow = (r: WireRow): ShelfRow => ({ key: r.key, value: r.value ?? undefined });

/**
 * Every call a gateway makes to a `kintsugi node`, in one table that both
 * sides import: the client is typed by it and the node's handlers must
 * implement exactly it (see NodeHandlers), so the compiler checks one
 * against the other.
 */
export const OPERATIONS = {
  /** what the folder carries; asked before the gateway knows its cluster */
  identity: op<None, NodeIdentity | 'missing'>({ lane: 'small', mutates: false }),
  /** the drive's probe: identity checked afresh, space reported */
  probe: op<None, DriveSpace>({ lane: 'small', mutates: false }),
  'file.read': op<{ path: string }, Buffer | null>({ lane: 'small', mutates: false }),
  'file.replace': op<{ path: string; data: Uint8Array }, null>({ lane: 'small', mutates: true }),
  'file.create': op<{ path: string; data: Uint8Array }, { newFolder: boolean }>({ lane: 'small', mutates: true }),
  'file.remove': op<{ path: string }, null>({ lane: 'small', mutates: true }),
  'file.stat': op<{ path: string }, DriveStat | null>({ lane: 'small', mutates: false }),
  'file.list': op<{ path: string }, string[]>({ lane: 'small', mutates: false }),
  'file.rename': op<{ from: string; to: string }, null>({ lane: 'small', mutates: true }),
  'file.open': op<{ path: string }, { handle: number; size: number } | null>({ lane: 'small', mutates: false }),
  'handle.read': op<{ handle: number; offset: number; length: number }, Buffer>({ lane: 'bulk', mutates: false, raw: true }),
  'handle.close': op<{ handle: number }, null>({ lane: 'small', mutates: false }),
  /** opens a writer on this call's stream: its bytes follow as data frames on the same stream */
  'writer.open': op<{ path: string }, null>({ lane: 'bulk', mutates: false }),
  /** commits the writer opened on stream `writer` once `bytes` bytes have arrived for it */
  'writer.commit': op<{ writer: number; bytes: number; path: string | null }, null>({ lane: 'bulk', mutates: true }),
  'writer.abort': op<{ writer: number }, null>({ lane: 'bulk', mutates: true }),
  'shelf.put': op<{ items: readonly ShelfPut[]; rows: readonly ShelfRowWrite[] }, ShelfPutResult[]>({ lane: 'small', mutates: true }),
  'shelf.get': op<{ name: string }, ShelfItem | null>({ lane: 'small', mutates: false }),
  'shelf.list': op<{ folder: string }, string[]>({ lane: 'small', mutates: false }),
  'shelf.remove': op<{ names: readonly string[]; rows: readonly ShelfRowWrite[] }, null>({ lane: 'small', mutates: true }),
  'shelf.scan': op<{ after: string; limit: number }, { name: string; bytes: Uint8Array }[]>({ lane: 'small', mutates: false }),
  /** a table's rows (a rotten row's value is null) */
  'shelf.rows': op<{ table: string; range: ShelfRowRange }, WireRow[]>({ lane: 'small', mutates: false }),
  /** a table's rows, streamed: each answer a batch */
  'shelf.stream': streamOp<{ table: string; range: ShelfRowStreamRange }, { rows: WireRow[]; last: boolean }>({ lane: 'small', mutates: false, stream: true }),
  /** a plugin's node-side service (the listing index's keeper), by name: see NodeService */
  'service.read': op<ServiceCall, unknown>({ lane: 'small', mutates: false }),
  'service.write': op<ServiceCall, unknown>({ lane: 'small', mutates: true }),
};

export type OperationName = keyof typeof OPERATIONS;
type TypesOf<K extends OperationName> = NonNullable<(typeof OPERATIONS)[K]['types']>;
export type Args<K extends OperationName> = TypesOf<K>['args'];
export type Answer<K extends OperationName> = TypesOf<K>['answer'];

/** The operations answered by a stream of batches. */
export type StreamOperation = { [K in OperationName]: (typeof OPERATIONS)[K] extends { stream: true } ? K : never }[OperationName];
/** Batches a stream operation's caller takes ahead of the ones it has read, at first: its credit. */
export const STREAM_WINDOW = 2;

export function isOperation(name: unknown): name is OperationName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(OPERATIONS, name);
}

/** Bytes a writer may send ahead of the node's credit. */
export const WRITER_WINDOW = 2 << 20;
/** The most bytes a writer's data frame carries: small enough that calls on other streams wait little behind one. */
export const DATA_PIECE = 256 << 10;
