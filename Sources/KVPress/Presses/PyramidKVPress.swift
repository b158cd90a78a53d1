/// SnapKV scores with a per-layer budget shaped like a pyramid: more entries in lower layers (kvpress `PyramidKVPress`).
///
/// Budget of layer `l` of `L` for a context of `T` (kvpress 0.5.5's form of the PyramidKV paper's
/// schedule, which always applies the ratio): with `c = window_size + T(1 − ratio)`,
/// `min = (c − window_size)/beta`, `max = 2(c − window_size) − min`; if `max ≥ T − window_size`
/// then `max = T − window_size` and `min = 2(c − window_size) − max`. If
/// `T ≥ max ≥ min ≥ window_size` the layer keeps `round(max − l·(max − min)/(L − 1))`, otherwise
/// `round(T(1 − ratio))`. The budgets average to `T(1 − ratio)` over the layers.
///
/// - Parameters:
///   - compression_ratio: fraction of KV pairs removed on average, `[0, 1)`; default `0.0`.
///   - window_size: SnapKV window, `≥ 1`; default `64`.
///   - kernel_size: SnapKV pooling width, `≥ 1`; default `5`.
///   - beta: steepness of the pyramid, `≥ 1`; default `20`.
///   - gqa_score_agg: `mean`, `max` or `sum` (kvd extension); default `mean`.
///
/// Based on https://arxiv.org/abs/2406.02069.
public final class PyramidKVPress: ScorerPress {
    public let name = "pyramidkv"
    public var compressionRatio: Double
    public var windowSize: Int
    public var kernelSize: Int
    public var beta: Int
    public var aggregation: GQAScoreAggregation

    public init(compressionRatio: Double = 0.0, windowSize: Int = 64, kernelSize: Int = 5, beta: Int = 20,
                aggregation: GQAScoreAggregation = .mean) throws {
        try Validate.ratio(compressionRatio, press: "pyramidkv")
        try Validate.atLeast(windowSize, 1, "window_size", press: "pyramidkv")
        try Validate.atLeast(kernelSize, 1, "kernel_size", press: "pyramidkv")
        try Validate.atLeast(beta, 1, "beta", press: "pyramidkv")
        self.compressionRatio = compressionRatio
        self.windowSize = windowSize
        self.kernelSize = kernelSize
        self.beta = beta
        self.aggregation = aggregation
    }

    public var parameterValues: [(String, String)] {
        [("compression_ratio", String(compressionRatio)), ("window_size", String(windowSize)),
         ("kernel_size", String(kernelSize)), ("beta", String(beta)), ("gqa_score_agg", aggregation.rawValue)]
    }

    public func score(_ input: PressInput) throws -> [Float] {
        try SnapKVPress.windowScores(input, window: windowSize, kernel: kernelSize, aggregation: aggregation, press: name)
    }

    /// Entries layer `layer` of `layerCount` keeps out of `tokens`.
    public func layerBudget(layer: Int, layerCount: Int, tokens T: Int) -> Int {
        let w = Double(windowSize), q = Double(T)
        let capacity = w + q * (1 - compressionRatio)
        var minNum = (capacity - w) / Double(beta)
        var maxNum = (capacity - w) * 2 - minNum
        if maxNum >= q - w {
            maxNum = q - w
            minNum = (capacity - w) * 2 - maxNum
        }
        guard q >= maxNum, maxNum >= minNum, minNum >= w, layerCount > 1 else {
            return Int((q * (1 - compressionRatio)).rounded(.toNearestOrEven))
        }
        let steps = (maxNum - minNum) / Double(layerCount - 1)
        return Int((maxNum - Double(layer) * steps).rounded(.toNearestOrEven))
    }

    public func compress(_ input: PressInput) throws {
        guard compressionRatio > 0 else { return }
        let scores = try score(input)
        let n = layerBudget(layer: input.layer, layerCount: input.geometry.layerCount, tokens: input.tokenCount)
        input.keep(TopK.perHead(scores, heads: input.headCountKV, count: input.tokenCount, keep: n))
    }

    static let descriptor = PressDescriptor(
        name: "pyramidkv", summary: "SnapKV scores with pyramid-shaped per-layer budgets",
        reference: "https://arxiv.org/abs/2406.02069",
        parameters: [
            PressParameter("compression_ratio", "0.0", "average fraction of KV pairs removed, [0, 1)"),
            PressParameter("window_size", "64", "recent queries whose attention scores the context, ≥ 1"),
            PressParameter("kernel_size", "5", "width of the average pool smoothing the scores, ≥ 1"),
            PressParameter("beta", "20", "steepness of the pyramid (larger = steeper), ≥ 1"),
            PressParameter("gqa_score_agg", "mean", "mean, max or sum over the query heads of a KV head"),
        ]
    ) { args, _ in
        try PyramidKVPress(compressionRatio: args.ratio(), windowSize: args.int("window_size", minimum: 1),
                           kernelSize: args.int("kernel_size", minimum: 1), beta: args.int("beta", minimum: 1),
                           aggregation: args.aggregation())
    }
}
