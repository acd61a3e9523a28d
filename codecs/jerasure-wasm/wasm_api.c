/*
 * Exports for the WASM build. Memory for shards is handed out by ks_alloc
 * with 64-byte alignment: gf-complete's SIMD paths need buffers aligned
 * alike modulo 16, and emscripten's malloc only guarantees 8.
 */
#include <stdlib.h>

#include "ks_codec.h"
#include "ks_crc.h"

void *ks_alloc(int bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, (size_t)bytes) != 0) return NULL;
  return p;
}

void ks_free(void *p) { free(p); }

/* Returns a codec handle, or a negative ks_status. */
long ks_new(int k, int m, int w, int technique, int packet_size) {
  ks_codec *c = NULL;
  int rc = ks_codec_new(k, m, w, technique, packet_size, &c);
  return rc == KS_OK ? (long)c : rc;
}

void ks_delete(long handle) { ks_codec_free((ks_codec *)handle); }

int ks_alignment(long handle) { return ks_codec_alignment((const ks_codec *)handle); }

/* ptrs holds k data then m parity pointers. */
int ks_encode_ptrs(long handle, char **ptrs, int size) {
  const ks_codec *c = (const ks_codec *)handle;
  return ks_encode(c, ptrs, ptrs + ks_codec_k(c), size);
}

int ks_decode_ptrs(long handle, char **ptrs, const int *erased, int n_erased, int size) {
  return ks_decode((const ks_codec *)handle, ptrs, erased, n_erased, size);
}

/*
 * crc[0..1] holds a CRC (ks_crc.h) as two little-endian 32-bit words (a
 * 64-bit argument would need BigInt integration in the JS glue this build
 * does without); it is replaced by the CRC with `len` bytes at `data` added.
 */
void ks_crc_update_at(int kind, uint32_t *crc, const uint8_t *data, int len) {
  uint64_t value = ((uint64_t)crc[1] << 32) | crc[0];
  value = ks_crc_update(kind, value, data, (size_t)len);
  crc[0] = (uint32_t)value;
  crc[1] = (uint32_t)(value >> 32);
}
