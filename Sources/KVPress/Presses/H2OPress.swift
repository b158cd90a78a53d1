import KVModel

/// Heavy hitters: keys by the attention they accumulated from ALL context queries, plus the
/// recent window (KVCache-Factory `H2OKVCluster`, prefill form).
///
/// Per query head: causal attention column sums over every query (not normalised by the number
/// of queries, unlike `observed_attention`), for the keys before the last `window_size`; combined
/// over the GQA group by `gqa_score_agg`. The window always stays. The budget follows kvpress's
/// rule (`Int(T·(1 − ratio))` per head) instead of KVCache-Factory's fixed `max_capacity_prompt`.
///
/// - Parameters:
///   - compression_ratio: fraction of KV pairs removed, `[0, 1)`; default `0.0`.
///   - window_size: most recent tokens always kept, `≥ 1`; default `64`.
///   - gqa_score_agg: `mean`, `max` or `sum`; default `mean`.
///
/// Based on https://arxiv.org/abs/2306.14048.
public final class H2OPress: ScorerPress {
    public let name = "h2o"
    public var compressionRatio: Double
    public var windowSize: Int
    public var aggregation: GQAScoreAggregation

    public init(compressionRatio: Double = 0.0, windowSize: Int = 64, aggregation: GQAScoreAggregation = .mean) throws {
        try Validate.ratio(compressionRatio, press: "h2o")
        try Validate.atLeast(windowSize, 1, "window_size", press: "h2o")
        self.compressionRatio = compressionRatio
        self.windowSize = windowSize
        self.aggregation = aggregation
    }

    /// Reads the attention column sums the prefill accumulates (no recomputation).
    public var observes: AttentionOutputs { .columnSums }

    public var parameterValues: [(String, String)] {
        [("compression_ratio", String(compressionRatio)), ("window_size", String(windowSize)),
         ("gqa_score_agg", aggregation.rawValue)]
    }

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

    static let descriptor = PressDescriptor(
        name: "h2o", summary: "keeps heavy hitters (attention accumulated over all queries) plus the recent window",
        reference: "https://arxiv.org/abs/2306.14048",
        parameters: [
            PressParameter("compression_ratio", "0.0", "fraction of KV pairs removed, [0, 1)"),
            PressParameter("window_size", "64", "most recent tokens always kept, ≥ 1"),
            PressParameter("gqa_score_agg", "mean", "mean, max or sum over the query heads of a KV head"),
        ]
    ) { args, _ in
        try H2OPress(compressionRatio: args.ratio(), windowSize: args.int("window_size", minimum: 1),
                     aggregation: args.aggregation())
    }
}
