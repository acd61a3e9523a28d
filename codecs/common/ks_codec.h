/*
 * Kintsugi's thin C layer over jerasure. The native addon and the WASM build
 * both compile this file, so the two can only differ in the library underneath
 * (Debian's libJerasure.so vs. the same sources built with emcc), never in how
 * jerasure is driven.
 */
#ifndef KS_CODEC_H
#define KS_CODEC_H

#ifdef __cplusplus
extern "C" {
#endif

enum ks_technique {
  KS_CAUCHY_GOOD = 0,
  KS_CAUCHY_ORIG = 1,
  KS_REED_SOL_VAN = 2,
};

/* Error codes shared with the TypeScript side (codecs/common/errors.ts). */
enum ks_status {
  KS_OK = 0,
  KS_EPARAMS = -1,     /* k, m, w or packet size out of range */
  KS_ENOMEM = -2,
  KS_ESIZE = -3,       /* shard size not a positive multiple of the alignment */
  KS_EERASURES = -4,   /* more erasures than m, or an index out of range */
  KS_EDECODE = -5,     /* jerasure could not build a decoding matrix */
};

typedef struct ks_codec ks_codec;

/* Builds matrices and schedules once; encode/decode calls only read them, so
 * one ks_codec may be used from several threads at once. */
int ks_codec_new(int k, int m, int w, int technique, int packet_size, ks_codec **out);
void ks_codec_free(ks_codec *c);

int ks_codec_k(const ks_codec *c);

/* Shard sizes must be a positive multiple of this. */
int ks_codec_alignment(const ks_codec *c);

/* data[k] are read, parity[m] are overwritten. */
int ks_encode(const ks_codec *c, char **data, char **parity, int size);

/* shards[k+m] (data first, then parity); erased[] lists the indexes to rebuild,
 * n_erased of them. The others must hold intact contents. */
int ks_decode(const ks_codec *c, char **shards, const int *erased, int n_erased, int size);

#ifdef __cplusplus
}
#endif
#endif
