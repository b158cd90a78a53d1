/// How per-query-head scores combine over a GQA group into one KV head's score
/// (KVCache-Factory's `gqa_score_agg`, the catalog's choice: ``PressCatalog/aggregation``).
public enum GQAScoreAggregation: String, CaseIterable, Sendable, ParameterValue {
    /// Average over the group (kvpress's behaviour, the default).
    case mean
    /// Maximum over the group.
    case max
    /// Sum over the group.
    case sum

    /// Combines `[H, n]` per-query-head scores into `[G, n]` (`H = G * groupSize`, heads of one
    /// group adjacent, as in `repeat_kv`).
    public func aggregate(_ scores: [Float], headCount H: Int, headCountKV G: Int, count n: Int) -> [Float] {
        let group = H / G
        var out = [Float](repeating: 0, count: G * n)
        for g in 0..<G {
            for j in 0..<n {
                var acc: Float = self == .max ? -.infinity : 0
                for k in 0..<group {
                    let v = scores[(g * group + k) * n + j]
                    if self == .max { acc = Swift.max(acc, v) } else { acc += v }
                }
                out[g * n + j] = self == .mean ? acc / Float(group) : acc
            }
        }
        return out
    }

    public init?(parameterText text: String) { self.init(rawValue: text) }
}
