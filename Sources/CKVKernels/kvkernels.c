// AVX-512 VNNI dot products of packed weight rows with two-part 8-bit activations.
//
// The two parts of an activation element, 256·q + r with |q|, |r| ≤ 127, are one int16 (at most
// 32639). Widened weights (int16) meet them in vpdpwssd: 32 products per instruction, summed in
// pairs into 16 int32 lanes, exact (|w| ≤ 127: a lane's pair stays below 2^23). One 32-element
// block fills one zmm, so per block: expand the codes, one vpdpwssd, convert, and one FMA with the
// weight scale times the activation scale. q5_0 codes are signed (q − 16) and q8_0's are, so no
// offset term; q4_1 adds m·Σx with the activations' exact float sums, as the AVX2 kernels do.
#include "kvkernels.h"
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define KVK_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,f16c,fma")))

int kvk_cpu_has_avx512vnni(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

// Per thread: the tokens of a call as int16 blocks (256·q + r), built once per call.
static __thread int16_t *wide = NULL;
static __thread size_t wide_capacity = 0;

KVK_TARGET static const int16_t *widen(const kvk_q8_rows *x, long blocks, long t0, long t1) {
    size_t need = (size_t)(t1 - t0) * (size_t)blocks * 32;
    if (need > wide_capacity) {
        free(wide);
        wide = aligned_alloc(64, (need * sizeof(int16_t) + 63) / 64 * 64);
        wide_capacity = wide ? need : 0;
        if (!wide) return NULL;
    }
    for (long t = t0; t < t1; t++) {
        int16_t *out = wide + (size_t)(t - t0) * blocks * 32;
        for (long b = 0; b < blocks; b++) {
            long at = (b * x->interleave + t) * 32;
            __m512i q = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(x->qs + at)));
            __m512i r = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(x->residuals + at)));
            _mm512_store_si512((__m512i *)(out + b * 32), _mm512_add_epi16(_mm512_slli_epi16(q, 8), r));
        }
    }
    return wide;
}

KVK_TARGET static inline float half_to_float(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// Block b's 32 codes as int16, element order.
KVK_TARGET static inline __m512i codes_q8_0(const uint8_t *row, long nb, long b) {
    return _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(row + nb * 2 + b * 32)));
}

// q5_0 and q4_1 nibbles: blocks 2p and 2p+1 share 32 bytes (low and high nibbles, element order);
// an odd last block keeps GGUF's 16 bytes (elements 0..15 low nibbles, 16..31 high).
KVK_TARGET static inline __m256i nibbles(const uint8_t *q, long nb, long b) {
    const __m256i mask = _mm256_set1_epi8(0x0F);
    if ((b & 1) == 0 && b + 1 == nb) {
        __m128i r = _mm_loadu_si128((const __m128i *)(q + b * 16));
        return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(r, 4), r), mask);
    }
    __m256i raw = _mm256_loadu_si256((const __m256i *)(q + (b & ~1L) * 16));
    return (b & 1) ? _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask) : _mm256_and_si256(raw, mask);
}

KVK_TARGET static inline __m512i codes_q5_0(const uint8_t *row, long nb, long b) {
    uint32_t qh;
    memcpy(&qh, row + nb * 2 + b * 4, 4);
    // q − 16 with q = nibble | fifth bit << 4: the nibble where the bit is set, the nibble − 16 where not.
    __m256i n = nibbles(row + nb * 6, nb, b);
    return _mm512_cvtepi8_epi16(_mm256_mask_sub_epi8(n, (__mmask32)~qh, n, _mm256_set1_epi8(16)));
}

KVK_TARGET static inline __m512i codes_q4_1(const uint8_t *row, long nb, long b) {
    return _mm512_cvtepu8_epi16(nibbles(row + nb * 4, nb, b));
}

// The codes of block b of a row, as int16 (one zmm).
KVK_TARGET __attribute__((always_inline)) static inline __m512i codes(kvk_format format, const uint8_t *row, long nb, long b) {
    switch (format) {
    case KVK_Q8_0: return codes_q8_0(row, nb, b);
    case KVK_Q5_0: return codes_q5_0(row, nb, b);
    default: return codes_q4_1(row, nb, b);
    }
}

// One row · one token: `w(b)` gives block b's int16 codes (unpacked in place, or read back from a
// row expanded once for many tokens: the same values). The same operations in the same order for
// every (row, token), so a token's result does not depend on how its call was tiled.
#define KVK_DOT(W)                                                                                        \
    __m512 acc = _mm512_setzero_ps();                                                                     \
    float offset = 0;                                                                                     \
    for (long b = 0; b < nb; b++) {                                                                       \
        __m512i p = _mm512_dpwssd_epi32(_mm512_setzero_si512(), W, _mm512_load_si512((const __m512i *)(xw + b * 32))); \
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_set1_ps(half_to_float(row + b * 2) * xs[b]), acc); \
        if (format == KVK_Q4_1) offset += half_to_float(row + nb * 2 + b * 2) * xsum[b];                \
    }                                                                                                     \
    return _mm512_reduce_add_ps(acc) + offset;

KVK_TARGET __attribute__((always_inline)) static inline float dot(kvk_format format, const uint8_t *row, long nb, const int16_t *xw,
                                   const float *xs, const float *xsum) {
    KVK_DOT(codes(format, row, nb, b))
}

KVK_TARGET __attribute__((always_inline)) static inline float dot_expanded(kvk_format format, const uint8_t *row, const int16_t *w16, long nb,
                                            const int16_t *xw, const float *xs, const float *xsum) {
    KVK_DOT(_mm512_load_si512((const __m512i *)(w16 + b * 32)))
}

// Per thread: one row's codes as int16, when a call has several tokens.
static __thread int16_t *expanded = NULL;
static __thread long expanded_blocks = 0;

// The rows of one call; inlined once per format, so every switch on it folds away.
KVK_TARGET __attribute__((always_inline)) static inline void rows(kvk_format format, const uint8_t *weights, long row_bytes,
                                                                  long blocks, long r0, long r1, const kvk_q8_rows *x,
                                                                  const int16_t *xw, long t0, long t1, float *y, long y_stride) {
    // Several tokens: each row's codes are unpacked once into L1 and read back for every token.
    int expand = t1 - t0 > 1;
    if (expand && expanded_blocks < blocks) {
        free(expanded);
        expanded = aligned_alloc(64, (size_t)blocks * 64);
        expanded_blocks = expanded ? blocks : 0;
        if (!expanded) abort();
    }
    for (long r = r0; r < r1; r++) {
        const uint8_t *row = weights + r * row_bytes;
        if (expand) {
            for (long b = 0; b < blocks; b++) _mm512_store_si512((__m512i *)(expanded + b * 32), codes(format, row, blocks, b));
        }
        for (long t = t0; t < t1; t++) {
            const int16_t *xt = xw + (size_t)(t - t0) * blocks * 32;
            const float *xs = x->scales + t * x->block_stride, *xsum = x->sums + t * x->block_stride;
            y[t * y_stride + r] = expand ? dot_expanded(format, row, expanded, blocks, xt, xs, xsum)
                                         : dot(format, row, blocks, xt, xs, xsum);
        }
    }
}

KVK_TARGET void kvk_avx512vnni_rows(kvk_format format, const uint8_t *weights, long row_bytes, long blocks,
                                    long r0, long r1, const kvk_q8_rows *x, long t0, long t1,
                                    float *y, long y_stride) {
    const int16_t *xw = widen(x, blocks, t0, t1);
    if (!xw) abort();  // out of memory for a few KB of activations
    switch (format) {
    case KVK_Q8_0: rows(KVK_Q8_0, weights, row_bytes, blocks, r0, r1, x, xw, t0, t1, y, y_stride); break;
    case KVK_Q5_0: rows(KVK_Q5_0, weights, row_bytes, blocks, r0, r1, x, xw, t0, t1, y, y_stride); break;
    default: rows(KVK_Q4_1, weights, row_bytes, blocks, r0, r1, x, xw, t0, t1, y, y_stride); break;
    }
}

KVK_TARGET void kvk_avx512_panel(const float *w, long kn, const float *a, long a_block_stride, long tokens,
                                 float *y, long ldc, long rows, int accumulate) {
    for (long t = 0; t < tokens; t += 32) {
        const float *a0 = a + (t / 16) * a_block_stride, *a1 = a0 + a_block_stride;
        int two = tokens - t > 16;
        __m512 c[6][2];
        for (int r = 0; r < 6; r++) c[r][0] = c[r][1] = _mm512_setzero_ps();
        if (two) {
            for (long k = 0; k < kn; k++) {
                __m512 x0 = _mm512_loadu_ps(a0 + k * 16), x1 = _mm512_loadu_ps(a1 + k * 16);
                for (int r = 0; r < 6; r++) {
                    __m512 b = _mm512_set1_ps(w[r * kn + k]);
                    c[r][0] = _mm512_fmadd_ps(x0, b, c[r][0]);
                    c[r][1] = _mm512_fmadd_ps(x1, b, c[r][1]);
                }
            }
        } else {
            for (long k = 0; k < kn; k++) {
                __m512 x0 = _mm512_loadu_ps(a0 + k * 16);
                for (int r = 0; r < 6; r++) c[r][0] = _mm512_fmadd_ps(x0, _mm512_set1_ps(w[r * kn + k]), c[r][0]);
            }
        }
        // Transpose on the way out: the tile is [row][token], y is [token][row].
        float f[6][32] __attribute__((aligned(64)));
        for (int r = 0; r < 6; r++) { _mm512_store_ps(f[r], c[r][0]); _mm512_store_ps(f[r] + 16, c[r][1]); }
        long n = tokens - t < 32 ? tokens - t : 32;
        for (long i = 0; i < n; i++) {
            float *yt = y + (t + i) * ldc;
            if (accumulate) { for (long r = 0; r < rows; r++) yt[r] += f[r][i]; }
            else { for (long r = 0; r < rows; r++) yt[r] = f[r][i]; }
        }
    }
}
