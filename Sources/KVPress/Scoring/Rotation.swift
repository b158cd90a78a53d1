import KVModel

/// Undoing and averaging RoPE in the layer's channel layout (pairs `RoPE.pair(i)` rotate by
/// `position · θ_i`). Rotations only: a LongRoPE magnitude stays on the vectors.
enum Rotation {
    /// `[heads, n, D]` rows of `x` (rows `rows` of each head, heads `headRows` rows apart, row
    /// `rows.lowerBound + i` at `positions[i]`) rotated back to pre-RoPE.
    static func unrotate(_ x: UnsafePointer<Float>, heads: Int, headRows T: Int, rows: Range<Int>,
                         positions: [Int], geometry: PressGeometry) -> [Float] {
        let D = geometry.headDimension, n = rows.count
        let rope = geometry.rope
        let half = geometry.ropeDimensionCount / 2
        var cosT = [Float](repeating: 0, count: max(n * half, 1)), sinT = cosT
        if let first = positions.first, positions.last == first + n - 1 {
            rope.tables(first: first, count: n, cos: &cosT, sin: &sinT)
        } else {
            // Kept entries of a decoding input: one position at a time.
            cosT.withUnsafeMutableBufferPointer { c in sinT.withUnsafeMutableBufferPointer { s in
                for (i, p) in positions.enumerated() {
                    rope.tables(first: p, count: 1, cos: c.baseAddress! + i * half, sin: s.baseAddress! + i * half)
                }
            } }
        }
        for i in cosT.indices { cosT[i] /= rope.magnitude; sinT[i] /= rope.magnitude }
        var out = [Float](repeating: 0, count: heads * n * D)
        for h in 0..<heads {
            for (i, t) in rows.enumerated() {
                let src = x + (h * T + t) * D
                let o = (h * n + i) * D
                for c in 0..<D { out[o + c] = src[c] }
                for p in 0..<half {
                    let (ci, cj) = rope.pair(p)
                    let a = src[ci], b = src[cj]
                    let cs = cosT[i * half + p], sn = sinT[i * half + p]
                    // Inverse of (a cos − b sin, a sin + b cos).
                    out[o + ci] = a * cs + b * sn
                    out[o + cj] = -a * sn + b * cs
                }
            }
        }
        return out
    }

    /// What `expected_attention` and `cap` read of the future queries: the pre-RoPE queries
    /// `[H, rows, D]` of the rows from `skip` on whose queries are known (while decoding, the
    /// recent tokens', as kvpress's DecodingPress buffers them), and the RoPE rotation averaged
    /// over the `future` positions after the last row.
    /// - Throws: `PressError.contextTooShort` when no such row has a query.
    static func futureQueries(_ input: PressInput, skip: Int, future: Int, press: String) throws
        -> (queries: [Float], rows: Int, rotation: [Float]) {
        let T = input.tokenCount
        let rows = max(skip, input.queryRows.lowerBound)..<T
        guard !rows.isEmpty else { throw PressError.contextTooShort(press: press, tokens: input.queryRowCount, needed: 1) }
        let q = unrotate(input.queries, heads: input.headCount, headRows: input.headRows, rows: rows,
                         positions: input.positions(rows), geometry: input.geometry)
        let next = input.position(T - 1) + 1
        return (q, rows.count, averageRotation(positions: next..<(next + future), geometry: input.geometry))
    }

    /// The RoPE rotation averaged over positions `positions`, as a `D × D` row-major matrix
    /// (2×2 blocks `[[c̄, −s̄], [s̄, c̄]]` on each rotated pair, identity on the rest).
    static func averageRotation(positions: Range<Int>, geometry: PressGeometry) -> [Float] {
        let D = geometry.headDimension, half = geometry.ropeDimensionCount / 2
        let rope = geometry.rope
        let n = positions.count
        var cosT = [Float](repeating: 0, count: max(n * half, 1)), sinT = cosT
        rope.tables(first: positions.lowerBound, count: n, cos: &cosT, sin: &sinT)
        for i in cosT.indices { cosT[i] /= rope.magnitude; sinT[i] /= rope.magnitude }
        var R = [Float](repeating: 0, count: D * D)
        for c in 0..<D { R[c * D + c] = 1 }
        for p in 0..<half {
            var c = 0.0, s = 0.0
            for t in 0..<n { c += Double(cosT[t * half + p]); s += Double(sinT[t * half + p]) }
            let cm = Float(c / Double(max(n, 1))), sm = Float(s / Double(max(n, 1)))
            let (i, j) = rope.pair(p)
            R[i * D + i] = cm; R[i * D + j] = -sm
            R[j * D + i] = sm; R[j * D + j] = cm
        }
        return R
    }
}

/// Row norms of `[rows, D]` tensors.
enum Norms {
    /// L2 norm of each of the `rows` rows of width `D`.
    static func l2(_ x: UnsafePointer<Float>, rows: Int, width D: Int) -> [Float] {
        (0..<rows).map { r in
            var s: Float = 0
            for c in 0..<D { s += x[r * D + c] * x[r * D + c] }
            return s.squareRoot()
        }
    }
}
