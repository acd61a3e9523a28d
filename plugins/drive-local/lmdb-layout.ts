/**
 * Where LMDB (64-bit, as lmdb-js 2.9 and 3 build it) keeps what the file
 * checks read straight from disk: a meta page's fields, counted from its
 * magic number (MDB_meta), and a database's fields within it (MDB_db).
 */
export const LMDB_MAGIC = Buffer.from([0xde, 0xc0, 0xef, 0xbe]);
export const META_VERSION_AT = 4;
/** The two databases: the free-page one first (its first field is the page size), then the main one. */
export const META_DBS_AT = 24;
export const DB_BYTES = 48;
export const DB_DEPTH_AT = 6;
export const DB_ROOT_AT = 40;
export const META_LAST_PAGE_AT = 120;
export const META_TXNID_AT = 128;
/** The meta fields read, from the magic number on. */
export const META_BYTES = 136;
/** An empty database's root. */
export const NO_PAGE = 0xffff_ffff_ffff_ffffn;
