import KVModel

/// SnapKV-style selection with per-row normalised window attention, then key re-rotation
/// (kvpress `FinchPress`).
///
/// kvpress's FINCH reads the question from the prefill: the prompt is `context + delimiter +
/// question`, and the question's tokens are the observation window. kvd compresses a context
/// once for many questions and a press never sees the question, so here the window is the
/// context's last `window_size` tokens — the same choice as SnapKV, and what FINCH does when the
/// query is part of the context's end (kvpress itself rejects an empty question). Within that
/// window everything follows kvpress: row `i` of the window attention (query `T − w + i`) is
/// multiplied by `T − w + i` (`normalize_scores`), rows are averaged, query heads averaged over
/// each GQA group, the window is kept, the top `Int(T·(1 − compression_ratio))` are chosen (per
/// chunk of `chunk_length` when set), and with `rerotate_keys` the kept keys move to positions
/// `0..<n_kept` (call `PressHook.finish` after the prefill, as for `key_rerotation`).
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on FINCH, https://direct.mit.edu/tacl/article/doi/10.1162/tacl_a_00716/125280 (arXiv 2408.00167).
public final class FinchPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let windowSize: Int
    public let chunkLength: Int?
    public let normalizeScores: Bool
    public let rerotateKeys: Bool

    /// - Throws: `PressError.invalidValue` when `chunk_length` cannot hold the window's share of a chunk.
    public init(_ arguments: PressArguments) throws {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        windowSize = arguments[.windowSize]
        chunkLength = arguments[.chunkLengthOrNone]
        normalizeScores = arguments[.normalizeScores]
        rerotateKeys = arguments[.rerotateKeys]
        if let chunkLength, Double(chunkLength) <= Double(windowSize) / (1 - compressionRatio) {
            throw PressError.invalidValue(press: "finch", parameter: ParameterKey<Int?>.chunkLengthOrNone.name,
                                          value: String(chunkLength),
                                          expected: "an integer > window_size / (1 − compression_ratio)")
        }
    }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount, H = input.headCount, G = input.headCountKV, w = windowSize
        guard T > w else { throw PressError.contextTooShort(press: name, tokens: T, needed: w + 1) }
        let attention = WindowAttention.weights(input, window: w)  // [H, w, T]
        let n = T - w
        var perHead = [Float](repeating: 0, count: H * n)
        for h in 0..<H {
            for i in 0..<w {
                let row = (h * w + i) * T
                let factor = normalizeScores ? Float(T - w + i) : 1
                for j in 0..<n { perHead[h * n + j] += attention[row + j] * factor }
            }
            for j in 0..<n { perHead[h * n + j] /= Float(w) }
        }
        let scores = GQAScoreAggregation.mean.aggregate(perHead, headCount: H, headCountKV: G, count: n)
        return Pooling.pad(scores, rows: G, count: n, left: 0, right: w, value: Pooling.max(scores) + 1)
    }

    /// Kept rows per KV head (whole context, or chunk by chunk), ascending.
    func selection(_ input: PressInput) throws -> [[Int]] {
        let T = input.tokenCount, G = input.headCountKV
        let scores = try score(input)
        guard let C = chunkLength else { return TopK.perHead(scores, heads: G, count: T, keep: keptCount(T)) }
        var kept = [[Int]](repeating: [], count: G)
        scores.withUnsafeBufferPointer { p in
            for g in 0..<G {
                var start = 0
                while start < T {
                    let n = min(C, T - start)
                    let k = max(1, Int(Double(n) * (1 - compressionRatio)))
                    kept[g] += TopK.indices(p.baseAddress! + g * T + start, count: n, keep: k).map { start + $0 }
                    start += n
                }
            }
        }
        return kept
    }

    public func compress(_ input: PressInput) throws {
        guard compressionRatio > 0 else { return }
        let kept = try selection(input)
        if rerotateKeys {
            KeyRerotationPress.rerotate(input, kept: kept)
        } else {
            input.keep(kept)
        }
    }
}
