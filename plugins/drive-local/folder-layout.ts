/** A node folder's own files: its identity, its shelf, what was set aside. */
export const IDENTITY_DIR = '.kintsugi';

/** The identity every node folder carries (see NodeIdentity). */
export const IDENTITY_FILE = `${IDENTITY_DIR}/format.json`;

/** A node's shelf (DriveShelf): one LMDB file, with its lock file beside it. */
export const SHELF_FILE = `${IDENTITY_DIR}/shelf.lmdb`;

/**
 * What the shelf file was (inode, size, change times) when it was last found
 * sound or closed cleanly: a file that still matches has not been written
 * since, and is opened without walking it again.
 */
export const SHELF_STAMP_FILE = `${IDENTITY_DIR}/shelf.checked`;

/**
 * Says the shelf file was written by an LMDB with the classic free list
 * (see shelf-format.ts); a shelf file without it is rewritten once before
 * it is opened for writing.
 */
export const SHELF_FORMAT_FILE = `${IDENTITY_DIR}/shelf.format`;

/** Which process rewrites the shelf file now (pid and host): others wait instead of rewriting it too. */
export const SHELF_REWRITING_FILE = `${IDENTITY_DIR}/shelf.rewriting`;

/** Which process walks the shelf file now (pid and the stamp it walks): others wait for its verdict instead of walking it too. */
export const SHELF_CHECKING_FILE = `${IDENTITY_DIR}/shelf.checking`;

/** Where a node's damaged files are set aside (never deleted), a folder each with why.txt. */
export const QUARANTINE_DIR = `${IDENTITY_DIR}/quarantine`;
