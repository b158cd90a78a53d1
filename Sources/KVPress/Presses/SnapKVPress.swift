/// Scores the context by the attention the last `window_size` queries pay to it (kvpress `SnapKVPress`).
///
/// Per query head: softmax attention of the window's queries over all keys (causal), averaged
/// over the window's queries, restricted to the keys before the window, smoothed by an average
/// pool of `kernel_size` (zero padding counted), then combined over each GQA group
/// (`gqa_score_agg`, mean as in kvpress). The window itself always stays.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2404.14469.
public final class SnapKVPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    /// Recent queries whose attention scores the context.
    public let windowSize: Int
    /// Width of the smoothing average pool.
    public let kernelSize: Int
    /// How query-head scores combine per KV head.
    public let aggregation: GQAScoreAggregation

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        windowSize = arguments[.windowSize]
        kernelSize = arguments[.kernelSize]
        aggregation = arguments[.gqaScoreAgg]
    }

    public var recentQueriesRead: Int? { windowSize }

    public func score(_ input: PressInput) throws -> [Float] {
        try Self.windowScores(input, window: windowSize, kernel: kernelSize, aggregation: aggregation, press: name)
    }

    /// SnapKV's scores `[G, T]` (shared with `pyramidkv`).
    static func windowScores(_ input: PressInput, window w: Int, kernel: Int, aggregation: GQAScoreAggregation,
                             press: String) throws -> [Float] {
        let T = input.tokenCount, H = input.headCount, G = input.headCountKV
        guard T > w else { throw PressError.contextTooShort(press: press, tokens: T, needed: w + 1) }
        // While decoding, the window is the recent queries there are.
        let w = min(w, input.queryRowCount)
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
}
