/// Decode attention over a merged head's entries (MiniCache): the float loops read the shared
/// directions in place, and the head's own magnitudes scale each entry's score (keys) or weight
/// (values), since `q·(m·d) = m·(q·d)` and `Σ w·(m·d) = Σ (w·m)·d`.
extension KVDot {
    /// Scores of merged entries `lo..<hi` (all `< merged.count`), as `scores(head:…)` lays them out.
    static func mergedScores(_ merged: MergedKVEntries, lo: Int, hi: Int, queries: UnsafePointer<Float>, queryStride: Int,
                             groupSize G: Int, scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
        let d = merged.directions, rowBytes = d.width * d.storage.elementBytes, base = UnsafeRawPointer(d.keys)
        switch d.storage {
        case .f16:
            floatScores(F16Rows.self, rows: base, rowBytes: rowBytes, lo: lo, hi: hi, width: d.width, queries: queries,
                        queryStride: queryStride, groupSize: G, scores: scores, scoreStride: scoreStride)
        case .f32:
            floatScores(F32Rows.self, rows: base, rowBytes: rowBytes, lo: lo, hi: hi, width: d.width, queries: queries,
                        queryStride: queryStride, groupSize: G, scores: scores, scoreStride: scoreStride)
        }
        merged.keyMagnitudes.withUnsafeBufferPointer { m in
            for k in 0..<G {
                let s = scores + k * scoreStride
                for j in lo..<hi { s[j - lo] *= m[j] }
            }
        }
    }

    /// Adds the weighted values of merged entries `lo..<hi`, as `weightedValues(head:…)` does.
    static func mergedWeightedValues(_ merged: MergedKVEntries, lo: Int, hi: Int, weights: UnsafePointer<Float>,
                                     weightStride: Int, groupSize G: Int, output: UnsafeMutablePointer<Float>,
                                     outputStride: Int) {
        let n = hi - lo, d = merged.directions, rowBytes = d.width * d.storage.elementBytes, base = UnsafeRawPointer(d.values)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: G * n) { scaled in
            merged.valueMagnitudes.withUnsafeBufferPointer { m in
                for k in 0..<G {
                    for j in lo..<hi { scaled[k * n + j - lo] = weights[k * weightStride + j - lo] * m[j] }
                }
            }
            let w = UnsafePointer(scaled.baseAddress!)
            switch d.storage {
            case .f16:
                floatWeightedValues(F16Rows.self, rows: base, rowBytes: rowBytes, lo: lo, hi: hi, width: d.width, weights: w,
                                    weightStride: n, groupSize: G, output: output, outputStride: outputStride)
            case .f32:
                floatWeightedValues(F32Rows.self, rows: base, rowBytes: rowBytes, lo: lo, hi: hi, width: d.width, weights: w,
                                    weightStride: n, groupSize: G, output: output, outputStride: outputStride)
            }
        }
    }
}
