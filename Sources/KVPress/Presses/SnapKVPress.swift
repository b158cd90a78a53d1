/// Scores the context by the attention the last `window_size` queries pay to it (kvpress `SnapKVPress`).
///
/// Per query head: softmax attention of the window's queries over all keys (causal), averaged
/// over the window's queries, restricted to the keys before the window, smoothed by an average
/// pool of `kernel_size` (zero padding counted), then combined over each GQA group
/// (`gqa_score_agg`, mean as in kvpress). The window itself always stays.
///
/// - Parameters:
///   - compression_ratio: fraction of KV pairs removed, `[0, 1)`; default `0.0`.
///   - window_size: recent queries that vote, `≥ 1`; default `64`. The context must be longer.
///   - kernel_size: pooling width, `≥ 1` (odd keeps the length); default `5`.
///   - gqa_score_agg: `mean`, `max` or `sum` over the query heads of a KV head (kvd extension); default `mean`.
///
/// Based on https://arxiv.org/abs/2404.14469.
public final class SnapKVPress: ScorerPress {
    public var name: String { "snapkv" }
    public var compressionRatio: Double
    /// Recent queries whose attention scores the context.
    public var windowSize: Int
    /// Width of the smoothing average pool.
    public var kernelSize: Int
    /// How query-head scores combine per KV head.
    public var aggregation: GQAScoreAggregation

    public init(compressionRatio: Double = 0.0, windowSize: Int = 64, kernelSize: Int = 5,
                aggregation: GQAScoreAggregation = .mean) throws {
        try Validate.ratio(compressionRatio, press: "snapkv")
        try Validate.atLeast(windowSize, 1, "window_size", press: "snapkv")
        try Validate.atLeast(kernelSize, 1, "kernel_size", press: "snapkv")
        self.compressionRatio = compressionRatio
        self.windowSize = windowSize
        self.kernelSize = kernelSize
        self.aggregation = aggregation
    }

    public var parameterValues: [(String, String)] {
        [("compression_ratio", String(compressionRatio)), ("window_size", String(windowSize)),
         ("kernel_size", String(kernelSize)), ("gqa_score_agg", aggregation.rawValue)]
    }

    public func score(_ input: PressInput) throws -> [Float] {
        try Self.windowScores(input, window: windowSize, kernel: kernelSize, aggregation: aggregation, press: name)
    }

    /// SnapKV's scores `[G, T]` (shared with `pyramidkv`).
    static func windowScores(_ input: PressInput, window w: Int, kernel: Int, aggregation: GQAScoreAggregation,
                             press: String) throws -> [Float] {
        let T = input.tokenCount, H = input.headCount, G = input.headCountKV
        guard T > w else { throw PressError.contextTooShort(press: press, tokens: T, needed: w + 1) }
        let attention = WindowAttention.weights(input, window: w)
        let n = T - w
        var perHead = [Float](repeating: 0, count: H * n)
        for h in 0..<H {
            for i in 0..<w {
                let row = (h * w + i) * T
                for j in 0..<n { perHead[h * n + j] += attention[row + j] }
            }
            for j in 0..<n { perHead[h * n + j] /= Float(w) }
        }
        let pooled = Pooling.average(perHead, rows: H, count: n, kernel: kernel)
        let pooledLength = pooled.count / H
        let scores = aggregation.aggregate(pooled, headCount: H, headCountKV: G, count: pooledLength)
        return Pooling.pad(scores, rows: G, count: pooledLength, left: 0, right: T - pooledLength,
                           value: Pooling.max(scores) + 1)
    }

    static let descriptor = PressDescriptor(
        name: "snapkv", summary: "scores by the attention of the last window_size queries",
        reference: "https://arxiv.org/abs/2404.14469",
        parameters: [
            PressParameter("compression_ratio", "0.0", "fraction of KV pairs removed, [0, 1)"),
            PressParameter("window_size", "64", "recent queries whose attention scores the context, ≥ 1"),
            PressParameter("kernel_size", "5", "width of the average pool smoothing the scores, ≥ 1"),
            PressParameter("gqa_score_agg", "mean", "mean, max or sum over the query heads of a KV head"),
        ]
    ) { args, _ in
        try SnapKVPress(compressionRatio: args.ratio(), windowSize: args.int("window_size", minimum: 1),
                        kernelSize: args.int("kernel_size", minimum: 1), aggregation: args.aggregation())
    }
}
