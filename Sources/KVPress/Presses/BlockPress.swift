/// Compresses block by block, as a chunked prefill would: the kept set so far plus the next
/// `block_size` tokens are rescored and cut back to the budget (kvpress `BlockPress`).
///
/// Each KV head is rescored with its own kept rows (one sub-input where every head takes its own
/// rows, see `PressInput.rows(perHead:cache:)`); scorers read only their own head, so this equals
/// kvpress, which shares one hidden-state reshaping between heads.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2504.15364 (KeyDiff).
public final class BlockPress: Press, CatalogPress {
    public let arguments: PressArguments
    public let press: ScorerPress
    public let blockSize: Int

    public init(_ arguments: PressArguments, press: ScorerPress) {
        self.arguments = arguments
        self.press = press
        blockSize = arguments[.blockSize]
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double { press.compressionRatio }

    public func compress(_ input: PressInput) throws {
        guard press.compressionRatio > 0 else { return }
        let T = input.tokenCount, G = input.headCountKV
        let block = min(blockSize, T)
        let nKept = Int(Double(T) * (1 - press.compressionRatio))
        var kept = [[Int]](repeating: Array(0..<nKept), count: G)
        var start = nKept
        while start < T {
            let end = min(start + block, T)
            // Every head's own kept rows plus the new block, scored in one call.
            let current = kept.map { $0 + Array(start..<end) }
            let scores = try press.score(input.rows(perHead: current, cache: []))
            let n = current[0].count
            scores.withUnsafeBufferPointer { s in
                for g in 0..<G {
                    kept[g] = TopK.indices(s.baseAddress! + g * n, count: n, keep: nKept).map { current[g][$0] }
                }
            }
            start = end
        }
        input.keep(kept)
    }
}
