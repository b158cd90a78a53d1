import KVModel

/// `h2o` during generation: heavy hitters — entries by the attention they accumulated from every
/// query since generation began (question and answer tokens), plus the newest `window_size`.
///
/// The attention comes from the model's own softmax at every step (`.columnSums`, no
/// recomputation); the sums follow their entries through every compression (``DecodingLayer/keep(_:_:)``).
///
/// Parameters, defaults and ranges: its `DecodingCatalog` entry.
///
/// Based on https://arxiv.org/abs/2306.14048.
public final class DecodingH2O: CatalogDecodingScorer {
    public let arguments: PressArguments
    public let windowSize: Int
    public let aggregation: GQAScoreAggregation

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        windowSize = arguments.int("window_size")
        aggregation = arguments.aggregation()
    }
    public var observes: AttentionOutputs { .columnSums }

    public func score(_ layer: DecodingLayer, head g: Int) -> [Float] {
        let n = layer.heads[g].count, group = layer.geometry.groupSize
        var perHead = [Float](repeating: 0, count: group * n)
        for k in 0..<group {
            let acc = layer.accumulated[g * group + k]
            for j in 0..<min(n, acc.count) { perHead[k * n + j] = acc[j] }
        }
        var scores = aggregation.aggregate(perHead, headCount: group, headCountKV: 1, count: n)
        protectNewest(&scores, count: windowSize)
        return scores
    }
}
