/*
 * The CRCs S3 checksums use: CRC-32 (gzip), CRC-32C (Castagnoli) and
 * CRC-64/NVME, all reflected, initial value and final XOR all ones. One
 * implementation for the native addon and the WASM build: carry-less
 * multiplication folds 128 bytes at a time where the CPU has it (x86-64 with
 * PCLMULQDQ), tables eight bytes at a time everywhere else.
 */
#ifndef KS_CRC_H
#define KS_CRC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ks_crc_kind { KS_CRC32 = 0, KS_CRC32C = 1, KS_CRC64NVME = 2 };

/*
 * The CRC of what `crc` covered followed by `len` bytes at `data`; `crc`
 * is a finished value as a client sends it (0 before any byte). Returns
 * 0 for an unknown kind.
 */
uint64_t ks_crc_update(int kind, uint64_t crc, const uint8_t *data, size_t len);

/* 1 when this CPU folds with carry-less multiplication, 0 when tables do the work. */
int ks_crc_folds(void);

/* The same with the table path only (benchmarks compare the two). */
uint64_t ks_crc_update_tables(int kind, uint64_t crc, const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif
