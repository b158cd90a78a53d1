// AVX-512 VNNI integer kernels, chosen at run time (KVModel's CPULevel): compiled for that level
// function by function, so the library runs on any x86-64-v3 machine and calls them only where
// the CPU has AVX-512 F/BW/VL and VNNI.
#ifndef KVKERNELS_H
#define KVKERNELS_H
#include <stddef.h>
#include <stdint.h>

/// Whether this CPU runs the AVX-512 VNNI kernels (AVX512F, BW, VL and VNNI).
int kvk_cpu_has_avx512vnni(void);

/// Quantized activations as the integer kernels read them (KVModel's Q8Rows): block b of token t
/// at (b·interleave + t)·32 bytes in qs and residuals; its scale and float sum at t·block_stride + b.
/// Element i of a block stands for scales[·]·(256·qs[i] + residuals[i]).
typedef struct {
    const int8_t *qs;
    const int8_t *residuals;
    const float *scales;
    const float *sums;
    long interleave;
    long block_stride;
} kvk_q8_rows;

/// The packed row layouts of KVModel's WeightPacking.
typedef enum { KVK_Q8_0 = 0, KVK_Q5_0 = 1, KVK_Q4_1 = 2 } kvk_format;

/// y[t·y_stride + r] = Σ_c W[r, c]·x_t[c] for r in [r0, r1), t in [t0, t1), one thread.
/// Each (row, token) is computed by the same operations in the same order whatever the ranges,
/// so a token's result does not depend on the other tokens of the call.
void kvk_avx512vnni_rows(kvk_format format, const uint8_t *weights, long row_bytes, long blocks,
                         long r0, long r1, const kvk_q8_rows *x, long t0, long t1,
                         float *y, long y_stride);

/// PanelGEMM's tile at AVX-512: six weight rows (`w`, `kn` floats apart; rows past `rows` zero) ·
/// `tokens` packed tokens (block j of 16 at `a + j·a_block_stride`, element k of its tokens at
/// 16·k), writing or (`accumulate`) adding y[t·ldc + r]. Every (row, token) is one FMA chain over
/// k in order, as in the AVX2 tile.
void kvk_avx512_panel(const float *w, long kn, const float *a, long a_block_stride, long tokens,
                      float *y, long ldc, long rows, int accumulate);
#endif
