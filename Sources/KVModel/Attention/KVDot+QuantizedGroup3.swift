#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Integer decode-attention loops for the common shape: 64-wide heads, three queries per KV head,
/// value groups of 32 channels.
///
/// Why integers: turning codes into floats (widen, convert, then one FMA per query) costs about
/// as much as converting f16, so a float loop over 4-bit codes is barely faster than over f16.
/// Here the codes stay 16-bit integers and `vpmaddwd` multiplies sixteen of them at a time by
/// 16-bit integers, summing pairs into 32-bit lanes:
/// - keys: each query (times the block's channel scales) is rounded to 16 bits once per block,
///   with one float step per query; rows are summed pairwise as they finish (six live vectors).
/// - values: the weights (softmax numerator × the row's group scale) are rounded to 16 bits per
///   32-row chunk, and two rows are interleaved so that each 32-bit lane holds
///   `w_j·code_jc + w_{j+1}·code_{j+1,c}` for one channel; each chunk's integer sums are scaled to
///   floats once.
/// Rounding to 16 bits changes a score or an output by about 1e-5 of its magnitude, far below the
/// codes' own quantization error. Sums stay within 32 bits: at most 8 products of
/// 255 × 32767 per lane and row for keys, 32 for values.
extension KVDot {
    /// `scores[k·scoreStride + (j - r0)] = scaled[k] · code[j] + bias[k]` for rows `r0..<r1` of one
    /// block, `k` in 0..<3. `lanes` is scratch for 3 × 64 Int16.
    @inline(__always)
    static func blockScoresGroup3<U: KVCodeUnpacker>(
        _: U.Type, codes: UnsafeRawPointer, rowBytes: Int, r0: Int, r1: Int, scaled: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, lanes: UnsafeMutablePointer<Int16>, scores: UnsafeMutablePointer<Float>, scoreStride: Int
    ) {
        let step0 = legacyRoundQuery(U.self, scaled, into: lanes)
        let step1 = legacyRoundQuery(U.self, scaled + 64, into: lanes + 64)
        let step2 = legacyRoundQuery(U.self, scaled + 128, into: lanes + 128)
        let q = UnsafeRawPointer(lanes)
        @inline(__always) func lane(_ k: Int, _ i: Int) -> SIMD4<Int64> {
            q.loadUnaligned(fromByteOffset: (k &* 64 &+ i &* 16) &* 2, as: SIMD4<Int64>.self)
        }
        // One row against the three queries: three vectors of eight 32-bit partial sums.
        @inline(__always) func dot(_ row: UnsafeRawPointer) -> (SIMD4<Int64>, SIMD4<Int64>, SIMD4<Int64>) {
            var x = U.codeVector(row, 0)
            var a0 = _mm256_madd_epi16(x, lane(0, 0)), a1 = _mm256_madd_epi16(x, lane(1, 0)), a2 = _mm256_madd_epi16(x, lane(2, 0))
            x = U.codeVector(row, 1)
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x, lane(0, 1)))
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(x, lane(1, 1)))
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(x, lane(2, 1)))
            x = U.codeVector(row, 2)
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x, lane(0, 2)))
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(x, lane(1, 2)))
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(x, lane(2, 2)))
            x = U.codeVector(row, 3)
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x, lane(0, 3)))
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(x, lane(1, 3)))
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(x, lane(2, 3)))
            return (a0, a1, a2)
        }
        @inline(__always) func pair(_ rowA: UnsafeRawPointer, _ rowB: UnsafeRawPointer) -> (SIMD4<Int64>, SIMD4<Int64>, SIMD4<Int64>) {
            let (a0, a1, a2) = dot(rowA), (b0, b1, b2) = dot(rowB)
            return (_mm256_hadd_epi32(a0, b0), _mm256_hadd_epi32(a1, b1), _mm256_hadd_epi32(a2, b2))
        }
        let s0 = SIMD4<Float>(repeating: step0), s1 = SIMD4<Float>(repeating: step1), s2 = SIMD4<Float>(repeating: step2)
        let b0 = SIMD4<Float>(repeating: bias[0]), b1 = SIMD4<Float>(repeating: bias[1]), b2 = SIMD4<Float>(repeating: bias[2])
        var j = r0
        while j < r1 {
            // A short last group repeats the block's last row; only real rows are stored.
            let last = r1 &- 1
            // Rows are summed pairwise as soon as they are done (the first level of the horizontal sum), so six
            // vectors are live instead of twelve.
            let (h0, h1, h2) = pair(codes + j &* rowBytes, codes + min(j &+ 1, last) &* rowBytes)
            let (g0, g1, g2) = pair(codes + min(j &+ 2, last) &* rowBytes, codes + min(j &+ 3, last) &* rowBytes)
            let o0 = legacyFinish(h0, g0) * s0 + b0
            let o1 = legacyFinish(h1, g1) * s1 + b1
            let o2 = legacyFinish(h2, g2) * s2 + b2
            let out = scores + (j &- r0)
            if j &+ 4 <= r1 {
                store4(o0, out); store4(o1, out + scoreStride); store4(o2, out + 2 &* scoreStride)
            } else {
                for t in 0..<(r1 &- j) {
                    out[t] = o0[t]; out[scoreStride &+ t] = o1[t]; out[2 &* scoreStride &+ t] = o2[t]
                }
            }
            j &+= 4
        }
    }

    /// Rounds one scaled query (64 floats) to 16-bit integers laid out like `U.codeVector`'s lanes;
    /// returns the step (`query ≈ step · lanes`).
    @inline(__always)
    private static func legacyRoundQuery<U: KVCodeUnpacker>(_: U.Type, _ x: UnsafePointer<Float>, into lanes: UnsafeMutablePointer<Int16>) -> Float {
        let raw = UnsafeRawPointer(x)
        var m = SIMD8<Float>()
        for c in stride(from: 0, to: 64, by: 8) {
            let v = raw.loadUnaligned(fromByteOffset: c &* 4, as: SIMD8<Float>.self)
            m = legacyMaxMagnitude(m, v)
        }
        let largest = legacyHorizontalMax(m)
        let inverse: Float = largest > 0 ? 32767 / largest : 0
        for i in 0..<4 {
            for half in 0..<2 {
                let v = raw.loadUnaligned(fromByteOffset: U.runStart(i, half) &* 4, as: SIMD8<Float>.self)
                legacyStoreRounded(v * inverse, lanes + (i &* 16 &+ half &* 8))
            }
        }
        return largest / 32767
    }

    /// `output[k·outputStride + c] += Σ_j w_kj·(min_jg + scale_jg·code_jc)` for rows `lo..<hi`,
    /// `k` in 0..<3; weights are indexed from `lo`; value groups of 32.
    static func weightedValuesGroup3<U: KVCodeUnpacker>(
        _: U.Type, codes: UnsafeRawPointer, params: UnsafeRawPointer, rowBytes: Int, lo: Int, hi: Int,
        weights: UnsafePointer<Float>, weightStride: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        let n = hi &- lo, chunks = (n &+ 31) / 32, padded = chunks &* 32
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 6 &* chunks &+ 6 &+ 6 &* 32) { floats in
        withUnsafeTemporaryAllocation(of: Int16.self, capacity: 6 &* padded) { ints in
            let steps = floats.baseAddress!, shares = steps + 6 &* chunks, products = shares + 6
            let rounded = ints.baseAddress!
            legacyRoundValueWeights(params: params, lo: lo, n: n, weights: weights, weightStride: weightStride,
                              products: products, rounded: rounded, steps: steps, shares: shares)
            let pairs = UnsafeRawPointer(rounded)
            // Four passes of 16 channels (code vector `s` of every row), so that the three queries'
            // accumulators (two vectors each) and the pair weights stay in registers.
            // Spelled out per pass so that `s`, and with it every shift, mask and group, is a constant.
            @inline(__always) func pass(_ s: Int) {
                let gLo = U.runStart(s, 0) / 32, gHi = U.runStart(s, 1) / 32
                @inline(__always) func pairWeights(_ k: Int, _ j: Int) -> SIMD4<Int64> {
                    let l = pairs.loadUnaligned(fromByteOffset: ((2 &* k &+ gLo) &* padded &+ j) &* 2, as: Int32.self)
                    if gLo == gHi { return _mm256_set1_epi32(l) }
                    let h = pairs.loadUnaligned(fromByteOffset: ((2 &* k &+ gHi) &* padded &+ j) &* 2, as: Int32.self)
                    return _mm256_set_m128i(_mm_set1_epi32(h), _mm_set1_epi32(l))
                }
                var f00 = SIMD8<Float>(), f01 = SIMD8<Float>(), f10 = SIMD8<Float>()
                var f11 = SIMD8<Float>(), f20 = SIMD8<Float>(), f21 = SIMD8<Float>()
                for c in 0..<chunks {
                    let c0 = c &* 32, c1 = min(n, c0 &+ 32)
                    var a00 = SIMD4<Int64>(), a01 = SIMD4<Int64>(), a10 = SIMD4<Int64>()
                    var a11 = SIMD4<Int64>(), a20 = SIMD4<Int64>(), a21 = SIMD4<Int64>()
                    @inline(__always) func accumulate(_ rowA: UnsafeRawPointer, _ rowB: UnsafeRawPointer, _ j: Int) {
                        let xA = U.codeVector(rowA, s), xB = U.codeVector(rowB, s)
                        let low = _mm256_unpacklo_epi16(xA, xB), high = _mm256_unpackhi_epi16(xA, xB)
                        let w0 = pairWeights(0, j)
                        a00 = _mm256_add_epi32(a00, _mm256_madd_epi16(low, w0))
                        a01 = _mm256_add_epi32(a01, _mm256_madd_epi16(high, w0))
                        let w1 = pairWeights(1, j)
                        a10 = _mm256_add_epi32(a10, _mm256_madd_epi16(low, w1))
                        a11 = _mm256_add_epi32(a11, _mm256_madd_epi16(high, w1))
                        let w2 = pairWeights(2, j)
                        a20 = _mm256_add_epi32(a20, _mm256_madd_epi16(low, w2))
                        a21 = _mm256_add_epi32(a21, _mm256_madd_epi16(high, w2))
                    }
                    var j = c0
                    var row = codes + (lo &+ j) &* rowBytes
                    while j &+ 2 <= c1 {
                        accumulate(row, row + rowBytes, j)
                        row += 2 &* rowBytes
                        j &+= 2
                    }
                    // An odd last row pairs with itself at weight 0.
                    if j < c1 { accumulate(row, row, j) }
                    @inline(__always) func stepVector(_ k: Int) -> SIMD8<Float> {
                        SIMD8(lowHalf: SIMD4(repeating: steps[(2 &* k &+ gLo) &* chunks &+ c]),
                              highHalf: SIMD4(repeating: steps[(2 &* k &+ gHi) &* chunks &+ c]))
                    }
                    let t0 = stepVector(0), t1 = stepVector(1), t2 = stepVector(2)
                    f00.addProduct(_mm256_cvtepi32_ps(a00), t0); f01.addProduct(_mm256_cvtepi32_ps(a01), t0)
                    f10.addProduct(_mm256_cvtepi32_ps(a10), t1); f11.addProduct(_mm256_cvtepi32_ps(a11), t1)
                    f20.addProduct(_mm256_cvtepi32_ps(a20), t2); f21.addProduct(_mm256_cvtepi32_ps(a21), t2)
                }
                // Lane t of the low unpack is channel runStart(s, t / 4) + t % 4; the high unpack's is 4 further.
                @inline(__always) func add(_ k: Int, _ high: Int, _ sums: SIMD8<Float>) {
                    for t in 0..<8 {
                        let channel = U.runStart(s, t / 4) &+ t % 4 &+ high
                        output[k &* outputStride &+ channel] += sums[t] + shares[2 &* k &+ channel / 32]
                    }
                }
                add(0, 0, f00); add(0, 4, f01); add(1, 0, f10); add(1, 4, f11); add(2, 0, f20); add(2, 4, f21)
            }
            pass(0); pass(1); pass(2); pass(3)
        } }
    }

    /// The value pass's weights for rows `lo..<lo+n` (value groups of 32, so two per row): for each
    /// query `k` and group `g` (slot `2k+g`), `w_kj·scale_jg` rounded to 16 bits per 32-row chunk
    /// into `rounded[slot·padded + j]` (rows past `n` get 0) with the chunk's step in
    /// `steps[slot·chunks + c]`, and `shares[slot] = Σ_j w_kj·min_jg`. `products` is scratch for 6 × 32 floats.
    @inline(__always)
    private static func legacyRoundValueWeights(params: UnsafeRawPointer, lo: Int, n: Int, weights: UnsafePointer<Float>, weightStride: Int,
                                          products: UnsafeMutablePointer<Float>, rounded: UnsafeMutablePointer<Int16>,
                                          steps: UnsafeMutablePointer<Float>, shares: UnsafeMutablePointer<Float>) {
        let chunks = (n &+ 31) / 32, padded = chunks &* 32
        let w = UnsafeRawPointer(weights), out = UnsafeMutableRawPointer(products)
        var m00 = SIMD8<Float>(), m01 = SIMD8<Float>(), m10 = SIMD8<Float>(), m11 = SIMD8<Float>()
        var m20 = SIMD8<Float>(), m21 = SIMD8<Float>()
        for slot in 0..<6 { shares[slot] = 0 }
        for c in 0..<chunks {
            let c0 = c &* 32, c1 = min(n, c0 &+ 32)
            var j = c0
            while j &+ 8 <= c1 {
                let (s0, s1, n0, n1) = legacyValueParams8(params, lo &+ j)
                let at = (j &- c0) &* 4
                @inline(__always) func weight(_ k: Int) -> SIMD8<Float> {
                    w.loadUnaligned(fromByteOffset: (k &* weightStride &+ j) &* 4, as: SIMD8<Float>.self)
                }
                let w0 = weight(0), w1 = weight(1), w2 = weight(2)
                out.storeBytes(of: w0 * s0, toByteOffset: at, as: SIMD8<Float>.self)
                out.storeBytes(of: w0 * s1, toByteOffset: 128 &+ at, as: SIMD8<Float>.self)
                out.storeBytes(of: w1 * s0, toByteOffset: 256 &+ at, as: SIMD8<Float>.self)
                out.storeBytes(of: w1 * s1, toByteOffset: 384 &+ at, as: SIMD8<Float>.self)
                out.storeBytes(of: w2 * s0, toByteOffset: 512 &+ at, as: SIMD8<Float>.self)
                out.storeBytes(of: w2 * s1, toByteOffset: 640 &+ at, as: SIMD8<Float>.self)
                m00.addProduct(w0, n0); m01.addProduct(w0, n1); m10.addProduct(w1, n0)
                m11.addProduct(w1, n1); m20.addProduct(w2, n0); m21.addProduct(w2, n1)
                j &+= 8
            }
            while j < c1 {
                let p = params + (lo &+ j) &* 8
                for k in 0..<3 {
                    let wk = weights[k &* weightStride &+ j]
                    for g in 0..<2 {
                        products[(2 &* k &+ g) &* 32 &+ j &- c0] = wk * Half.load(p, g &* 2)
                        shares[2 &* k &+ g] += wk * Half.load(p, 4 &+ g &* 2)
                    }
                }
                j &+= 1
            }
            for slot in 0..<6 {
                let row = products + slot &* 32
                for t in (c1 &- c0)..<32 { row[t] = 0 }
                let raw = UnsafeRawPointer(row)
                var m = SIMD8<Float>()
                for t in stride(from: 0, to: 32, by: 8) { m = legacyMaxMagnitude(m, raw.loadUnaligned(fromByteOffset: t &* 4, as: SIMD8<Float>.self)) }
                let largest = legacyHorizontalMax(m)
                let inverse: Float = largest > 0 ? 32767 / largest : 0
                steps[slot &* chunks &+ c] = largest / 32767
                for t in stride(from: 0, to: 32, by: 8) {
                    legacyStoreRounded(raw.loadUnaligned(fromByteOffset: t &* 4, as: SIMD8<Float>.self) * inverse,
                                 rounded + (slot &* padded &+ c0 &+ t))
                }
            }
        }
        shares[0] += m00.sum(); shares[1] += m01.sum(); shares[2] += m10.sum()
        shares[3] += m11.sum(); shares[4] += m20.sum(); shares[5] += m21.sum()
    }

    /// Eight rows' value parameters (per row: scale₀, scale₁, min₀, min₁ in f16) as four vectors in
    /// row order: a 4 × 8 transpose of the converted halves.
    @inline(__always)
    private static func legacyValueParams8(_ params: UnsafeRawPointer, _ row: Int)
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let p = params + row &* 8
        // Each load holds two rows: [s0 s1 m0 m1 | s0 s1 m0 m1].
        let p0 = Half.load8(p, 0), p1 = Half.load8(p, 16), p2 = Half.load8(p, 32), p3 = Half.load8(p, 48)
        let a = _mm256_unpacklo_ps(p0, p1), b = _mm256_unpackhi_ps(p0, p1)
        let c = _mm256_unpacklo_ps(p2, p3), d = _mm256_unpackhi_ps(p2, p3)
        @inline(__always) func low(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
            unsafeBitCast(_mm256_unpacklo_pd(unsafeBitCast(x, to: SIMD4<Double>.self), unsafeBitCast(y, to: SIMD4<Double>.self)),
                          to: SIMD8<Float>.self)
        }
        @inline(__always) func high(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
            unsafeBitCast(_mm256_unpackhi_pd(unsafeBitCast(x, to: SIMD4<Double>.self), unsafeBitCast(y, to: SIMD4<Double>.self)),
                          to: SIMD8<Float>.self)
        }
        // The unpacks leave rows in the order 0 2 4 6 1 3 5 7.
        let order = unsafeBitCast(SIMD8<Int32>(0, 4, 1, 5, 2, 6, 3, 7), to: SIMD4<Int64>.self)
        @inline(__always) func sorted(_ x: SIMD8<Float>) -> SIMD8<Float> { _mm256_permutevar8x32_ps(x, order) }
        return (sorted(low(a, c)), sorted(high(a, c)), sorted(low(b, d)), sorted(high(b, d)))
    }

    /// Eight floats (each within ±32767) rounded to nearest and stored as Int16.
    @inline(__always)
    private static func legacyStoreRounded(_ v: SIMD8<Float>, _ dst: UnsafeMutablePointer<Int16>) {
        let i = unsafeBitCast(_mm256_cvtps_epi32(v), to: SIMD8<Int32>.self)
        let packed = _mm_packs_epi32(unsafeBitCast(i.lowHalf, to: SIMD2<Int64>.self), unsafeBitCast(i.highHalf, to: SIMD2<Int64>.self))
        UnsafeMutableRawPointer(dst).storeBytes(of: packed, as: SIMD2<Int64>.self)
    }

    /// Lane-wise max(m, |v|) (`vandps` + `vmaxps`; the stdlib's generic `pointwiseMax` is not inlined).
    @inline(__always)
    private static func legacyMaxMagnitude(_ m: SIMD8<Float>, _ v: SIMD8<Float>) -> SIMD8<Float> {
        let magnitude = unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
        return _mm256_max_ps(m, magnitude)
    }

    /// The largest lane (the stdlib's `SIMD.max()` is not inlined).
    @inline(__always)
    private static func legacyHorizontalMax(_ v: SIMD8<Float>) -> Float {
        var m = _mm_max_ps(v.lowHalf, v.highHalf)
        m = _mm_max_ps(m, _mm_movehl_ps(m, m))
        return _mm_max_ps(m, _mm_movehdup_ps(m))[0]
    }

    /// The four row sums from two pairwise sums (`vphaddd` of rows 0, 1 and of rows 2, 3), as floats.
    @inline(__always)
    private static func legacyFinish(_ h01: SIMD4<Int64>, _ h23: SIMD4<Int64>) -> SIMD4<Float> {
        let h = unsafeBitCast(_mm256_hadd_epi32(h01, h23), to: SIMD8<Int32>.self)
        return _mm_cvtepi32_ps(unsafeBitCast(h.lowHalf &+ h.highHalf, to: SIMD2<Int64>.self))
    }
}
#endif
