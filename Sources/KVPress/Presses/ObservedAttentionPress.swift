import KVModel

/// Scores each key by the average attention it received from every context query (kvpress `ObservedAttentionPress`).
///
/// Per query head: causal attention column sums, divided by the number of queries that could see
/// the key (`T - j`), combined over the GQA group (`gqa_score_agg`, mean in kvpress). kvpress
/// needs eager attention for this; kvd reads the column sums the prefill attention accumulates
/// (`AttentionOutputs.columnSums`), recomputing them only for sub-inputs.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Related to H2O, https://arxiv.org/abs/2306.14048.
public final class ObservedAttentionPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let aggregation: GQAScoreAggregation

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        aggregation = arguments[.gqaScoreAgg]
    }

    /// Reads the attention column sums the prefill accumulates (no recomputation).
    public var observes: AttentionOutputs { .columnSums }

    public var recentQueriesRead: Int? { 0 }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount
        var sums = WindowAttention.causalColumnSums(input)
        for h in 0..<input.headCount { for j in 0..<T { sums[h * T + j] /= Float(T - j) } }
        return aggregation.aggregate(sums, headCount: input.headCount, headCountKV: input.headCountKV, count: T)
    }
}
