import KVModel

/// How a decoding press ranks a layer's cache entries while the model generates (the decoding
/// form of a scorer press: `h2o`, `snapkv`, `rkv`, …).
///
/// ``DecodingCompressor`` asks for scores only when a head is over its budget; it keeps the best
/// entries and always the newest one.
public protocol DecodingScorer: AnyObject, Sendable {
    /// The registry name (`h2o`, `rkv`, …).
    var name: String { get }
    /// The scorer's own parameters as spec text, in catalog order.
    var parameterValues: [(String, String)] { get }
    /// Recent queries per layer the scorer reads (0: none); the compressor remembers this many.
    var queryWindow: Int { get }
    /// What the scorer reads from every step's attention (`.columnSums` for accumulated attention).
    var observes: AttentionOutputs { get }
    /// Importance of every entry of KV head `g` of `layer`, in cache order (higher = keep).
    func score(_ layer: DecodingLayer, head g: Int) -> [Float]
}

extension DecodingScorer {
    public var queryWindow: Int { 0 }
    public var observes: AttentionOutputs { [] }
}

/// Scores above every other score for the last `count` of `scores` (a recent window that always stays).
func protectNewest(_ scores: inout [Float], count: Int) {
    let n = scores.count, w = min(count, n)
    guard w > 0 else { return }
    let top = scores[0..<(n - w)].reduce(-Float.infinity) { max($0, $1) }
    let keep = top.isFinite ? top + 1 : 1
    for j in (n - w)..<n { scores[j] = keep }
}

/// Per-query-head attention rows `[groupSize, w, n]` averaged into one row per KV head entry
/// over the window's queries and combined over the group with `aggregation`.
func windowAverage(_ attention: [Float], groupSize: Int, window w: Int, count n: Int,
                   aggregation: GQAScoreAggregation) -> [Float] {
    var perHead = [Float](repeating: 0, count: groupSize * n)
    for k in 0..<groupSize {
        for i in 0..<w { for j in 0..<n { perHead[k * n + j] += attention[(k * w + i) * n + j] } }
        for j in 0..<n { perHead[k * n + j] /= Float(max(w, 1)) }
    }
    return aggregation.aggregate(perHead, headCount: groupSize, headCountKV: 1, count: n)
}
