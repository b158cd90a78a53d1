import KVModel

/// Scores each key by the average attention it received from every context query (kvpress `ObservedAttentionPress`).
///
/// Per query head: causal attention column sums, divided by the number of queries that could see
/// the key (`T - j`), combined over the GQA group (`gqa_score_agg`, mean in kvpress). kvpress
/// needs eager attention for this; kvd reads the column sums the prefill attention accumulates
/// (`AttentionOutputs.columnSums`), recomputing them only for sub-inputs.
///
/// - Parameters:
///   - compression_ratio: fraction of KV pairs removed, `[0, 1)`; default `0.0`.
///   - gqa_score_agg: `mean`, `max` or `sum` (kvd extension); default `mean`.
///
/// Related to H2O, https://arxiv.org/abs/2306.14048.
public final class ObservedAttentionPress: ScorerPress {
    public let name = "observed_attention"
    public var compressionRatio: Double
    public var aggregation: GQAScoreAggregation

    public init(compressionRatio: Double = 0.0, aggregation: GQAScoreAggregation = .mean) throws {
        try Validate.ratio(compressionRatio, press: "observed_attention")
        self.compressionRatio = compressionRatio
        self.aggregation = aggregation
    }

    /// Reads the attention column sums the prefill accumulates (no recomputation).
    public var observes: AttentionOutputs { .columnSums }

    public var parameterValues: [(String, String)] {
        [("compression_ratio", String(compressionRatio)), ("gqa_score_agg", aggregation.rawValue)]
    }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount
        var sums = WindowAttention.causalColumnSums(input)
        for h in 0..<input.headCount { for j in 0..<T { sums[h * T + j] /= Float(T - j) } }
        return aggregation.aggregate(sums, headCount: input.headCount, headCountKV: input.headCountKV, count: T)
    }

    static let descriptor = PressDescriptor(
        name: "observed_attention", summary: "scores keys by the average attention the context's queries paid them",
        reference: "https://arxiv.org/abs/2306.14048",
        parameters: [
            PressParameter("compression_ratio", "0.0", "fraction of KV pairs removed, [0, 1)"),
            PressParameter("gqa_score_agg", "mean", "mean, max or sum over the query heads of a KV head"),
        ]
    ) { args, _ in try ObservedAttentionPress(compressionRatio: args.ratio(), aggregation: args.aggregation()) }
}
