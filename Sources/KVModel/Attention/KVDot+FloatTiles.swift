/// Register-tiled float loops of decode attention, for any query group and any head width.
///
/// A KV head's `G` queries are cut into tiles of at most four (`QueryTiles`), and each tile reads
/// the rows once:
/// - scores: Q queries × K keys accumulate in Q·K registers of eight channels over the whole
///   width, and each query's K sums come out of one `vhaddps` tree (not one horizontal sum per
///   key and query); four keys for Q ≤ 3, three for Q = 4 (twelve accumulators and the keys fit
///   the sixteen registers).
/// - values: Q queries × C·8 channels accumulate in Q·C registers while every row of the slice
///   adds its C vectors, chunk after chunk of the width (C = 4: one f16 cache line per row and
///   chunk; C = 2 for Q = 4, again so that accumulators and operands fit).
/// Channels past the last multiple of 8 (a narrowed key) are added one at a time.
extension KVDot {
    /// `scores[k·scoreStride + (j - lo)] = queries[k] · row_j` for `k` in `0..<G` and rows `lo..<hi`
    /// at `rows + j·rowBytes`, over `width` channels.
    static func floatScores<R: KVRowFormat>(_: R.Type, rows: UnsafeRawPointer, rowBytes: Int, lo: Int, hi: Int, width: Int,
                                            queries: UnsafePointer<Float>, queryStride: Int, groupSize G: Int,
                                            scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
        guard lo < hi else { return }
        QueryTiles.forEach(G) { first, count in
            let q = queries + first * queryStride, s = scores + first * scoreStride
            // The default width as a constant: its channel loop unrolls fully, and without the
            // loop's carried accumulators the twelve of Q = 3 stay in registers (measured: the
            // runtime-width loop shuffles registers and is ~10% slower).
            if width == 64 {
                scoreTiles(R.self, Width64.self, count, rows, rowBytes, lo, hi, width, q, queryStride, s, scoreStride)
            } else {
                scoreTiles(R.self, AnyWidth.self, count, rows, rowBytes, lo, hi, width, q, queryStride, s, scoreStride)
            }
        }
    }

    @inline(__always)
    private static func scoreTiles<R: KVRowFormat, W: StaticCount>(
        _: R.Type, _: W.Type, _ count: Int, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ lo: Int, _ hi: Int, _ width: Int,
        _ q: UnsafePointer<Float>, _ queryStride: Int, _ s: UnsafeMutablePointer<Float>, _ scoreStride: Int
    ) {
        switch count {
        case 1: scoreTile(R.self, N1.self, N4.self, W.self, rows, rowBytes, lo, hi, width, q, queryStride, s, scoreStride)
        case 2: scoreTile(R.self, N2.self, N4.self, W.self, rows, rowBytes, lo, hi, width, q, queryStride, s, scoreStride)
        case 3: scoreTile(R.self, N3.self, N4.self, W.self, rows, rowBytes, lo, hi, width, q, queryStride, s, scoreStride)
        default: scoreTile(R.self, N4.self, N3.self, W.self, rows, rowBytes, lo, hi, width, q, queryStride, s, scoreStride)
        }
    }

    /// `output[k·outputStride + c] += Σ_j weights[k·weightStride + (j - lo)] · row_j[c]` for `k` in `0..<G`.
    static func floatWeightedValues<R: KVRowFormat>(_: R.Type, rows: UnsafeRawPointer, rowBytes: Int, lo: Int, hi: Int,
                                                    width: Int, weights: UnsafePointer<Float>, weightStride: Int, groupSize G: Int,
                                                    output: UnsafeMutablePointer<Float>, outputStride: Int) {
        guard lo < hi else { return }
        QueryTiles.forEach(G) { first, count in
            let w = weights + first * weightStride, o = output + first * outputStride
            switch count {
            case 1: valueTile(R.self, N1.self, N4.self, rows, rowBytes, lo, hi, width, w, weightStride, o, outputStride)
            case 2: valueTile(R.self, N2.self, N4.self, rows, rowBytes, lo, hi, width, w, weightStride, o, outputStride)
            case 3: valueTile(R.self, N3.self, N4.self, rows, rowBytes, lo, hi, width, w, weightStride, o, outputStride)
            default: valueTile(R.self, N4.self, N2.self, rows, rowBytes, lo, hi, width, w, weightStride, o, outputStride)
            }
        }
    }

    /// Scores of `Q` queries, `K` rows at a time.
    @inline(__always)
    private static func scoreTile<R: KVRowFormat, Q: StaticCount, K: StaticCount, W: StaticCount>(
        _: R.Type, _: Q.Type, _: K.Type, _: W.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ lo: Int, _ hi: Int, _ width: Int,
        _ queries: UnsafePointer<Float>, _ queryStride: Int, _ scores: UnsafeMutablePointer<Float>, _ scoreStride: Int
    ) {
        let qr = UnsafeRawPointer(queries), qs = queryStride &* 4
        let vecEnd = W.value > 0 ? W.value : width & ~7
        @inline(__always) func query(_ k: Int, _ c: Int) -> SIMD8<Float> {
            qr.loadUnaligned(fromByteOffset: k &* qs &+ c &* 4, as: SIMD8<Float>.self)
        }
        /// Scores of rows r0…r3 (the first `real` of them are stored) into column `j`.
        @inline(__always) func tile(_ r0: UnsafeRawPointer, _ r1: UnsafeRawPointer, _ r2: UnsafeRawPointer,
                                    _ r3: UnsafeRawPointer, _ j: Int, _ real: Int) {
            // t_i: key i's accumulators, one per query. The queries are loaded once per eight
            // channels and each key is used as soon as it is converted (Q + 1 operand registers).
            var t0 = Accumulators4(), t1 = Accumulators4(), t2 = Accumulators4(), t3 = Accumulators4()
            var c = 0
            while c < vecEnd {
                var q = Accumulators4()
                q.a0 = query(0, c)
                if Q.value > 1 { q.a1 = query(1, c) }
                if Q.value > 2 { q.a2 = query(2, c) }
                if Q.value > 3 { q.a3 = query(3, c) }
                t0.add(q, times: R.load8(r0, c), Q.value)
                if K.value > 1 { t1.add(q, times: R.load8(r1, c), Q.value) }
                if K.value > 2 { t2.add(q, times: R.load8(r2, c), Q.value) }
                if K.value > 3 { t3.add(q, times: R.load8(r3, c), Q.value) }
                c &+= 8
            }
            @inline(__always) func finish(_ k: Int) {
                var s = Accumulators4(a0: t0[k], a1: t1[k], a2: t2[k], a3: t3[k]).sums()
                if vecEnd < width {
                    let q = queries + k &* queryStride
                    for c in vecEnd..<width {
                        s += SIMD4(R.load1(r0, c), R.load1(r1, c), R.load1(r2, c), R.load1(r3, c)) * q[c]
                    }
                }
                let out = scores + (k &* scoreStride &+ j)
                if real == 4 {
                    UnsafeMutableRawPointer(out).storeBytes(of: s, as: SIMD4<Float>.self)
                } else {
                    for i in 0..<real { out[i] = s[i] }
                }
            }
            finish(0)
            if Q.value > 1 { finish(1) }
            if Q.value > 2 { finish(2) }
            if Q.value > 3 { finish(3) }
        }
        var j = 0, row = rows + lo &* rowBytes
        let n = hi &- lo
        while j &+ K.value <= n {
            tile(row, row + rowBytes, row + 2 &* rowBytes, row + 3 &* rowBytes, j, K.value)
            row += K.value &* rowBytes
            j &+= K.value
        }
        // A short last tile repeats the last row; only real rows are stored.
        if j < n {
            let last = n &- 1 &- j
            tile(row, row + min(1, last) &* rowBytes, row + min(2, last) &* rowBytes, row + min(3, last) &* rowBytes, j, n &- j)
        }
    }

    /// Weighted values of `Q` queries: chunks of `C` vectors while they fit, then narrower ones.
    @inline(__always)
    private static func valueTile<R: KVRowFormat, Q: StaticCount, C: StaticCount>(
        _: R.Type, _: Q.Type, _: C.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ lo: Int, _ hi: Int, _ width: Int,
        _ weights: UnsafePointer<Float>, _ weightStride: Int, _ output: UnsafeMutablePointer<Float>, _ outputStride: Int
    ) {
        let vecEnd = width & ~7
        var c = 0
        while c &+ 8 &* C.value <= vecEnd {
            valueChunk(R.self, Q.self, C.self, rows, rowBytes, lo, hi, c, weights, weightStride, output, outputStride)
            c &+= 8 &* C.value
        }
        if C.value > 2 && c &+ 16 <= vecEnd {
            valueChunk(R.self, Q.self, N2.self, rows, rowBytes, lo, hi, c, weights, weightStride, output, outputStride)
            c &+= 16
        }
        if C.value > 1 && c &+ 8 <= vecEnd {
            valueChunk(R.self, Q.self, N1.self, rows, rowBytes, lo, hi, c, weights, weightStride, output, outputStride)
            c &+= 8
        }
        for c in vecEnd..<width {
            for j in lo..<hi {
                let v = R.load1(rows + j &* rowBytes, c)
                for k in 0..<Q.value { output[k &* outputStride &+ c] += weights[k &* weightStride &+ j &- lo] * v }
            }
        }
    }

    /// Channels `c..<c + 8·C` of the weighted values of `Q` queries over every row.
    @inline(__always)
    private static func valueChunk<R: KVRowFormat, Q: StaticCount, C: StaticCount>(
        _: R.Type, _: Q.Type, _: C.Type, _ rows: UnsafeRawPointer, _ rowBytes: Int, _ lo: Int, _ hi: Int, _ c: Int,
        _ weights: UnsafePointer<Float>, _ weightStride: Int, _ output: UnsafeMutablePointer<Float>, _ outputStride: Int
    ) {
        let w = weights - lo
        var o0 = Accumulators4(), o1 = Accumulators4(), o2 = Accumulators4(), o3 = Accumulators4()
        for j in lo..<hi {
            let row = rows + j &* rowBytes
            var v = Accumulators4()
            v.a0 = R.load8(row, c)
            if C.value > 1 { v.a1 = R.load8(row, c &+ 8) }
            if C.value > 2 { v.a2 = R.load8(row, c &+ 16) }
            if C.value > 3 { v.a3 = R.load8(row, c &+ 24) }
            o0.add(v, times: SIMD8(repeating: w[j]), C.value)
            if Q.value > 1 { o1.add(v, times: SIMD8(repeating: w[weightStride &+ j]), C.value) }
            if Q.value > 2 { o2.add(v, times: SIMD8(repeating: w[2 &* weightStride &+ j]), C.value) }
            if Q.value > 3 { o3.add(v, times: SIMD8(repeating: w[3 &* weightStride &+ j]), C.value) }
        }
        @inline(__always) func store(_ o: Accumulators4, _ k: Int) {
            let out = UnsafeMutableRawPointer(output + (k &* outputStride &+ c))
            @inline(__always) func add(_ i: Int, _ x: SIMD8<Float>) {
                let at = i &* 32
                out.storeBytes(of: out.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self) + x, toByteOffset: at, as: SIMD8<Float>.self)
            }
            add(0, o.a0)
            if C.value > 1 { add(1, o.a1) }
            if C.value > 2 { add(2, o.a2) }
            if C.value > 3 { add(3, o.a3) }
        }
        store(o0, 0)
        if Q.value > 1 { store(o1, 1) }
        if Q.value > 2 { store(o2, 2) }
        if Q.value > 3 { store(o3, 3) }
    }
}
