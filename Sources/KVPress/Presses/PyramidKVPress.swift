/// SnapKV scores with a per-layer budget shaped like a pyramid: more entries in lower layers (kvpress `PyramidKVPress`).
///
/// Budget of layer `l` of `L` for a context of `T` (kvpress 0.5.5's form of the PyramidKV paper's
/// schedule, which always applies the ratio): with `c = window_size + T(1 − ratio)`,
/// `min = (c − window_size)/beta`, `max = 2(c − window_size) − min`; if `max ≥ T − window_size`
/// then `max = T − window_size` and `min = 2(c − window_size) − max`. If
/// `T ≥ max ≥ min ≥ window_size` the layer keeps `round(max − l·(max − min)/(L − 1))`, otherwise
/// `round(T(1 − ratio))`. The budgets average to `T(1 − ratio)` over the layers.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2406.02069.
public final class PyramidKVPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let windowSize: Int
    public let kernelSize: Int
    public let beta: Int
    public let aggregation: GQAScoreAggregation

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        windowSize = arguments[.windowSize]
        kernelSize = arguments[.kernelSize]
        beta = arguments[.pyramidBeta]
        aggregation = arguments[.gqaScoreAgg]
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
}
