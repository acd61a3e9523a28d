/*
 * Reflected CRCs by folding (see ks_crc.h).
 *
 * Folding: a message's first 128 bits, read little-endian into a 128-bit
 * lane pair, are the polynomial L(x)*x^64 + H(x) where L holds bytes 0-7
 * (each byte's lowest bit the highest power: the reflected order). Moving
 * that state past the next D bits of the message is multiplying it by x^D,
 * and modulo P that is L*(x^(D+64) mod P) + H*(x^D mod P): two carry-less
 * products of 64 by 64 bits, which stay within 128 bits. A carry-less
 * product of two reflected values comes out shifted by one (it is x*A*B),
 * so the constants are x^(D+63) and x^(D-1). Eight states advance side by
 * side through 128-byte strides (D = 1024) to hide the multiplier's
 * latency, then fold into one (D = 128). The state stays congruent to the
 * message read so far, so its 16 bytes followed by the rest of the message
 * have the message's CRC: the tables finish it.
 *
 * The constants and tables are computed from the polynomials at first use,
 * not copied from anywhere: only the polynomials themselves (published with
 * each CRC) are written down here.
 */
#include "ks_crc.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define KS_CRC_X86 1
#endif

struct crc_def {
  int width;        /* 32 or 64 bits */
  uint64_t normal;  /* the polynomial without its x^width term, highest power first */
  uint64_t mask;
  uint64_t table[8][256];
  /* folding constants as reflected 64-bit lanes: x^(D+63) and x^(D-1) mod P */
  uint64_t fold1_low, fold1_high, fold8_low, fold8_high;
};

static struct crc_def defs[3] = {
  {32, 0x04C11DB7u, 0xffffffffu, {{0}}, 0, 0, 0, 0},          /* CRC-32 (ISO-HDLC, gzip) */
  {32, 0x1EDC6F41u, 0xffffffffu, {{0}}, 0, 0, 0, 0},          /* CRC-32C (Castagnoli) */
  {64, 0xAD93D23594C93659ull, ~0ull, {{0}}, 0, 0, 0, 0},      /* CRC-64/NVME */
};
static volatile int ready;

static uint64_t reflect(uint64_t v, int bits) {
  uint64_t r = 0;
  for (int i = 0; i < bits; i++)
    if (v >> i & 1) r |= 1ull << (bits - 1 - i);
  return r;
}

/* x^e mod P, as a reflected 64-bit lane (bit i holds the coefficient of x^(63-i)). */
static uint64_t power_lane(const struct crc_def *d, int e) {
  uint64_t r = 1, top = 1ull << (d->width - 1), lane = 0;
  for (int i = 0; i < e; i++) {
    int carry = (r & top) != 0;
    r = (r << 1) & d->mask;
    if (carry) r ^= d->normal;
  }
  for (int j = 0; j < d->width; j++)
    if (r >> j & 1) lane |= 1ull << (63 - j);
  return lane;
}

static void init_def(struct crc_def *d) {
  uint64_t poly = reflect(d->normal, d->width);
  for (int b = 0; b < 256; b++) {
    uint64_t c = (uint64_t)b;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    d->table[0][b] = c;
  }
  for (int b = 0; b < 256; b++)
    for (int t = 1; t < 8; t++) d->table[t][b] = d->table[0][d->table[t - 1][b] & 0xff] ^ (d->table[t - 1][b] >> 8);
  d->fold1_low = power_lane(d, 128 + 63);
  d->fold1_high = power_lane(d, 128 - 1);
  d->fold8_low = power_lane(d, 1024 + 63);
  d->fold8_high = power_lane(d, 1024 - 1);
}

static void init(void) {
  if (ready) return;
  for (int i = 0; i < 3; i++) init_def(&defs[i]);
  ready = 1;
}

/* The raw register (no inversions) after `len` bytes, eight at a time. Hosts are little-endian (x86-64, WASM). */
static uint64_t tables_raw(const struct crc_def *d, uint64_t r, const uint8_t *p, size_t len) {
  const uint64_t(*t)[256] = (const uint64_t(*)[256])d->table;
  while (len >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    v ^= r;
    r = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^ t[4][(v >> 24) & 0xff] ^
        t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
    p += 8;
    len -= 8;
  }
  while (len--) r = t[0][(r ^ *p++) & 0xff] ^ (r >> 8);
  return r;
}

#ifdef KS_CRC_X86
static int cpu_folds = -1;

static int folds_here(void) {
  if (cpu_folds < 0) {
    __builtin_cpu_init();
    cpu_folds = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  }
  return cpu_folds;
}

#define FOLD(x, k, next) \
  _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128((x), (k), 0x00), _mm_clmulepi64_si128((x), (k), 0x11)), (next))
#define LOAD(at) _mm_loadu_si128((const __m128i *)(at))

/* The raw register after `len` (at least 256) bytes. */
__attribute__((target("pclmul,sse4.1"))) static uint64_t fold_raw(const struct crc_def *d, uint64_t r,
                                                                  const uint8_t *p, size_t len) {
  const __m128i k8 = _mm_set_epi64x((long long)d->fold8_high, (long long)d->fold8_low);
  const __m128i k1 = _mm_set_epi64x((long long)d->fold1_high, (long long)d->fold1_low);
  /* The register enters as the first bytes of the message. */
  __m128i x0 = _mm_xor_si128(LOAD(p), _mm_cvtsi64_si128((long long)r));
  __m128i x1 = LOAD(p + 16), x2 = LOAD(p + 32), x3 = LOAD(p + 48);
  __m128i x4 = LOAD(p + 64), x5 = LOAD(p + 80), x6 = LOAD(p + 96), x7 = LOAD(p + 112);
  p += 128;
  len -= 128;
  while (len >= 128) {
    x0 = FOLD(x0, k8, LOAD(p));
    x1 = FOLD(x1, k8, LOAD(p + 16));
    x2 = FOLD(x2, k8, LOAD(p + 32));
    x3 = FOLD(x3, k8, LOAD(p + 48));
    x4 = FOLD(x4, k8, LOAD(p + 64));
    x5 = FOLD(x5, k8, LOAD(p + 80));
    x6 = FOLD(x6, k8, LOAD(p + 96));
    x7 = FOLD(x7, k8, LOAD(p + 112));
    p += 128;
    len -= 128;
  }
  __m128i s = FOLD(x0, k1, x1);
  s = FOLD(s, k1, x2);
  s = FOLD(s, k1, x3);
  s = FOLD(s, k1, x4);
  s = FOLD(s, k1, x5);
  s = FOLD(s, k1, x6);
  s = FOLD(s, k1, x7);
  while (len >= 16) {
    s = FOLD(s, k1, LOAD(p));
    p += 16;
    len -= 16;
  }
  uint8_t state[16];
  _mm_storeu_si128((__m128i *)state, s);
  return tables_raw(d, tables_raw(d, 0, state, 16), p, len);
}
#endif

int ks_crc_folds(void) {
#ifdef KS_CRC_X86
  return folds_here();
#else
  return 0;
#endif
}

uint64_t ks_crc_update_tables(int kind, uint64_t crc, const uint8_t *data, size_t len) {
  if (kind < 0 || kind > 2) return 0;
  init();
  const struct crc_def *d = &defs[kind];
  return ~tables_raw(d, ~crc & d->mask, data, len) & d->mask;
}

uint64_t ks_crc_update(int kind, uint64_t crc, const uint8_t *data, size_t len) {
  if (kind < 0 || kind > 2) return 0;
  init();
  const struct crc_def *d = &defs[kind];
#ifdef KS_CRC_X86
  if (len >= 256 && folds_here()) return ~fold_raw(d, ~crc & d->mask, data, len) & d->mask;
#endif
  return ~tables_raw(d, ~crc & d->mask, data, len) & d->mask;
}
