/// Compresses each chunk of `chunk_length` tokens on its own, so every chunk keeps the same share (kvpress `ChunkPress`).
///
/// The inner press scores each chunk as if it were the whole context (its rows keep their original
/// positions); each chunk keeps `max(1, Int(len·(1 − ratio)))` entries per head.
///
/// - Parameters:
///   - press: the inner scorer press.
///   - chunk_length: chunk length, `≥ 1`; default `1024`.
///   - compression_ratio: sets the inner press's ratio; default: the inner press's.
///
/// Based on FINCH, https://direct.mit.edu/tacl/article/doi/10.1162/tacl_a_00716/125280.
public final class ChunkPress: Press {
    public let name = "chunk"
    public let press: ScorerPress
    public var chunkLength: Int

    public init(press: ScorerPress, chunkLength: Int = 1024) throws {
        try Validate.atLeast(chunkLength, 1, "chunk_length", press: "chunk")
        self.press = press
        self.chunkLength = chunkLength
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double { press.compressionRatio }
    public var parameterValues: [(String, String)] { [("chunk_length", String(chunkLength))] }

    public func compress(_ input: PressInput) throws {
        guard press.compressionRatio > 0 else { return }
        let T = input.tokenCount, G = input.headCountKV
        var kept = [[Int]](repeating: [], count: G)
        var start = 0
        while start < T {
            let end = min(start + chunkLength, T)
            let chunk = input.rows(start..<end)
            let scores = try press.score(chunk)
            let n = max(1, Int(Double(end - start) * (1 - press.compressionRatio)))
            let top = TopK.perHead(scores, heads: G, count: end - start, keep: n)
            for g in 0..<G { kept[g] += top[g].map { $0 + start } }
            start = end
        }
        input.keep(kept)
    }

    static let descriptor = PressDescriptor(
        name: "chunk", summary: "compresses each chunk of the context independently (uniform coverage)",
        reference: "https://direct.mit.edu/tacl/article/doi/10.1162/tacl_a_00716/125280",
        parameters: [
            PressParameter("chunk_length", "1024", "length of each independently compressed chunk, ≥ 1"),
            PressParameter("compression_ratio", "none", "sets the inner press's ratio, [0, 1)"),
        ], inner: .one
    ) { args, inner in
        let p = try PressRegistry.scorer(inner, for: "chunk")
        if let r = try args.optionalRatio() { p.compressionRatio = r }
        return try ChunkPress(press: p, chunkLength: args.int("chunk_length", minimum: 1))
    }
}
