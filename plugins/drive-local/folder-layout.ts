/** A node folder's own files: its identity, its shelf, what was set aside. */
export const IDENTITY_DIR = '.kintsugi';

/** The identity every node folder carries (see NodeIdentity). */
export const IDENTITY_FILE = `${IDENTITY_DIR}/format.json`;

/** A node's shelf (DriveShelf): one LMDB file, with its lock file beside it. */
export const SHELF_FILE = `${IDENTITY_DIR}/shelf.lmdb`;

/** Where a node's damaged files are set aside (never deleted), a folder each with why.txt. */
export const QUARANTINE_DIR = `${IDENTITY_DIR}/quarantine`;
