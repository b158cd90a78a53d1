import KVModel

/// Heavy hitters: keys by the attention they accumulated from ALL context queries, plus the
/// recent window (KVCache-Factory `H2OKVCluster`, prefill form).
///
/// Per query head: causal attention column sums over every query (not normalised by the number
/// of queries, unlike `observed_attention`), for the keys before the last `window_size`; combined
/// over the GQA group by `gqa_score_agg`. The window always stays. The budget follows kvpress's
/// rule (`Int(T·(1 − ratio))` per head) instead of KVCache-Factory's fixed `max_capacity_prompt`.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2306.14048.
public final class H2OPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let windowSize: Int
    public let aggregation: GQAScoreAggregation

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        windowSize = arguments[.windowSize]
        aggregation = arguments[.gqaScoreAgg]
    }

    /// Reads the attention column sums the prefill accumulates (no recomputation).
    public var observes: AttentionOutputs { .columnSums }

    public var recentQueriesRead: Int? { 0 }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount, w = windowSize
        guard T > w else { throw PressError.contextTooShort(press: name, tokens: T, needed: w + 1) }
        let sums = WindowAttention.causalColumnSums(input)
        let n = T - w
        var past = [Float](repeating: 0, count: input.headCount * n)
        for h in 0..<input.headCount { for j in 0..<n { past[h * n + j] = sums[h * T + j] } }
        let scores = aggregation.aggregate(past, headCount: input.headCount, headCountKV: input.headCountKV, count: n)
        return Pooling.pad(scores, rows: input.headCountKV, count: n, left: 0, right: w, value: Pooling.max(scores) + 1)
    }
}
