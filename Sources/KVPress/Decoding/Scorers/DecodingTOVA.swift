import KVModel

/// `tova` during generation: keeps the entries the newest query attends to most (kvpress
/// `TOVAPress` inside `DecodingPress`).
///
/// kvpress averages over all query heads because its heads share one token axis; here every KV
/// head keeps its own entries, so the average runs over the head's query group.
public final class DecodingTOVA: CatalogDecodingScorer {
    public let arguments: PressArguments
    public init(_ arguments: PressArguments) { self.arguments = arguments }
    public var queryWindow: Int { 1 }

    public func score(_ layer: DecodingLayer, head g: Int) -> [Float] {
        let n = layer.heads[g].count, group = layer.geometry.groupSize
        var (attention, w) = layer.recentLogits(head: g, window: 1)
        guard w == 1 else { return [Float](repeating: 0, count: n) }
        DecodingLayer.softmaxRows(&attention, rows: group, stride: n, count: n)
        return windowAverage(attention, groupSize: group, window: 1, count: n, aggregation: .mean)
    }
}
