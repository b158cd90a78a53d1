/// Keeps the first `n_sink` tokens (attention sinks) and the most recent ones (kvpress `StreamingLLMPress`).
///
/// The `T - Int(T·(1-ratio))` tokens right after the sinks are removed.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2309.17453.
public final class StreamingLLMPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    /// Initial tokens always kept.
    public let nSink: Int

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        nSink = arguments[.nSink]
    }

    public var recentQueriesRead: Int? { 0 }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount
        guard T > nSink else { throw PressError.contextTooShort(press: name, tokens: T, needed: nSink + 1) }
        let pruned = T - keptCount(T)
        var row = [Float](repeating: 1, count: T)
        for j in nSink..<min(T, nSink + pruned) { row[j] = 0 }
        return Array((0..<input.headCountKV).map { _ in row }.joined())
    }
}
