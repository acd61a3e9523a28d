/** What `stat` reports about a stored file. */
export interface DriveStat {
  readonly size: number;
  readonly mtimeMs: number;
}

/** A file being written: appended to, then committed atomically or aborted. */
export interface DriveWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** makes the file visible under its final name (after syncing, unless sync is off) */
  commit(): Promise<void>;
  /** removes the temporary file; the previous version, if any, is untouched */
  abort(): Promise<void>;
}

/** One storage node: a local folder now, a remote host later, same contract. */
export interface Drive {
  readonly index: number;
  readonly id: string;
  /** Starts an atomic write of `path` (relative to the node). */
  createWriter(path: string): Promise<DriveWriter>;
  /** Writes a whole small file atomically. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** Reads `length` bytes at `offset`, or the whole file. */
  read(path: string, offset?: number, length?: number): Promise<Uint8Array>;
  stat(path: string): Promise<DriveStat | undefined>;
  delete(path: string): Promise<void>;
  /** Lists paths below `prefix`, in no particular order. */
  walk(prefix: string): AsyncIterable<string>;
}
