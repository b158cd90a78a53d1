/// Inner loops of decode attention over one KV head's entries.
///
/// A quantized head's entries `0..<quantizedCount` go to the quantized loops (`KVDot+Quantized`),
/// a merged head's `0..<mergedCount` to the float loops over the shared directions, scaled by the
/// head's magnitudes (`KVDot+Merged`), the residual window to the register-tiled float loops
/// (`KVDot+FloatTiles`); a slice may span both.
/// Scores are laid out `[G, scoreStride]`, one row per query of the KV head's group.
enum KVDot {
    /// `scores[k·scoreStride + (j - lo)] = queries[k] · key[j]` for `j` in `lo..<hi`, `k` in `0..<G`.
    static func scores(head: HeadKVCache, lo: Int, hi: Int, queries: UnsafePointer<Float>, queryStride: Int,
                       keyDimension kd: Int, groupSize G: Int, scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
        let q0 = head.quantizedCount
        if lo < q0, let blocks = head.quantizedBlocks {
            quantizedScores(blocks, lo: lo, hi: min(hi, q0), queries: queries, queryStride: queryStride, groupSize: G,
                            scores: scores, scoreStride: scoreStride)
        }
        let m0 = head.residualStart
        if lo < m0, let merged = head.merged {
            mergedScores(merged, lo: lo, hi: min(hi, m0), queries: queries, queryStride: queryStride, groupSize: G,
                         scores: scores, scoreStride: scoreStride)
        }
        let start = max(lo, m0)
        guard start < hi, let keys = head.keys else { return }
        let base = UnsafeRawPointer(keys), rowBytes = kd * head.storage.elementBytes, out = scores + (start - lo)
        switch head.storage {
        case .f16:
            floatScores(F16Rows.self, rows: base, rowBytes: rowBytes, lo: start - m0, hi: hi - m0, width: kd, queries: queries,
                        queryStride: queryStride, groupSize: G, scores: out, scoreStride: scoreStride)
        case .f32:
            floatScores(F32Rows.self, rows: base, rowBytes: rowBytes, lo: start - m0, hi: hi - m0, width: kd, queries: queries,
                        queryStride: queryStride, groupSize: G, scores: out, scoreStride: scoreStride)
        }
    }

    /// `output[k·outputStride + c] += Σ_j weights[k·weightStride + (j - lo)] · value[j][c]`.
    static func weightedValues(head: HeadKVCache, lo: Int, hi: Int, weights: UnsafePointer<Float>, weightStride: Int,
                               groupSize G: Int, output: UnsafeMutablePointer<Float>, outputStride: Int) {
        let q0 = head.quantizedCount
        if lo < q0, let blocks = head.quantizedBlocks {
            quantizedWeightedValues(blocks, lo: lo, hi: min(hi, q0), weights: weights, weightStride: weightStride, groupSize: G,
                                    output: output, outputStride: outputStride)
        }
        let m0 = head.residualStart
        if lo < m0, let merged = head.merged {
            mergedWeightedValues(merged, lo: lo, hi: min(hi, m0), weights: weights, weightStride: weightStride, groupSize: G,
                                 output: output, outputStride: outputStride)
        }
        let start = max(lo, m0)
        guard start < hi, let values = head.values else { return }
        let D = head.valueDimension, base = UnsafeRawPointer(values), rowBytes = D * head.storage.elementBytes
        let w = weights + (start - lo)
        switch head.storage {
        case .f16:
            floatWeightedValues(F16Rows.self, rows: base, rowBytes: rowBytes, lo: start - m0, hi: hi - m0, width: D, weights: w,
                                weightStride: weightStride, groupSize: G, output: output, outputStride: outputStride)
        case .f32:
            floatWeightedValues(F32Rows.self, rows: base, rowBytes: rowBytes, lo: start - m0, hi: hi - m0, width: D, weights: w,
                                weightStride: weightStride, groupSize: G, output: output, outputStride: outputStride)
        }
    }
}
