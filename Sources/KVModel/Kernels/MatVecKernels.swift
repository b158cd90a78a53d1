#if arch(x86_64)
import _Builtin_intrinsics.intel

/// AVX2 integer dot products of packed q4_1 weight rows with one quantized token (`Q8Token`: a
/// `Q8Vector`, or one token of a `Q8Batch`), for one token and for batches alike.
///
/// Why intrinsics: Swift's SIMD types cannot express `vpmaddubsw`/`vpmaddwd` (LLVM does not
/// match them from `evenHalf`/`oddHalf` arithmetic). Measured on this machine, one thread,
/// 66 MB of q4_1 rows of 576: float FMA on dequantized nibbles 13.4 ms, Swift SIMD Int16
/// multiply 18.3 ms, clang's AVX2 intrinsics (imported from `_Builtin_intrinsics.intel`,
/// still Swift, no C target) 11.1 ms in the GGUF layout. With the packed layout below and two
/// rows per call, the model's q4_1 matrices run at 16.5–20 GB/s from cache on one thread
/// (one row per call: 12.6–18.5 GB/s); from memory a whole token's matvecs take ~9.5 ms on one
/// thread and ~6.1–6.3 ms on two (see KernelSpeedTests).
///
/// The packed q4_1 layout is described in `WeightPacking`. The other types use the generic
/// `IntegerDot` over an `IntegerBlockFormat`: q8_0 had a two-row kernel here too, but on an AMD
/// EPYC (Zen 5) `IntegerDot` ran Qwen2.5's q8_0 output matrix 2.3× faster (6.2 against 14.1 ms per
/// token, one thread, `IntegerKernelSpeedTests/testLinearPaths`), so it went.
enum MatVecKernels {
    /// Packed q4_1 rows: `y[t·outputStride + r]` for r in `range`, t in `tokens` (single thread): rows two at a time,
    /// each pair once per token while it stays in L1, so a token's result is its mat-vec result
    /// whatever the other tokens.
    @inline(__always)
    static func rowsQ4_1(_ weights: UnsafeRawPointer, rowBytes rb: Int, blocks nb: Int, _ range: Range<Int>,
                         _ x: Q8Rows, tokens: Range<Int>, _ y: UnsafeMutablePointer<Float>, outputStride: Int) {
        var r = range.lowerBound
        while r &+ 2 <= range.upperBound {
            let p = weights + r &* rb
            for t in tokens { (y[t &* outputStride &+ r], y[t &* outputStride &+ r &+ 1]) = dotQ4_1x2(p, p + rb, x.token(t), blocks: nb) }
            r &+= 2
        }
        if r < range.upperBound {
            for t in tokens { y[t &* outputStride &+ r] = dotQ4_1(weights + r &* rb, x.token(t), blocks: nb) }
        }
    }

    // MARK: dot products

    /// u8 `a` · (256·`hi` + `lo`) over 32 lanes, as eight i32 partial sums converted to float:
    /// both products from the same weights, combined exactly in int32 (see `Q8Vector`).
    @inline(__always)
    static func dotU8I8x2(_ a: SIMD4<Int64>, _ hi: SIMD4<Int64>, _ lo: SIMD4<Int64>) -> SIMD8<Float> {
        let ones = _mm256_set1_epi16(1)
        let h = _mm256_madd_epi16(_mm256_maddubs_epi16(a, hi), ones)
        let l = _mm256_madd_epi16(_mm256_maddubs_epi16(a, lo), ones)
        return _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_slli_epi32(h, 8), l))
    }

    /// One packed q4_1 row · `x` (blocks `nb`, `x.count == 32·nb`).
    /// Same arithmetic, in the same order, as `dotQ4_1x2`, so a row's result never depends on
    /// how rows were paired or split across threads.
    @inline(__always)
    static func dotQ4_1(_ row: UnsafeRawPointer, _ x: Q8Token, blocks nb: Int) -> Float {
        nb & 1 == 0 ? dotQ4_1x2(row, row, x, blocks: nb).0 : dotQ4_1Odd(row, x, blocks: nb)
    }

    /// One packed q4_1 row with an odd number of blocks (the only kernel used for such rows).
    @inline(__always)
    static func dotQ4_1Odd(_ row: UnsafeRawPointer, _ x: Q8Token, blocks nb: Int) -> Float {
        let dp = row, mp = row + nb &* 2, qp = row + nb &* 4
        let xq = x.qs, xr = x.residuals, xd = UnsafeRawPointer(x.scales), xs = UnsafeRawPointer(x.sums), step = x.step
        let mask = _mm256_set1_epi8(0x0F)
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), macc = SIMD8<Float>()
        var b = 0
        while b &+ 8 <= nb {
            let dv = Half.load8(dp, b &* 2)
                * xd.loadUnaligned(fromByteOffset: b &* 4, as: SIMD8<Float>.self)
            macc.addProduct(Half.load8(mp, b &* 2),
                            xs.loadUnaligned(fromByteOffset: b &* 4, as: SIMD8<Float>.self))
            for k in stride(from: 0, to: 8, by: 2) {
                let raw = qp.loadUnaligned(fromByteOffset: (b &+ k) &* 16, as: SIMD4<Int64>.self)
                let lo = _mm256_and_si256(raw, mask), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask)
                let x0 = xq.loadUnaligned(fromByteOffset: (b &+ k) &* step, as: SIMD4<Int64>.self)
                let x0r = xr.loadUnaligned(fromByteOffset: (b &+ k) &* step, as: SIMD4<Int64>.self)
                let x1 = xq.loadUnaligned(fromByteOffset: (b &+ k &+ 1) &* step, as: SIMD4<Int64>.self)
                let x1r = xr.loadUnaligned(fromByteOffset: (b &+ k &+ 1) &* step, as: SIMD4<Int64>.self)
                acc0.addProduct(dotU8I8x2(lo, x0, x0r), SIMD8(repeating: dv[k]))
                acc1.addProduct(dotU8I8x2(hi, x1, x1r), SIMD8(repeating: dv[k &+ 1]))
            }
            b &+= 8
        }
        var tail: Float = 0
        while b &+ 2 <= nb {
            let raw = qp.loadUnaligned(fromByteOffset: b &* 16, as: SIMD4<Int64>.self)
            let lo = _mm256_and_si256(raw, mask), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask)
            let x0 = xq.loadUnaligned(fromByteOffset: b &* step, as: SIMD4<Int64>.self)
            let x0r = xr.loadUnaligned(fromByteOffset: b &* step, as: SIMD4<Int64>.self)
            let x1 = xq.loadUnaligned(fromByteOffset: (b &+ 1) &* step, as: SIMD4<Int64>.self)
            let x1r = xr.loadUnaligned(fromByteOffset: (b &+ 1) &* step, as: SIMD4<Int64>.self)
            acc0.addProduct(dotU8I8x2(lo, x0, x0r), SIMD8(repeating: Half.load(dp, b &* 2) * x.scales[b]))
            acc1.addProduct(dotU8I8x2(hi, x1, x1r), SIMD8(repeating: Half.load(dp, b &* 2 &+ 2) * x.scales[b &+ 1]))
            tail += Half.load(mp, b &* 2) * x.sums[b] + Half.load(mp, b &* 2 &+ 2) * x.sums[b &+ 1]
            b &+= 2
        }
        if b < nb {  // odd last block, GGUF nibble order
            let r16 = qp.loadUnaligned(fromByteOffset: b &* 16, as: SIMD2<Int64>.self)
            let q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(r16, 4), r16), mask)
            let x0 = xq.loadUnaligned(fromByteOffset: b &* step, as: SIMD4<Int64>.self)
            let x0r = xr.loadUnaligned(fromByteOffset: b &* step, as: SIMD4<Int64>.self)
            acc0.addProduct(dotU8I8x2(q, x0, x0r), SIMD8(repeating: Half.load(dp, b &* 2) * x.scales[b]))
            tail += Half.load(mp, b &* 2) * x.sums[b]
        }
        return (acc0 + acc1 + macc).sum() + tail
    }

    /// Two packed q4_1 rows · `x` at once: the input blocks and their scales are loaded once
    /// for both rows, and the two rows' accumulators are independent chains (hot-cache measure:
    /// rows of 576 spent a third of their time in per-row setup and reduction with one row at a time).
    @inline(__always)
    static func dotQ4_1x2(_ row0: UnsafeRawPointer, _ row1: UnsafeRawPointer, _ x: Q8Token, blocks nb: Int) -> (Float, Float) {
        guard nb & 1 == 0 else { return (dotQ4_1Odd(row0, x, blocks: nb), dotQ4_1Odd(row1, x, blocks: nb)) }
        let mo = nb &* 2, qo = nb &* 4
        let xq = x.qs, xr = x.residuals, xd = UnsafeRawPointer(x.scales), xs = UnsafeRawPointer(x.sums), step = x.step
        let mask = _mm256_set1_epi8(0x0F)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), m0 = SIMD8<Float>(), m1 = SIMD8<Float>()
        var b = 0
        while b &+ 8 <= nb {
            let xdv = xd.loadUnaligned(fromByteOffset: b &* 4, as: SIMD8<Float>.self)
            let xsv = xs.loadUnaligned(fromByteOffset: b &* 4, as: SIMD8<Float>.self)
            let d0 = Half.load8(row0, b &* 2) * xdv, d1 = Half.load8(row1, b &* 2) * xdv
            m0.addProduct(Half.load8(row0, mo &+ b &* 2), xsv)
            m1.addProduct(Half.load8(row1, mo &+ b &* 2), xsv)
            for k in stride(from: 0, to: 8, by: 2) {
                let off = (b &+ k) &* 16
                let x0 = xq.loadUnaligned(fromByteOffset: (b &+ k) &* step, as: SIMD4<Int64>.self)
                let x0r = xr.loadUnaligned(fromByteOffset: (b &+ k) &* step, as: SIMD4<Int64>.self)
                let x1 = xq.loadUnaligned(fromByteOffset: (b &+ k &+ 1) &* step, as: SIMD4<Int64>.self)
                let x1r = xr.loadUnaligned(fromByteOffset: (b &+ k &+ 1) &* step, as: SIMD4<Int64>.self)
                let r0 = row0.loadUnaligned(fromByteOffset: qo &+ off, as: SIMD4<Int64>.self)
                let r1 = row1.loadUnaligned(fromByteOffset: qo &+ off, as: SIMD4<Int64>.self)
                a0.addProduct(dotU8I8x2(_mm256_and_si256(r0, mask), x0, x0r), SIMD8(repeating: d0[k]))
                a1.addProduct(dotU8I8x2(_mm256_and_si256(r1, mask), x0, x0r), SIMD8(repeating: d1[k]))
                a0.addProduct(dotU8I8x2(_mm256_and_si256(_mm256_srli_epi16(r0, 4), mask), x1, x1r), SIMD8(repeating: d0[k &+ 1]))
                a1.addProduct(dotU8I8x2(_mm256_and_si256(_mm256_srli_epi16(r1, 4), mask), x1, x1r), SIMD8(repeating: d1[k &+ 1]))
            }
            b &+= 8
        }
        var t0: Float = 0, t1: Float = 0
        while b < nb {  // remaining pairs (nb is even here)
            let off = b &* 16
            let x0 = xq.loadUnaligned(fromByteOffset: b &* step, as: SIMD4<Int64>.self)
            let x0r = xr.loadUnaligned(fromByteOffset: b &* step, as: SIMD4<Int64>.self)
            let x1 = xq.loadUnaligned(fromByteOffset: (b &+ 1) &* step, as: SIMD4<Int64>.self)
            let x1r = xr.loadUnaligned(fromByteOffset: (b &+ 1) &* step, as: SIMD4<Int64>.self)
            let r0 = row0.loadUnaligned(fromByteOffset: qo &+ off, as: SIMD4<Int64>.self)
            let r1 = row1.loadUnaligned(fromByteOffset: qo &+ off, as: SIMD4<Int64>.self)
            let s0 = x.scales[b], s1 = x.scales[b &+ 1]
            a0.addProduct(dotU8I8x2(_mm256_and_si256(r0, mask), x0, x0r), SIMD8(repeating: Half.load(row0, b &* 2) * s0))
            a1.addProduct(dotU8I8x2(_mm256_and_si256(r1, mask), x0, x0r), SIMD8(repeating: Half.load(row1, b &* 2) * s0))
            a0.addProduct(dotU8I8x2(_mm256_and_si256(_mm256_srli_epi16(r0, 4), mask), x1, x1r), SIMD8(repeating: Half.load(row0, b &* 2 &+ 2) * s1))
            a1.addProduct(dotU8I8x2(_mm256_and_si256(_mm256_srli_epi16(r1, 4), mask), x1, x1r), SIMD8(repeating: Half.load(row1, b &* 2 &+ 2) * s1))
            let u0 = x.sums[b], u1 = x.sums[b &+ 1]
            t0 += Half.load(row0, mo &+ b &* 2) * u0 + Half.load(row0, mo &+ b &* 2 &+ 2) * u1
            t1 += Half.load(row1, mo &+ b &* 2) * u0 + Half.load(row1, mo &+ b &* 2 &+ 2) * u1
            b &+= 2
        }
        return ((a0 + m0).sum() + t0, (a1 + m1).sum() + t1)
    }
}
#endif
