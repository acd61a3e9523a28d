#include "ks_codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jerasure.h>
#include <cauchy.h>
#include <galois.h>
#include <reed_sol.h>

struct ks_codec {
  int k, m, w, technique, packet_size;
  int *matrix;     /* m x k coding matrix over GF(2^w) */
  int *bitmatrix;  /* (m*w) x (k*w), Cauchy techniques only */
  int **schedule;  /* XOR schedule derived from bitmatrix, Cauchy only */
};

static int is_cauchy(int technique) {
  return technique == KS_CAUCHY_GOOD || technique == KS_CAUCHY_ORIG;
}

/* jerasure builds the Galois fields behind its region operations lazily,
 * on first use, with no lock: XOR goes through a GF(2^32) table that
 * nothing else touches before the first encode. Two encodes racing through
 * that first use on the thread pool let one call through the half-built
 * table's null function pointer (a SIGSEGV seen in CI). Using both region
 * operations once here, on the thread that makes the codec and before any
 * work is queued, builds the tables while nothing else runs. */
static void ks_build_fields(void) {
  /* long-word aligned, as jerasure's region operations want */
  long src[2] = {0, 0}, dst[2] = {0, 0};
  galois_region_xor((char *)src, (char *)dst, sizeof(src));
  galois_w08_region_multiply((char *)src, 1, sizeof(src), (char *)dst, 1);
}

int ks_codec_new(int k, int m, int w, int technique, int packet_size, ks_codec **out) {
  *out = NULL;
  ks_build_fields();
  /* GF(2^8) has 256 elements: a Cauchy matrix needs k+m distinct ones and
   * Vandermonde the same. Only w=8 is offered; it is byte-oriented and fastest. */
  if (w != 8 || k < 1 || m < 1 || k + m > 256) return KS_EPARAMS;
  if (technique < KS_CAUCHY_GOOD || technique > KS_REED_SOL_VAN) return KS_EPARAMS;
  /* jerasure XORs packets a machine word at a time. The rule is fixed at 8
   * (64-bit long) rather than sizeof(long), which is 4 in wasm32, so that
   * both builds accept exactly the same parameters. */
  if (is_cauchy(technique) && (packet_size <= 0 || packet_size % 8 != 0))
    return KS_EPARAMS;

  ks_codec *c = calloc(1, sizeof(*c));
  if (!c) return KS_ENOMEM;
  c->k = k; c->m = m; c->w = w; c->technique = technique; c->packet_size = packet_size;

  switch (technique) {
    case KS_CAUCHY_GOOD: c->matrix = cauchy_good_general_coding_matrix(k, m, w); break;
    case KS_CAUCHY_ORIG: c->matrix = cauchy_original_coding_matrix(k, m, w); break;
    default: c->matrix = reed_sol_vandermonde_coding_matrix(k, m, w); break;
  }
  if (!c->matrix) { ks_codec_free(c); return KS_ENOMEM; }

  if (is_cauchy(technique)) {
    c->bitmatrix = jerasure_matrix_to_bitmatrix(k, m, w, c->matrix);
    if (!c->bitmatrix) { ks_codec_free(c); return KS_ENOMEM; }
    c->schedule = jerasure_smart_bitmatrix_to_schedule(k, m, w, c->bitmatrix);
    if (!c->schedule) { ks_codec_free(c); return KS_ENOMEM; }
  }
  *out = c;
  return KS_OK;
}

void ks_codec_free(ks_codec *c) {
  if (!c) return;
  if (c->schedule) jerasure_free_schedule(c->schedule);
  free(c->bitmatrix);
  free(c->matrix);
  free(c);
}

int ks_codec_k(const ks_codec *c) { return c->k; }

int ks_codec_alignment(const ks_codec *c) {
  /* Cauchy codes work on w packets at a time; Vandermonde regions are
   * multiplied with 16-byte SIMD loads. */
  return is_cauchy(c->technique) ? c->w * c->packet_size : 16;
}

/* gf-complete's SIMD region multiply (used by reed_sol_van) asserts, and so
 * aborts the process, unless source and destination share their address
 * modulo 16. Emscripten's malloc only promises 8, which is why an early WASM
 * build aborted on reed_sol_van; Node Buffer slices promise even less. */
static int aligned16(char **ptrs, int n) {
  for (int i = 0; i < n; i++)
    if (((uintptr_t)ptrs[i]) & 15) return 0;
  return 1;
}

/* Runs a Vandermonde encode (decode=0) or decode over 16-byte aligned copies
 * of shards[k+m], then copies the written shards back. Only callers that hand
 * in misaligned buffers pay for it; the codec plugin allocates aligned ones. */
static int bounce_matrix_op(const ks_codec *c, char **shards, int *erasures, int decode, int size) {
  int n = c->k + c->m;
  char *tmp[512];
  int rc = KS_OK;
  for (int i = 0; i < n; i++) tmp[i] = NULL;
  for (int i = 0; i < n; i++) {
    if (posix_memalign((void **)&tmp[i], 64, size) != 0) { tmp[i] = NULL; rc = KS_ENOMEM; break; }
    memcpy(tmp[i], shards[i], size);
  }
  if (rc == KS_OK) {
    if (decode) {
      if (jerasure_matrix_decode(c->k, c->m, c->w, c->matrix, 1, erasures, tmp, tmp + c->k, size) != 0)
        rc = KS_EDECODE;
    } else {
      jerasure_matrix_encode(c->k, c->m, c->w, c->matrix, tmp, tmp + c->k, size);
    }
  }
  if (rc == KS_OK) {
    if (decode) {
      for (int i = 0; erasures[i] >= 0; i++) memcpy(shards[erasures[i]], tmp[erasures[i]], size);
    } else {
      for (int i = c->k; i < n; i++) memcpy(shards[i], tmp[i], size);
    }
  }
  for (int i = 0; i < n; i++) free(tmp[i]);
  return rc;
}

static int check_size(const ks_codec *c, int size) {
  int a = ks_codec_alignment(c);
  return size > 0 && size % a == 0;
}

int ks_encode(const ks_codec *c, char **data, char **parity, int size) {
  if (!check_size(c, size)) return KS_ESIZE;
  if (is_cauchy(c->technique)) {
    jerasure_schedule_encode(c->k, c->m, c->w, c->schedule, data, parity, size, c->packet_size);
  } else {
    if (aligned16(data, c->k) && aligned16(parity, c->m)) {
      jerasure_matrix_encode(c->k, c->m, c->w, c->matrix, data, parity, size);
    } else {
      char *all[512];
      memcpy(all, data, c->k * sizeof(char *));
      memcpy(all + c->k, parity, c->m * sizeof(char *));
      return bounce_matrix_op(c, all, NULL, 0, size);
    }
  }
  return KS_OK;
}

int ks_decode(const ks_codec *c, char **shards, const int *erased, int n_erased, int size) {
  int n = c->k + c->m;
  if (!check_size(c, size)) return KS_ESIZE;
  if (n_erased < 0 || n_erased > c->m) return KS_EERASURES;
  if (n_erased == 0) return KS_OK;

  /* jerasure wants the list terminated by -1 and without duplicates. */
  int erasures[257];
  char seen[256];
  memset(seen, 0, sizeof(seen));
  for (int i = 0; i < n_erased; i++) {
    int e = erased[i];
    if (e < 0 || e >= n || seen[e]) return KS_EERASURES;
    seen[e] = 1;
    erasures[i] = e;
  }
  erasures[n_erased] = -1;

  char **data = shards;
  char **parity = shards + c->k;
  int rc;
  if (is_cauchy(c->technique)) {
    rc = jerasure_schedule_decode_lazy(c->k, c->m, c->w, c->bitmatrix, erasures,
                                       data, parity, size, c->packet_size, 1);
  } else {
    if (!aligned16(shards, n)) return bounce_matrix_op(c, shards, erasures, 1, size);
    /* The first row of jerasure's Vandermonde coding matrix is all ones. */
    rc = jerasure_matrix_decode(c->k, c->m, c->w, c->matrix, 1, erasures, data, parity, size);
  }
  return rc == 0 ? KS_OK : KS_EDECODE;
}
