#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Integer dot products of weight rows (any `IntegerBlockFormat`) with quantized activations
/// (`Q8Rows`): one row against a tile of 1, 2 or 4 tokens, each weight block unpacked once
/// per tile.
///
/// Per block and token: `Σ code·multiplier·(256·qs + residual)` in int32 from two
/// `vpmaddubsw` + `vpmaddwd` (the 256 folded into the multipliers), converted to float and multiplied by
/// the weight's scale times the activation block's scale (both taken eight blocks at a time,
/// once per group); unsigned formats add `offset·Σx` with the exact float block sums, also
/// eight blocks at a time. Bounds: |code| ≤ 127 signed (pairs ≤ 2·127·127 = 32258) or ≤ 31
/// unsigned, so `vpmaddubsw` never saturates; an int32 lane stays below 2²⁴ (exact in float)
/// except for q6_K, whose multipliers can take it to ~2²⁹ (float rounding of 2⁻²⁴ relative).
///
/// Each token's accumulators see the same operations in the same order whatever the tile
/// width, so a row's result does not depend on how tokens were tiled or rows split.
enum IntegerDot {
    /// `y[t·outputStride + r] = Σ_c W[r, c]·x_t[c]` for r in `range`, t in `tokens`, with
    /// row r at `weights + r·rowBytes` (single thread).
    @inline(__always)
    static func rows<F: IntegerBlockFormat>(_ format: F.Type, _ weights: UnsafeRawPointer, rowBytes: Int, blocks nb: Int,
                                            _ range: Range<Int>, _ x: Q8Rows, tokens: Range<Int>,
                                            _ y: UnsafeMutablePointer<Float>, outputStride: Int) {
        let T = tokens.upperBound
        for r in range {
            let row = weights + r &* rowBytes
            var t = tokens.lowerBound
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
        // The current group's weight scale × activation scale, per token, read back one lane per
        // block with a broadcast load (extracting a lane from a register spilled it every block).
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 4) { combined in
            let c = UnsafeMutableRawPointer(combined.baseAddress!)
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var o0 = SIMD8<Float>(), o1 = SIMD8<Float>(), o2 = SIMD8<Float>(), o3 = SIMD8<Float>()
            // Locals, not `x.`: the closures would reload the struct's fields on every block.
            let S = x.interleave, xq = x.qs, xr = x.residuals, stride = x.blockStride
            let xs = UnsafeRawPointer(x.scales), xsum = UnsafeRawPointer(x.sums)
            F.walk(row, blocks: nb, group: { first, scale, offset in
                @inline(__always) func combine(_ k: Int, _ o: inout SIMD8<Float>) {
                    let at = ((t0 &+ k) &* stride &+ first) &* 4
                    c.storeBytes(of: scale * xs.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self), toByteOffset: k &* 32, as: SIMD8<Float>.self)
                    if !F.signedCodes { o.addProduct(offset, xsum.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self)) }
                }
                combine(0, &o0)
                if width > 1 { combine(1, &o1) }
                if width > 2 { combine(2, &o2); combine(3, &o3) }
            }, block: { b, codes, multipliers in
                let base = b &* S &+ t0, lane = (b & 7) &* 4
                let magnitude = F.signedCodes ? _mm256_sign_epi8(codes, codes) : codes
                // The ×256 of the two-part input folded into the qs product's multipliers (q6_K's
                // scales ×256 still fit int16: −32768…32512): one shift less per token.
                let multipliers256 = _mm256_slli_epi16(multipliers, 8)
                @inline(__always) func add(_ k: Int, _ acc: inout SIMD8<Float>) {
                    var hi = xq.loadUnaligned(fromByteOffset: (base &+ k) &* 32, as: SIMD4<Int64>.self)
                    var lo = xr.loadUnaligned(fromByteOffset: (base &+ k) &* 32, as: SIMD4<Int64>.self)
                    if F.signedCodes { hi = _mm256_sign_epi8(hi, codes); lo = _mm256_sign_epi8(lo, codes) }
                    let sum = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, hi), multipliers256),
                                               _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, lo), multipliers))
                    acc.addProduct(_mm256_cvtepi32_ps(sum),
                                   SIMD8(repeating: c.load(fromByteOffset: k &* 32 &+ lane, as: Float.self)))
                }
                add(0, &a0)
                if width > 1 { add(1, &a1) }
                if width > 2 { add(2, &a2); add(3, &a3) }
            })
            return SIMD4((a0 + o0).sum(), (a1 + o1).sum(), (a2 + o2).sum(), (a3 + o3).sum())
        }
    }
}
#endif
