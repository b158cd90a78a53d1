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
        storedScores(head.storage, rows: UnsafeRawPointer(keys), width: kd, lo: start - m0, hi: hi - m0, queries: queries,
                     queryStride: queryStride, groupSize: G, scores: scores + (start - lo), scoreStride: scoreStride)
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
        storedWeightedValues(head.storage, rows: UnsafeRawPointer(values), width: head.valueDimension, lo: start - m0, hi: hi - m0,
                             weights: weights + (start - lo), weightStride: weightStride, groupSize: G, output: output,
                             outputStride: outputStride)
    }

    /// `floatScores` over f16 or f32 rows of `width` channels at `rows`.
    static func storedScores(_ storage: KVStorageType, rows: UnsafeRawPointer, width: Int, lo: Int, hi: Int,
                             queries: UnsafePointer<Float>, queryStride: Int, groupSize G: Int,
                             scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
        let rowBytes = width * storage.elementBytes
        switch storage {
        case .f16:
            floatScores(F16Rows.self, rows: rows, rowBytes: rowBytes, lo: lo, hi: hi, width: width, queries: queries,
                        queryStride: queryStride, groupSize: G, scores: scores, scoreStride: scoreStride)
        case .f32:
            floatScores(F32Rows.self, rows: rows, rowBytes: rowBytes, lo: lo, hi: hi, width: width, queries: queries,
                        queryStride: queryStride, groupSize: G, scores: scores, scoreStride: scoreStride)
        }
    }

    /// `floatWeightedValues` over f16 or f32 rows of `width` channels at `rows`.
    static func storedWeightedValues(_ storage: KVStorageType, rows: UnsafeRawPointer, width: Int, lo: Int, hi: Int,
                                     weights: UnsafePointer<Float>, weightStride: Int, groupSize G: Int,
                                     output: UnsafeMutablePointer<Float>, outputStride: Int) {
        let rowBytes = width * storage.elementBytes
        switch storage {
        case .f16:
            floatWeightedValues(F16Rows.self, rows: rows, rowBytes: rowBytes, lo: lo, hi: hi, width: width, weights: weights,
                                weightStride: weightStride, groupSize: G, output: output, outputStride: outputStride)
        case .f32:
            floatWeightedValues(F32Rows.self, rows: rows, rowBytes: rowBytes, lo: lo, hi: hi, width: width, weights: weights,
                                weightStride: weightStride, groupSize: G, output: output, outputStride: outputStride)
        }
    }
}
