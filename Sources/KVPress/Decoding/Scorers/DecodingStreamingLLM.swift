import KVModel

/// `streaming_llm` during generation: keeps the first `n_sink` entries (attention sinks) and the
/// most recent ones.
///
/// Parameters, defaults and ranges: its `DecodingCatalog` entry.
public final class DecodingStreamingLLM: CatalogDecodingScorer {
    public let arguments: PressArguments
    public let nSink: Int

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        nSink = arguments.int("n_sink")
    }

    /// Sinks first, then recency (cache order is arrival order).
    public func score(_ layer: DecodingLayer, head g: Int) -> [Float] {
        let n = layer.heads[g].count
        return (0..<n).map { $0 < nSink ? Float(n + 1) : Float($0) }
    }
}
