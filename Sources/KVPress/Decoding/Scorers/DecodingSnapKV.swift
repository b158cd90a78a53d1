import KVModel

/// `snapkv` during generation (SnapKV-D): the last `window_size` generated queries vote with
/// their attention, averaged over the window, smoothed by an average pool of `kernel_size` and
/// combined over the GQA group; the newest `window_size` entries always stay.
///
/// Parameters, defaults and ranges: its `DecodingCatalog` entry.
///
/// Based on https://arxiv.org/abs/2404.14469 and its decoding use in R-KV's study.
public final class DecodingSnapKV: CatalogDecodingScorer {
    public let arguments: PressArguments
    /// Recent queries that vote.
    public let windowSize: Int
    /// Width of the smoothing average pool.
    public let kernelSize: Int
    /// How the group's query heads combine.
    public let aggregation: GQAScoreAggregation

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        windowSize = arguments.int("window_size")
        kernelSize = arguments.int("kernel_size")
        aggregation = arguments.aggregation()
    }
    public var queryWindow: Int { windowSize }

    public func score(_ layer: DecodingLayer, head g: Int) -> [Float] {
        let n = layer.heads[g].count, group = layer.geometry.groupSize
        var (attention, w) = layer.recentLogits(head: g, window: windowSize)
        guard w > 0 else { return [Float](repeating: 0, count: n) }
        DecodingLayer.softmaxRows(&attention, rows: group * w, stride: n, count: n)
        let averaged = windowAverage(attention, groupSize: group, window: w, count: n, aggregation: aggregation)
        var scores = Array(Pooling.average(averaged, rows: 1, count: n, kernel: kernelSize).prefix(n))
        protectNewest(&scores, count: w)
        return scores
    }
}
