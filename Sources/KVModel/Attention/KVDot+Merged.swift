/// Decode attention over a merged head's entries (MiniCache): the float loops read the shared
/// directions in place, and the head's own magnitudes scale each entry's score (keys) or weight
/// (values), since `q·(m·d) = m·(q·d)` and `Σ w·(m·d) = Σ (w·m)·d`.
extension KVDot {
    /// Scores of merged entries `lo..<hi` (all `< merged.count`), as `scores(head:…)` lays them out.
    static func mergedScores(_ merged: MergedKVEntries, lo: Int, hi: Int, queries: UnsafePointer<Float>, queryStride: Int,
                             groupSize G: Int, scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
        let d = merged.directions
        storedScores(d.storage, rows: UnsafeRawPointer(d.keys), width: d.width, lo: lo, hi: hi, queries: queries,
                     queryStride: queryStride, groupSize: G, scores: scores, scoreStride: scoreStride)
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
        let n = hi - lo, d = merged.directions
        withUnsafeTemporaryAllocation(of: Float.self, capacity: G * n) { scaled in
            merged.valueMagnitudes.withUnsafeBufferPointer { m in
                for k in 0..<G {
                    for j in lo..<hi { scaled[k * n + j - lo] = weights[k * weightStride + j - lo] * m[j] }
                }
            }
            storedWeightedValues(d.storage, rows: UnsafeRawPointer(d.values), width: d.width, lo: lo, hi: hi,
                                 weights: UnsafePointer(scaled.baseAddress!), weightStride: n, groupSize: G, output: output,
                                 outputStride: outputStride)
        }
    }
}
