import COpenBLAS
import KVModel

/// The attention an extra forward pass (a re-read of the context) pays to entries already in the
/// cache, reduced over the pass's queries: for `kvzip`'s reconstruction and `kvcompose`.
enum PassAttention {
    /// Per query head, the max and the sum over the pass's queries of the softmax probability of
    /// each entry `visible[c]`, `c` in `columns`.
    ///
    /// Each query `i` of the pass `o` attends (causally) to the cache entries `visible` of its KV
    /// head (indices into the head, in order), then to the pass's own keys `0...i`; the softmax
    /// runs over exactly those.
    /// - Returns: `best` and `sum`, each `[H, columns.count]` row-major.
    static func reduce(_ o: AttentionObservation, visible: [Int], columns: Range<Int>, scale: Float) -> (best: [Float], sum: [Float]) {
        let q = o.tokenCount, D = o.config.headDimension, group = o.config.groupSize
        let G = o.cache.count, H = G * group, prefix = visible.count, S = prefix + q, n = columns.count
        // Per KV head, the keys a pass query can see: the visible entries, then the pass's own tokens.
        let keys = UnsafeMutablePointer<Float>.allocate(capacity: G * S * D)
        defer { keys.deallocate() }
        for (g, head) in o.cache.enumerated() {
            let k = keys + g * S * D
            for (i, j) in visible.enumerated() { head.copyKey(j, into: k + i * D) }
            (k + prefix * D).update(from: o.keys + g * q * D, count: q * D)
        }
        var best = [Float](repeating: 0, count: H * n), sum = best
        best.withUnsafeMutableBufferPointer { bestBuffer in
            sum.withUnsafeMutableBufferPointer { sumBuffer in
                let best = bestBuffer.baseAddress!, sum = sumBuffer.baseAddress!, block = 128
                // Query heads are independent (each owns its rows of `best` and `sum`): one per thread.
                ThreadPool.shared.parallelFor(H) { heads in
                    let rows = UnsafeMutablePointer<Float>.allocate(capacity: block * S)
                    defer { rows.deallocate() }
                    for h in heads {
                        var i0 = 0
                        while i0 < q {
                            let m = min(block, q - i0)
                            // Keys after the block's last query are masked for every row: not computed.
                            let width = prefix + i0 + m
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(width), Int32(D), scale,
                                        o.queries + (h * q + i0) * D, Int32(D), keys + (h / group) * S * D, Int32(D), 0,
                                        rows, Int32(width))
                            for r in 0..<m {
                                let row = rows + r * width
                                FastMath.softmax(row, prefix + i0 + r + 1)
                                Vectorised.maximum(row + columns.lowerBound, into: best + h * n, n)
                                Vectorised.add(row + columns.lowerBound, into: sum + h * n, n)
                            }
                            i0 += m
                        }
                    }
                }
            }
        }
        return (best, sum)
    }
}
