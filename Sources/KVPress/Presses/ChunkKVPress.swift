/// Keeps whole chunks of `chunk_length` tokens, ranked by the inner press's mean score (kvpress `ChunkKVPress`).
///
/// Scores of the inner press are summed over KV heads and averaged per chunk (the trailing
/// partial chunk is one more chunk); the best `max(1, Int(chunks·(1 − ratio)))` chunks stay, the
/// same positions in every head.
///
/// - Parameters:
///   - press: the inner scorer press.
///   - chunk_length: chunk length, `≥ 1`; default `20`.
///   - compression_ratio: sets the inner press's ratio; default: the inner press's.
///
/// Based on https://arxiv.org/abs/2502.00299.
public final class ChunkKVPress: Press {
    public let name = "chunkkv"
    public let press: ScorerPress
    public var chunkLength: Int

    public init(press: ScorerPress, chunkLength: Int = 20) throws {
        try Validate.atLeast(chunkLength, 1, "chunk_length", press: "chunkkv")
        self.press = press
        self.chunkLength = chunkLength
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double { press.compressionRatio }
    public var parameterValues: [(String, String)] { [("chunk_length", String(chunkLength))] }

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

    static let descriptor = PressDescriptor(
        name: "chunkkv", summary: "keeps whole chunks ranked by the inner press's mean score",
        reference: "https://arxiv.org/abs/2502.00299",
        parameters: [
            PressParameter("chunk_length", "20", "length of the chunks kept or dropped whole, ≥ 1"),
            PressParameter("compression_ratio", "none", "sets the inner press's ratio, [0, 1)"),
        ], inner: .one
    ) { args, inner in
        let p = try PressRegistry.scorer(inner, for: "chunkkv")
        if let r = try args.optionalRatio() { p.compressionRatio = r }
        return try ChunkKVPress(press: p, chunkLength: args.int("chunk_length", minimum: 1))
    }
}
