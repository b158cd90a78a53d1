/// Keeps whole chunks of `chunk_length` tokens, ranked by the inner press's mean score (kvpress `ChunkKVPress`).
///
/// Scores of the inner press are summed over KV heads and averaged per chunk (the trailing
/// partial chunk is one more chunk); the best `max(1, Int(chunks·(1 − ratio)))` chunks stay, the
/// same positions in every head.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2502.00299.
public final class ChunkKVPress: Press, CatalogPress {
    public let arguments: PressArguments
    public let press: ScorerPress
    public let chunkLength: Int

    public init(_ arguments: PressArguments, press: ScorerPress) {
        self.arguments = arguments
        self.press = press
        chunkLength = arguments[.chunkLength]
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double { press.compressionRatio }

    public func compress(_ input: PressInput) throws {
        guard press.compressionRatio > 0 else { return }
        let T = input.tokenCount, G = input.headCountKV, L = chunkLength
        let scores = try press.score(input)
        let complete = T / L, remaining = T % L
        guard complete > 0 else { return try press.compress(input) }
        var summed = [Float](repeating: 0, count: T)
        for g in 0..<G { for j in 0..<T { summed[j] += scores[g * T + j] } }
        var chunkScores = (0..<complete).map { c in (0..<L).reduce(Float(0)) { $0 + summed[c * L + $1] } / Float(L) }
        if remaining > 0 {
            chunkScores.append((complete * L..<T).reduce(Float(0)) { $0 + summed[$1] } / Float(remaining))
        }
        let keepChunks = max(1, Int(Double(chunkScores.count) * (1 - press.compressionRatio)))
        let top = chunkScores.withUnsafeBufferPointer { TopK.indices($0.baseAddress!, count: chunkScores.count, keep: keepChunks) }
        let rows = top.flatMap { c in c < complete ? Array((c * L)..<((c + 1) * L)) : Array((complete * L)..<T) }
        input.keep([[Int]](repeating: rows, count: G))
    }
}
