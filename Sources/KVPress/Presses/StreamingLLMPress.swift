/// Keeps the first `n_sink` tokens (attention sinks) and the most recent ones (kvpress `StreamingLLMPress`).
///
/// The `T - Int(T·(1-ratio))` tokens right after the sinks are removed.
///
/// - Parameters:
///   - compression_ratio: fraction of KV pairs removed, `[0, 1)`; default `0.0`.
///   - n_sink: initial tokens always kept, `≥ 0`; default `4`. The context must be longer.
///
/// Based on https://arxiv.org/abs/2309.17453.
public final class StreamingLLMPress: ScorerPress {
    public let name = "streaming_llm"
    public var compressionRatio: Double
    /// Initial tokens always kept.
    public var nSink: Int

    public init(compressionRatio: Double = 0.0, nSink: Int = 4) throws {
        try Validate.ratio(compressionRatio, press: "streaming_llm")
        try Validate.atLeast(nSink, 0, "n_sink", press: "streaming_llm")
        self.compressionRatio = compressionRatio
        self.nSink = nSink
    }

    public var parameterValues: [(String, String)] {
        [("compression_ratio", String(compressionRatio)), ("n_sink", String(nSink))]
    }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount
        guard T > nSink else { throw PressError.contextTooShort(press: name, tokens: T, needed: nSink + 1) }
        let pruned = T - keptCount(T)
        var row = [Float](repeating: 1, count: T)
        for j in nSink..<min(T, nSink + pruned) { row[j] = 0 }
        return Array((0..<input.headCountKV).map { _ in row }.joined())
    }

    static let descriptor = PressDescriptor(
        name: "streaming_llm", summary: "keeps the attention sinks and the most recent tokens",
        reference: "https://arxiv.org/abs/2309.17453",
        parameters: [
            PressParameter("compression_ratio", "0.0", "fraction of KV pairs removed, [0, 1)"),
            PressParameter("n_sink", "4", "initial tokens always kept (attention sinks), ≥ 0"),
        ]
    ) { args, _ in try StreamingLLMPress(compressionRatio: args.ratio(), nSink: args.int("n_sink")) }
}
