#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Integer scores against quantized keys, for any key width (narrowed keys too) and any group.
///
/// Why integers: turning codes into floats (widen, convert, then one FMA per query) costs about
/// as much as converting f16, so a float loop over 4-bit codes is barely faster than over f16.
/// Here the codes stay 16-bit integers and `vpmaddwd` multiplies sixteen of them at a time by the
/// query rounded to 16-bit integers (once per block: the query times the block's channel scales,
/// with one float step per query), summing pairs into 32-bit lanes. A tile of up to four queries
/// reads each row's codes once; four rows are summed pairwise as they finish, so the live vectors
/// are two per query. Rounding moves a score by about 1e-5 of its magnitude, far below the codes'
/// own error.
extension KVDot {
    /// How a row of packed key codes is read: `units` whole 16-byte units, then maybe a half unit.
    struct KeyCodeLayout {
        let units: Int, halfUnit: Bool
        /// Code vectors per row (sixteen lanes each).
        let parts: Int
        /// Channels the lanes cover (the key width rounded up to whole units): the scaled query's length.
        let channels: Int

        init<U: KVCodeUnpacker>(_: U.Type, rowBytes: Int) {
            units = rowBytes >> 4
            halfUnit = rowBytes & 8 != 0
            parts = (units + (halfUnit ? 1 : 0)) * U.perUnit
            channels = (units + (halfUnit ? 1 : 0)) * U.unitChannels
        }
    }

    /// `scores[k·scoreStride + (j - r0)] = scaled[k] · code[j] + bias[k]` for rows `r0..<r1` of one
    /// block and `k` in `0..<G`. `scaled` holds G queries of `layout.channels` floats (zero past the
    /// key width); `lanes` is scratch for `G × layout.parts × 16` Int16, `steps` for G floats.
    static func integerKeyScores<U: KVCodeUnpacker>(
        _: U.Type, layout: KeyCodeLayout, codes: UnsafeRawPointer, rowBytes: Int, r0: Int, r1: Int,
        scaled: UnsafePointer<Float>, bias: UnsafePointer<Float>, groupSize G: Int, lanes: UnsafeMutablePointer<Int16>,
        steps: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>, scoreStride: Int
    ) {
        // Sums stay within 32 bits: at most `parts·16` products of (2^bits − 1) × limit each.
        let limit = Float(min(32767, Int(Int32.max) / (layout.parts * 16 * ((1 << U.bits) - 1))))
        for k in 0..<G {
            steps[k] = roundQuery(U.self, layout, scaled + k * layout.channels, limit: limit, into: lanes + k * layout.parts * 16)
        }
        QueryTiles.forEach(G) { first, count in
            let l = UnsafePointer(lanes + first * layout.parts * 16), st = UnsafePointer(steps + first)
            let b = bias + first, s = scores + first * scoreStride
            // The default width (64) as a constant: its unit loop unrolls.
            if rowBytes == 8 * U.bits {
                keyTiles(U.self, Width64.self, count, layout, codes, rowBytes, r0, r1, l, st, b, s, scoreStride)
            } else {
                keyTiles(U.self, AnyWidth.self, count, layout, codes, rowBytes, r0, r1, l, st, b, s, scoreStride)
            }
        }
    }

    @inline(__always)
    private static func keyTiles<U: KVCodeUnpacker, W: StaticCount>(
        _: U.Type, _: W.Type, _ count: Int, _ layout: KeyCodeLayout, _ codes: UnsafeRawPointer, _ rowBytes: Int,
        _ r0: Int, _ r1: Int, _ lanes: UnsafePointer<Int16>, _ steps: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
        _ scores: UnsafeMutablePointer<Float>, _ scoreStride: Int
    ) {
        switch count {
        case 1: keyTile(U.self, N1.self, W.self, layout, codes, rowBytes, r0, r1, lanes, steps, bias, scores, scoreStride)
        case 2: keyTile(U.self, N2.self, W.self, layout, codes, rowBytes, r0, r1, lanes, steps, bias, scores, scoreStride)
        case 3: keyTile(U.self, N3.self, W.self, layout, codes, rowBytes, r0, r1, lanes, steps, bias, scores, scoreStride)
        default: keyTile(U.self, N4.self, W.self, layout, codes, rowBytes, r0, r1, lanes, steps, bias, scores, scoreStride)
        }
    }

    /// Scores of `Q` queries over rows `r0..<r1`, four rows at a time.
    @inline(__always)
    private static func keyTile<U: KVCodeUnpacker, Q: StaticCount, W: StaticCount>(
        _: U.Type, _: Q.Type, _: W.Type, _ layout: KeyCodeLayout, _ codes: UnsafeRawPointer, _ rowBytes: Int,
        _ r0: Int, _ r1: Int, _ lanes: UnsafePointer<Int16>, _ steps: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
        _ scores: UnsafeMutablePointer<Float>, _ scoreStride: Int
    ) {
        let units = W.value > 0 ? W.value * U.bits / 128 : layout.units
        let halfUnit = W.value > 0 ? false : layout.halfUnit
        let q = UnsafeRawPointer(lanes), queryBytes = layout.parts &* 32
        @inline(__always) func lane(_ k: Int, _ p: Int) -> SIMD4<Int64> {
            q.loadUnaligned(fromByteOffset: k &* queryBytes &+ p &* 32, as: SIMD4<Int64>.self)
        }
        typealias Sums = (SIMD4<Int64>, SIMD4<Int64>, SIMD4<Int64>, SIMD4<Int64>)
        // One row against the tile's queries: per query eight 32-bit partial sums.
        @inline(__always) func dot(_ row: UnsafeRawPointer) -> Sums {
            var a: Sums = (SIMD4(), SIMD4(), SIMD4(), SIMD4())
            @inline(__always) func part(_ x: SIMD4<Int64>, _ p: Int) {
                a.0 = _mm256_add_epi32(a.0, _mm256_madd_epi16(x, lane(0, p)))
                if Q.value > 1 { a.1 = _mm256_add_epi32(a.1, _mm256_madd_epi16(x, lane(1, p))) }
                if Q.value > 2 { a.2 = _mm256_add_epi32(a.2, _mm256_madd_epi16(x, lane(2, p))) }
                if Q.value > 3 { a.3 = _mm256_add_epi32(a.3, _mm256_madd_epi16(x, lane(3, p))) }
            }
            @inline(__always) func unit(_ x: SIMD4<Int64>, _ p: Int) {
                part(U.codeVector(unit: x, 0), p)
                if U.perUnit > 1 { part(U.codeVector(unit: x, 1), p &+ 1) }
                if U.perUnit > 2 { part(U.codeVector(unit: x, 2), p &+ 2); part(U.codeVector(unit: x, 3), p &+ 3) }
            }
            var u = 0
            while u < units {
                unit(WholeUnit.load(row, u &* 16), u &* U.perUnit)
                u &+= 1
            }
            if halfUnit { unit(HalfUnit.load(row, u &* 16), u &* U.perUnit) }
            return a
        }
        // Rows are summed pairwise as soon as they are done (the first level of the horizontal sum).
        @inline(__always) func pair(_ rowA: UnsafeRawPointer, _ rowB: UnsafeRawPointer) -> Sums {
            let a = dot(rowA), b = dot(rowB)
            return (_mm256_hadd_epi32(a.0, b.0), Q.value > 1 ? _mm256_hadd_epi32(a.1, b.1) : a.1,
                    Q.value > 2 ? _mm256_hadd_epi32(a.2, b.2) : a.2, Q.value > 3 ? _mm256_hadd_epi32(a.3, b.3) : a.3)
        }
        /// Rows at `rows + i·rowBytes` for i < 4 (clamped to `last`), stored from column `j`, `real` of them.
        @inline(__always) func tile(_ r: UnsafeRawPointer, _ last: Int, _ j: Int, _ real: Int) {
            let h = pair(r, r + min(1, last) &* rowBytes), g = pair(r + min(2, last) &* rowBytes, r + min(3, last) &* rowBytes)
            @inline(__always) func store(_ h01: SIMD4<Int64>, _ h23: SIMD4<Int64>, _ k: Int) {
                let o = finish(h01, h23) * steps[k] + bias[k]
                let out = scores + (k &* scoreStride &+ j)
                if real == 4 {
                    UnsafeMutableRawPointer(out).storeBytes(of: o, as: SIMD4<Float>.self)
                } else {
                    for t in 0..<real { out[t] = o[t] }
                }
            }
            store(h.0, g.0, 0)
            if Q.value > 1 { store(h.1, g.1, 1) }
            if Q.value > 2 { store(h.2, g.2, 2) }
            if Q.value > 3 { store(h.3, g.3, 3) }
        }
        var j = 0, row = codes + r0 &* rowBytes
        let n = r1 &- r0
        while j &+ 4 <= n {
            tile(row, 3, j, 4)
            row += 4 &* rowBytes
            j &+= 4
        }
        // A short last group repeats the block's last row; only real rows are stored.
        if j < n { tile(row, n &- 1 &- j, j, n &- j) }
    }

    /// Rounds one scaled query to 16-bit integers laid out like the code vectors' lanes (at most
    /// `limit` in magnitude); returns the step (`query ≈ step · lanes`).
    @inline(__always)
    private static func roundQuery<U: KVCodeUnpacker>(_: U.Type, _ layout: KeyCodeLayout, _ x: UnsafePointer<Float>, limit: Float,
                                                      into lanes: UnsafeMutablePointer<Int16>) -> Float {
        let raw = UnsafeRawPointer(x)
        var m = SIMD8<Float>()
        for c in stride(from: 0, to: layout.channels, by: 8) {
            m = maxMagnitude(m, raw.loadUnaligned(fromByteOffset: c &* 4, as: SIMD8<Float>.self))
        }
        let largest = horizontalMax(m)
        let inverse: Float = largest > 0 ? limit / largest : 0
        var p = 0
        for u in 0..<(layout.parts / U.perUnit) {
            for s in 0..<U.perUnit {
                for half in 0..<2 {
                    let c = u &* U.unitChannels &+ U.laneChannel(s, half)
                    storeRounded(raw.loadUnaligned(fromByteOffset: c &* 4, as: SIMD8<Float>.self) * inverse, lanes + (p &* 16 &+ half &* 8))
                }
                p &+= 1
            }
        }
        return largest / limit
    }

    /// The four row sums from two pairwise sums (`vphaddd` of rows 0, 1 and of rows 2, 3), as floats.
    @inline(__always)
    private static func finish(_ h01: SIMD4<Int64>, _ h23: SIMD4<Int64>) -> SIMD4<Float> {
        let h = unsafeBitCast(_mm256_hadd_epi32(h01, h23), to: SIMD8<Int32>.self)
        return _mm_cvtepi32_ps(unsafeBitCast(h.lowHalf &+ h.highHalf, to: SIMD2<Int64>.self))
    }
}
#endif
