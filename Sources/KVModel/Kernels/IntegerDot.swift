#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Integer dot products of weight rows (any `IntegerBlockFormat`) with quantized activations
/// (`Q8Rows`): one row against a tile of 1, 2 or 4 tokens, each weight block unpacked once
/// per tile.
///
/// Per block and token: `Σ code·(256·qs + residual)` in int32 from two `vpmaddubsw`
/// (see `MatVecKernels.dotU8I8x2`), converted to float and multiplied by the weight's lane
/// scale times the activation block's scale; unsigned formats add `offset·Σx` with the exact
/// float block sum. Bounds: |code| ≤ 127 signed (pairs ≤ 2·127·127 = 32258) or ≤ 63 unsigned
/// (pairs ≤ 2·63·127), so `vpmaddubsw` never saturates, and the int32 lane stays below 2²⁴
/// (exact in float).
///
/// Each token's accumulator sees the same operations in the same order whatever the tile
/// width, so a row's result does not depend on how tokens were tiled or rows split.
enum IntegerDot {
    /// `y[t·outputStride + r] = Σ_c W[r, c]·x_t[c]` for r in `range`, t in 0..<x.tokens, with
    /// row r at `weights + r·rowBytes` (single thread).
    @inline(__always)
    static func rows<F: IntegerBlockFormat>(_ format: F.Type, _ weights: UnsafeRawPointer, rowBytes: Int, blocks nb: Int,
                                            _ range: Range<Int>, _ x: Q8Rows,
                                            _ y: UnsafeMutablePointer<Float>, outputStride: Int) {
        let T = x.tokens
        for r in range {
            let row = weights + r &* rowBytes
            var t = 0
            while t &+ 4 <= T {
                let v = tile(F.self, row, nb, x, t, width: 4)
                for k in 0..<4 { y[(t &+ k) &* outputStride &+ r] = v[k] }
                t &+= 4
            }
            if t &+ 2 <= T {
                let v = tile(F.self, row, nb, x, t, width: 2)
                y[t &* outputStride &+ r] = v[0]
                y[(t &+ 1) &* outputStride &+ r] = v[1]
                t &+= 2
            }
            if t < T { y[t &* outputStride &+ r] = tile(F.self, row, nb, x, t, width: 1)[0] }
        }
    }

    /// One row · tokens t0..<t0+width (`width` ∈ {1, 2, 4}, a literal at every call site so
    /// the unused accumulators fold away).
    @inline(__always)
    static func tile<F: IntegerBlockFormat>(_ format: F.Type, _ row: UnsafeRawPointer, _ nb: Int, _ x: Q8Rows,
                                            _ t0: Int, width: Int) -> SIMD4<Float> {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var o0: Float = 0, o1: Float = 0, o2: Float = 0, o3: Float = 0
        let T = x.tokens
        F.walk(row, blocks: nb) { b, codes, scale, offset in
            let base = b &* T &+ t0
            let magnitude = F.signedCodes ? _mm256_sign_epi8(codes, codes) : codes
            @inline(__always) func term(_ k: Int) -> SIMD8<Float> {
                var hi = x.qs.loadUnaligned(fromByteOffset: (base &+ k) &* 32, as: SIMD4<Int64>.self)
                var lo = x.residuals.loadUnaligned(fromByteOffset: (base &+ k) &* 32, as: SIMD4<Int64>.self)
                if F.signedCodes { hi = _mm256_sign_epi8(hi, codes); lo = _mm256_sign_epi8(lo, codes) }
                return MatVecKernels.dotU8I8x2(magnitude, hi, lo)
            }
            a0.addProduct(term(0), scale * x.scales[base])
            if !F.signedCodes { o0.addProduct(offset, x.sums[base]) }
            if width > 1 {
                a1.addProduct(term(1), scale * x.scales[base &+ 1])
                if !F.signedCodes { o1.addProduct(offset, x.sums[base &+ 1]) }
            }
            if width > 2 {
                a2.addProduct(term(2), scale * x.scales[base &+ 2])
                a3.addProduct(term(3), scale * x.scales[base &+ 3])
                if !F.signedCodes {
                    o2.addProduct(offset, x.sums[base &+ 2])
                    o3.addProduct(offset, x.sums[base &+ 3])
                }
            }
        }
        return SIMD4(a0.sum() + o0, a1.sum() + o1, a2.sum() + o2, a3.sum() + o3)
    }
}
#endif
