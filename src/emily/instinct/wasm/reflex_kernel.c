/* The reflex kernel for the browser: exact Hamming top-1 over packed hypervectors, and the
 * majority (bundle) that turns per-bit counts into a stimulus vector.
 *
 * Freestanding C for wasm32 (no libc): scripts/build_wasm.sh compiles it with Debian's clang
 * and wasm-ld. The host (JavaScript) lays every buffer out in the module's linear memory and
 * passes pointers; nothing here allocates.
 *
 * nearest() is the two-stage scan of emily.instinct._kernel.HammingScan.nearest, step for step:
 * head distances of every row, the best head completed into an upper bound U, only rows whose
 * head distance is <= U completed (all tails when that is more than an eighth of the rows), and
 * ties to the lowest slot. Rows are split the same way: a head block of head_width bytes per row
 * and a tail block of the rest, each contiguous.
 */
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(name)))

static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8); /* one unaligned i64.load: wasm allows any alignment */
  return v;
}

/* Hamming distance of two byte strings of `width` bytes. */
static inline int32_t distance(const uint8_t *a, const uint8_t *b, int32_t width) {
  int32_t d = 0, i = 0;
  for (; i + 8 <= width; i += 8) d += __builtin_popcountll(load64(a + i) ^ load64(b + i));
  for (; i < width; i++) d += __builtin_popcount((uint32_t)(a[i] ^ b[i]));
  return d;
}

/* Hamming distance of a and b: for the host's checks. */
EXPORT("hamming")
int32_t hamming(const uint8_t *a, const uint8_t *b, int32_t width) { return distance(a, b, width); }

/* Exact top-1 of `query` among `n` rows: returns the slot (-1 when n <= 0) and writes its
 * distance to *out_dist (head_width * 8 + tail_width * 8 + 1 when n <= 0).
 *
 * head: n x head_width bytes; tail: n x tail_width bytes; d0, d1: n int32 each (scratch). */
EXPORT("nearest")
int32_t nearest(const uint8_t *head, const uint8_t *tail, int32_t n, int32_t head_width,
                int32_t tail_width, const uint8_t *query, int32_t *d0, int32_t *d1,
                int32_t *out_dist) {
  if (n <= 0) {
    *out_dist = (head_width + tail_width) * 8 + 1;
    return -1;
  }
  const uint8_t *qt = query + head_width;
  int32_t best = 0, best_d = 0x7fffffff;
  for (int32_t r = 0; r < n; r++) { /* stage 1: every head; argmin keeps the first minimum */
    int32_t d = distance(query, head + (int64_t)r * head_width, head_width);
    d0[r] = d;
    if (d < best_d) best_d = d, best = r;
  }
  if (tail_width == 0) {
    *out_dist = best_d;
    return best;
  }
  int32_t bound = best_d + distance(qt, tail + (int64_t)best * tail_width, tail_width);
  int32_t survivors = 0;
  for (int32_t r = 0; r < n; r++) survivors += d0[r] <= bound;
  int32_t pick = -1, pick_d = 0x7fffffff;
  if ((int64_t)survivors * 8 > n) { /* no pruning to speak of: every tail */
    for (int32_t r = 0; r < n; r++) d1[r] = distance(qt, tail + (int64_t)r * tail_width, tail_width);
    for (int32_t r = 0; r < n; r++) {
      int32_t full = d0[r] + d1[r];
      if (full < pick_d) pick_d = full, pick = r;
    }
  } else { /* survivors ascend, so ties go to the lowest slot */
    for (int32_t r = 0; r < n; r++) {
      if (d0[r] > bound) continue;
      int32_t full = d0[r] + distance(qt, tail + (int64_t)r * tail_width, tail_width);
      if (full < pick_d) pick_d = full, pick = r;
    }
  }
  *out_dist = pick_d;
  return pick;
}

/* Add one packed vector's bits to per-bit counts (width * 8 counts, MSB-first like
 * numpy.unpackbits). */
EXPORT("count_add")
void count_add(uint32_t *counts, const uint8_t *vector, int32_t width) {
  for (int32_t i = 0; i < width; i++) {
    uint32_t byte = vector[i];
    uint32_t *c = counts + (int64_t)i * 8;
    for (int32_t b = 0; b < 8; b++) c[b] += (byte >> (7 - b)) & 1u;
  }
}

/* The bundle of k members from their per-bit counts, packed into out (width bytes): a bit is 1
 * where more than half the members have it; a tie (even k) takes the bit of the derived tie
 * vector rho(x_1 ^ ... ^ x_k) ^ t_D, whose parity part is the count's low bit one place to the
 * left (cyclically). `tie` is t_D packed. Same rule as emily.instinct._encoders._majority. */
EXPORT("majority")
void majority(const uint32_t *counts, uint32_t k, int32_t width, const uint8_t *tie, uint8_t *out) {
  int32_t dim = width * 8;
  uint32_t half = k / 2;
  for (int32_t i = 0; i < width; i++) {
    uint32_t byte = 0;
    for (int32_t b = 0; b < 8; b++) {
      int32_t bit = i * 8 + b;
      uint32_t count = counts[bit];
      uint32_t extra = 0;
      if ((k & 1u) == 0) {
        uint32_t parity = counts[bit == 0 ? dim - 1 : bit - 1] & 1u;
        extra = parity ^ ((uint32_t)(tie[i] >> (7 - b)) & 1u);
      }
      byte = (byte << 1) | (count + extra > half);
    }
    out[i] = (uint8_t)byte;
  }
}
