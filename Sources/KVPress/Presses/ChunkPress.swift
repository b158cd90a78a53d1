/// Compresses each chunk of `chunk_length` tokens on its own, so every chunk keeps the same share (kvpress `ChunkPress`).
///
/// The inner press scores each chunk as if it were the whole context (its rows keep their original
/// positions); each chunk keeps `max(1, Int(len·(1 − ratio)))` entries per head.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on FINCH, https://direct.mit.edu/tacl/article/doi/10.1162/tacl_a_00716/125280.
public final class ChunkPress: Press, CatalogPress {
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
}
