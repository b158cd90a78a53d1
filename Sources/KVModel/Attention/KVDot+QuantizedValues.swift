#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Integer weighted values over quantized values, for any width and group (value groups of a
/// multiple of 8 channels, so each run of eight channels in a code vector has one scale).
///
/// `Σ_j w_j·v_jc = Σ_j (w_j·scale_jg)·code_jc + Σ_j w_j·min_jg`: per query and value group, the
/// weights times each row's group scale are rounded to 16 bits per 32-row chunk, two rows' codes
/// are interleaved so that each 32-bit lane of `vpmaddwd` holds `w_j·code_jc + w_{j+1}·code_{j+1,c}`
/// for one channel, and each chunk's integer sums become floats once; the minima add one scalar per
/// group at the end. A tile of up to four queries reads each code vector of each row once. Sums
/// stay within 32 bits: at most 32 products of 255 × 32767 per lane and chunk.
extension KVDot {
    /// Rows per block of the value pass: its parameters, rounded weights and codes stay in cache
    /// across the block's passes, and the scratch stays small (on the stack).
    static let valueBlockRows = 512

    /// `output[k·outputStride + c] += Σ_j weights[k·weightStride + (j - lo)]·(min_jg + scale_jg·code_jc)`
    /// for rows `lo..<hi` of the blocks and `k` in `0..<G`.
    static func integerWeightedValues<U: KVCodeUnpacker>(
        _: U.Type, _ blocks: QuantizedKVBlocks, codes: UnsafeRawPointer, params: UnsafeRawPointer, lo: Int, hi: Int,
        weights: UnsafePointer<Float>, weightStride: Int, groupSize G: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        let groups = blocks.valueGroups, blockRows = min(valueBlockRows, (hi - lo + 31) / 32 * 32), blockChunks = blockRows / 32
        let tileSlots = min(G, 4) * groups
        // The transposed parameters get whole multiples of eight rows: a transpose stores all eight columns.
        let paramRows = (2 * groups + 7) / 8 * 8
        withUnsafeTemporaryAllocation(of: Float.self, capacity: paramRows * blockRows + tileSlots * (blockChunks + 9) + 32) { floats in
        withUnsafeTemporaryAllocation(of: Int16.self, capacity: tileSlots * blockRows) { ints in
            // Per group: the rows' scales then the rows' minima, as floats in row order (zero past n).
            let scales = floats.baseAddress!, steps = scales + paramRows * blockRows, shares = steps + tileSlots * blockChunks
            let scratch = (scales: UnsafePointer(scales), products: shares + tileSlots, rounded: ints.baseAddress!, steps: steps,
                           shares: shares, shareLanes: shares + tileSlots + 32)
            var r0 = lo
            while r0 < hi {
                let r1 = min(hi, r0 + blockRows), n = r1 - r0, chunks = (n + 31) / 32
                transposeValueParams(params, groups: groups, rows: r0, n, of: blocks.rowCount, into: scales, stride: chunks * 32)
                let layout = ValueTileLayout(blocks: blocks, n: n)
                QueryTiles.forEach(G) { first, count in
                    let w = weights + (first * weightStride + r0 - lo), out = output + first * outputStride
                    switch count {
                    case 1: valueTile(U.self, N1.self, layout, codes, r0, w, weightStride, out, outputStride, scratch)
                    case 2: valueTile(U.self, N2.self, layout, codes, r0, w, weightStride, out, outputStride, scratch)
                    case 3: valueTile(U.self, N3.self, layout, codes, r0, w, weightStride, out, outputStride, scratch)
                    default: valueTile(U.self, N4.self, layout, codes, r0, w, weightStride, out, outputStride, scratch)
                    }
                }
                r0 = r1
            }
        } }
    }

    /// Sizes of one block of the value pass (`n` rows in 32-row chunks).
    struct ValueTileLayout {
        let width: Int, groupSize: Int, groups: Int, rowBytes: Int
        let units: Int, halfUnit: Bool
        let n: Int, chunks: Int, padded: Int

        init(blocks: QuantizedKVBlocks, n: Int) {
            width = blocks.valueDimension
            groupSize = blocks.scheme.groupSize
            groups = blocks.valueGroups
            rowBytes = blocks.valueRowBytes
            units = rowBytes >> 4
            halfUnit = rowBytes & 8 != 0
            self.n = n
            chunks = (n + 31) / 32
            padded = chunks * 32
        }
    }

    typealias ValueScratch = (scales: UnsafePointer<Float>, products: UnsafeMutablePointer<Float>, rounded: UnsafeMutablePointer<Int16>,
                              steps: UnsafeMutablePointer<Float>, shares: UnsafeMutablePointer<Float>,
                              shareLanes: UnsafeMutablePointer<Float>)

    /// The weighted values of `Q` queries: weights rounded per (query, group), then one pass per
    /// code vector over every row.
    @inline(__always)
    private static func valueTile<U: KVCodeUnpacker, Q: StaticCount>(
        _: U.Type, _: Q.Type, _ layout: ValueTileLayout, _ codes: UnsafeRawPointer, _ lo: Int,
        _ weights: UnsafePointer<Float>, _ weightStride: Int, _ output: UnsafeMutablePointer<Float>, _ outputStride: Int,
        _ scratch: ValueScratch
    ) {
        let groups = layout.groups, padded = layout.padded, chunks = layout.chunks, n = layout.n
        roundValueWeights(queries: Q.value, layout, weights, weightStride, scratch)
        let pairs = UnsafeRawPointer(scratch.rounded), steps = scratch.steps, shares = scratch.shares
        let rowBytes = layout.rowBytes, rows = codes + lo &* rowBytes
        // One pass: code vector `s` of unit `u` of every row, for channels base + laneChannel(s, ·).
        // `s`, the unit's load and whether both halves share a group are static types: LLVM may
        // leave these functions out of line, and then only their generic parameters stay constant.
        @inline(__always) func pass<S: StaticCount, L: CodeUnitLoad>(_ u: Int, _: S.Type, _: L.Type) {
            let s = S.value, base = u &* U.unitChannels
            let cLo = base &+ U.laneChannel(s, 0), cHi = base &+ U.laneChannel(s, 1)
            // A half unit's lanes 8..<16 are zero codes: any group's weights will do.
            let gLo = cLo / layout.groupSize, gHi = cHi < layout.width ? cHi / layout.groupSize : gLo
            @inline(__always) func load(_ row: UnsafeRawPointer) -> SIMD4<Int64> {
                U.codeVector(unit: L.load(row, u &* 16), S.value)
            }
            // Accumulators per query: integer sums of the chunk (low and high unpack), float totals.
            var f0 = (SIMD8<Float>(), SIMD8<Float>()), f1 = f0, f2 = f0, f3 = f0
            @inline(__always) func sweep<SameGroup: StaticCount>(_: SameGroup.Type) {
                // Each query's weights for the two groups, as base pointers (indexed by row alone).
                @inline(__always) func base(_ k: Int, _ g: Int) -> UnsafeRawPointer { pairs + (k &* groups &+ g) &* padded &* 2 }
                let l0 = base(0, gLo), l1 = base(1, gLo), l2 = base(2, gLo), l3 = base(3, gLo)
                let h0 = base(0, gHi), h1 = base(1, gHi), h2 = base(2, gHi), h3 = base(3, gHi)
                @inline(__always) func pairWeights(_ k: Int, _ j: Int) -> SIMD4<Int64> {
                    let lowBase = k == 0 ? l0 : k == 1 ? l1 : k == 2 ? l2 : l3
                    let l = lowBase.loadUnaligned(fromByteOffset: j &* 2, as: Int32.self)
                    if SameGroup.value == 1 { return _mm256_set1_epi32(l) }
                    let highBase = k == 0 ? h0 : k == 1 ? h1 : k == 2 ? h2 : h3
                    let h = highBase.loadUnaligned(fromByteOffset: j &* 2, as: Int32.self)
                    return _mm256_set_m128i(_mm_set1_epi32(h), _mm_set1_epi32(l))
                }
                @inline(__always) func stepVector(_ k: Int, _ c: Int) -> SIMD8<Float> {
                    SIMD8(lowHalf: SIMD4(repeating: steps[(k &* groups &+ gLo) &* chunks &+ c]),
                          highHalf: SIMD4(repeating: steps[(k &* groups &+ gHi) &* chunks &+ c]))
                }
                for c in 0..<chunks {
                    let c0 = c &* 32, c1 = min(n, c0 &+ 32)
                    var a0 = (SIMD4<Int64>(), SIMD4<Int64>()), a1 = a0, a2 = a0, a3 = a0
                    @inline(__always) func accumulate(_ rowA: UnsafeRawPointer, _ rowB: UnsafeRawPointer, _ j: Int) {
                        let xA = load(rowA), xB = load(rowB)
                        let low = _mm256_unpacklo_epi16(xA, xB), high = _mm256_unpackhi_epi16(xA, xB)
                        @inline(__always) func add(_ a: inout (SIMD4<Int64>, SIMD4<Int64>), _ k: Int) {
                            let w = pairWeights(k, j)
                            a.0 = _mm256_add_epi32(a.0, _mm256_madd_epi16(low, w))
                            a.1 = _mm256_add_epi32(a.1, _mm256_madd_epi16(high, w))
                        }
                        add(&a0, 0)
                        if Q.value > 1 { add(&a1, 1) }
                        if Q.value > 2 { add(&a2, 2) }
                        if Q.value > 3 { add(&a3, 3) }
                    }
                    var j = c0
                    var row = rows + j &* rowBytes
                    while j &+ 2 <= c1 {
                        accumulate(row, row + rowBytes, j)
                        row += 2 &* rowBytes
                        j &+= 2
                    }
                    // An odd last row pairs with itself at weight 0.
                    if j < c1 { accumulate(row, row, j) }
                    @inline(__always) func scale(_ f: inout (SIMD8<Float>, SIMD8<Float>), _ a: (SIMD4<Int64>, SIMD4<Int64>), _ k: Int) {
                        let t = stepVector(k, c)
                        f.0.addProduct(_mm256_cvtepi32_ps(a.0), t)
                        f.1.addProduct(_mm256_cvtepi32_ps(a.1), t)
                    }
                    scale(&f0, a0, 0)
                    if Q.value > 1 { scale(&f1, a1, 1) }
                    if Q.value > 2 { scale(&f2, a2, 2) }
                    if Q.value > 3 { scale(&f3, a3, 3) }
                }
            }
            if gLo == gHi { sweep(N1.self) } else { sweep(N0.self) }
            // Lane t of the low unpack is channel (t < 4 ? cLo : cHi) + t % 4; the high unpack's is 4 further.
            @inline(__always) func add(_ k: Int, _ f: (SIMD8<Float>, SIMD8<Float>)) {
                for high in 0..<2 {
                    let sums = high == 0 ? f.0 : f.1
                    for t in 0..<8 {
                        let channel = (t < 4 ? cLo : cHi) &+ t % 4 &+ 4 &* high
                        guard channel < layout.width else { continue }
                        output[k &* outputStride &+ channel] += sums[t] + shares[k &* groups &+ (t < 4 ? gLo : gHi)]
                    }
                }
            }
            add(0, f0)
            if Q.value > 1 { add(1, f1) }
            if Q.value > 2 { add(2, f2) }
            if Q.value > 3 { add(3, f3) }
        }
        // Spelled out per code vector so that `s`, and with it every shift, mask and lane, is a constant.
        @inline(__always) func unit<L: CodeUnitLoad>(_ u: Int, _: L.Type) {
            pass(u, N0.self, L.self)
            if U.perUnit > 1 { pass(u, N1.self, L.self) }
            if U.perUnit > 2 { pass(u, N2.self, L.self); pass(u, N3.self, L.self) }
        }
        for u in 0..<layout.units { unit(u, WholeUnit.self) }
        if layout.halfUnit { unit(layout.units, HalfUnit.self) }
    }

    /// For each query `k < queries` and group `g` (slot `k·groups + g`): `w_kj·scale_jg` rounded to
    /// 16 bits per 32-row chunk into `rounded[slot·padded + j]` (rows past `n` get 0), the chunk's
    /// step into `steps[slot·chunks + c]`, and `shares[slot] = Σ_j w_kj·min_jg`. A chunk's weights
    /// stay in registers for all groups (`products` is scratch for a short last chunk's 32 weights).
    @inline(__always)
    private static func roundValueWeights(queries: Int, _ layout: ValueTileLayout, _ weights: UnsafePointer<Float>,
                                          _ weightStride: Int, _ scratch: ValueScratch) {
        let groups = layout.groups, padded = layout.padded, chunks = layout.chunks, n = layout.n
        @inline(__always) func load(_ p: UnsafePointer<Float>, _ t: Int) -> SIMD8<Float> {
            UnsafeRawPointer(p + t &* 8).loadUnaligned(as: SIMD8<Float>.self)
        }
        // Each slot's Σ w·min stays eight lanes wide until the end (`shareLanes`): summing lanes per
        // chunk made LLVM turn the whole product into scalar code.
        let lanes = UnsafeMutableRawPointer(scratch.shareLanes)
        for k in 0..<queries {
            for g in 0..<groups { lanes.storeBytes(of: SIMD8<Float>(), toByteOffset: (k &* groups &+ g) &* 32, as: SIMD8<Float>.self) }
            for c in 0..<chunks {
                let c0 = c &* 32
                var w = weights + (k &* weightStride &+ c0)
                if n &- c0 < 32 {
                    // Weights past n are not ours to read (and may be anything): a zero-padded copy.
                    for t in 0..<32 { scratch.products[t] = c0 &+ t < n ? w[t] : 0 }
                    w = UnsafePointer(scratch.products)
                }
                let w0 = load(w, 0), w1 = load(w, 1), w2 = load(w, 2), w3 = load(w, 3)
                for g in 0..<groups {
                    let slot = k &* groups &+ g
                    let scale = scratch.scales + (g &* padded &+ c0), minimum = scratch.scales + ((groups &+ g) &* padded &+ c0)
                    let p0 = w0 * load(scale, 0), p1 = w1 * load(scale, 1), p2 = w2 * load(scale, 2), p3 = w3 * load(scale, 3)
                    let largest = horizontalMax(maxMagnitude(maxMagnitude(maxMagnitude(maxMagnitude(SIMD8(), p0), p1), p2), p3))
                    let inverse: Float = largest > 0 ? 32767 / largest : 0
                    scratch.steps[slot &* chunks &+ c] = largest / 32767
                    let out = scratch.rounded + (slot &* padded &+ c0)
                    storeRounded(p0 * inverse, out); storeRounded(p1 * inverse, out + 8)
                    storeRounded(p2 * inverse, out + 16); storeRounded(p3 * inverse, out + 24)
                    var share = lanes.loadUnaligned(fromByteOffset: slot &* 32, as: SIMD8<Float>.self)
                    share.addProduct(w0, load(minimum, 0)); share.addProduct(w1, load(minimum, 1))
                    share.addProduct(w2, load(minimum, 2)); share.addProduct(w3, load(minimum, 3))
                    lanes.storeBytes(of: share, toByteOffset: slot &* 32, as: SIMD8<Float>.self)
                }
            }
            for g in 0..<groups {
                let slot = k &* groups &+ g
                scratch.shares[slot] = horizontalSum(lanes.loadUnaligned(fromByteOffset: slot &* 32, as: SIMD8<Float>.self))
            }
        }
    }

    /// Rows `first..<first+n`' value parameters (per row `groups` f16 scales, then `groups` minima;
    /// `rowCount` rows in all) as floats, parameter-major: `dst[p·stride + j]`, zero for `j` in
    /// `n..<stride` (`dst` has room for P rounded up to a multiple of 8 parameters: the transposes
    /// store whole columns). Eight rows at a time through 8 × 8 transposes; rows whose loads would
    /// read past the parameters one at a time.
    private static func transposeValueParams(_ params: UnsafeRawPointer, groups: Int, rows first: Int, _ n: Int, of rowCount: Int,
                                             into dst: UnsafeMutablePointer<Float>, stride: Int) {
        let P = 2 * groups, out = UnsafeMutableRawPointer(dst)
        var j = 0
        // Two value groups (width 64 at groups of 32): a 4 × 8 transpose, four loads of two rows each.
        while P == 4 && j + 8 <= n {
            let p = params + (first + j) * 8
            let p0 = Half.load8(p, 0), p1 = Half.load8(p, 16), p2 = Half.load8(p, 32), p3 = Half.load8(p, 48)
            let a = _mm256_unpacklo_ps(p0, p1), b = _mm256_unpackhi_ps(p0, p1)
            let c = _mm256_unpacklo_ps(p2, p3), d = _mm256_unpackhi_ps(p2, p3)
            // The unpacks leave rows in the order 0 2 4 6 1 3 5 7.
            let order = unsafeBitCast(SIMD8<Int32>(0, 4, 1, 5, 2, 6, 3, 7), to: SIMD4<Int64>.self)
            @inline(__always) func store(_ i: Int, _ x: SIMD8<Float>) {
                out.storeBytes(of: _mm256_permutevar8x32_ps(x, order), toByteOffset: (i * stride + j) * 4, as: SIMD8<Float>.self)
            }
            store(0, low64(a, c)); store(1, high64(a, c)); store(2, low64(b, d)); store(3, high64(b, d))
            j += 8
        }
        while j + 8 <= n {
            var v = 0
            while v < P {
                // Eight halves per row from parameter v: the last row's load must stay inside the array.
                if (first + j + 7) * P + v + 8 > rowCount * P { break }
                var r = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(),
                         SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                let row = params + ((first + j) * P + v) * 2, rowBytes = P * 2
                r.0 = Half.load8(row, 0); r.1 = Half.load8(row, rowBytes)
                r.2 = Half.load8(row, 2 * rowBytes); r.3 = Half.load8(row, 3 * rowBytes)
                r.4 = Half.load8(row, 4 * rowBytes); r.5 = Half.load8(row, 5 * rowBytes)
                r.6 = Half.load8(row, 6 * rowBytes); r.7 = Half.load8(row, 7 * rowBytes)
                let t = transpose8(r)
                @inline(__always) func store(_ i: Int, _ column: SIMD8<Float>) {
                    out.storeBytes(of: column, toByteOffset: ((v + i) * stride + j) * 4, as: SIMD8<Float>.self)
                }
                store(0, t.0); store(1, t.1); store(2, t.2); store(3, t.3)
                store(4, t.4); store(5, t.5); store(6, t.6); store(7, t.7)
                v += 8
            }
            for p in min(v, P)..<P {
                for i in 0..<8 { dst[p * stride + j + i] = Half.load(params, ((first + j + i) * P + p) * 2) }
            }
            j += 8
        }
        for p in 0..<P {
            for i in j..<n { dst[p * stride + i] = Half.load(params, ((first + i) * P + p) * 2) }
            for i in n..<stride { dst[p * stride + i] = 0 }
        }
    }

    /// Pairs of floats from the low (high) half of each 128-bit lane of `x`, then of `y`
    /// (`vshufps` 0x44 / 0xEE, a macro that is not imported, as a 64-bit unpack).
    @inline(__always)
    private static func low64(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(_mm256_unpacklo_pd(unsafeBitCast(x, to: SIMD4<Double>.self), unsafeBitCast(y, to: SIMD4<Double>.self)),
                      to: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func high64(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(_mm256_unpackhi_pd(unsafeBitCast(x, to: SIMD4<Double>.self), unsafeBitCast(y, to: SIMD4<Double>.self)),
                      to: SIMD8<Float>.self)
    }

    /// The 8 × 8 transpose of eight rows (unpacks, then 128-bit halves): column i as vector i.
    @inline(__always)
    private static func transpose8(_ r: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>,
                                         SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>))
        -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let a0 = _mm256_unpacklo_ps(r.0, r.1), a1 = _mm256_unpackhi_ps(r.0, r.1)
        let a2 = _mm256_unpacklo_ps(r.2, r.3), a3 = _mm256_unpackhi_ps(r.2, r.3)
        let a4 = _mm256_unpacklo_ps(r.4, r.5), a5 = _mm256_unpackhi_ps(r.4, r.5)
        let a6 = _mm256_unpacklo_ps(r.6, r.7), a7 = _mm256_unpackhi_ps(r.6, r.7)
        let b0 = low64(a0, a2), b1 = high64(a0, a2), b2 = low64(a1, a3), b3 = high64(a1, a3)
        let b4 = low64(a4, a6), b5 = high64(a4, a6), b6 = low64(a5, a7), b7 = high64(a5, a7)
        return (SIMD8(lowHalf: b0.lowHalf, highHalf: b4.lowHalf), SIMD8(lowHalf: b1.lowHalf, highHalf: b5.lowHalf),
                SIMD8(lowHalf: b2.lowHalf, highHalf: b6.lowHalf), SIMD8(lowHalf: b3.lowHalf, highHalf: b7.lowHalf),
                SIMD8(lowHalf: b0.highHalf, highHalf: b4.highHalf), SIMD8(lowHalf: b1.highHalf, highHalf: b5.highHalf),
                SIMD8(lowHalf: b2.highHalf, highHalf: b6.highHalf), SIMD8(lowHalf: b3.highHalf, highHalf: b7.highHalf))
    }
}
#endif
