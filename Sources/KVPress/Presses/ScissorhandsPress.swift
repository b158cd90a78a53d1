import Foundation
import KVModel

/// Persistence of importance: keeps the tokens that stayed important over a history window of
/// queries (KVCache-Factory's Scissorhands selector, prefill form).
///
/// Importance of a key is its attention summed over the last `history_window` context queries,
/// each query's contribution weighted by `decay^(age)` (age 0 for the last query; `decay = 1`
/// is KVCache-Factory's plain sum), per query head, combined over the GQA group by
/// `gqa_score_agg`. The first `n_sink` and the last `recent_size` tokens are always kept; the
/// rest of the budget `Int(T·(1 − compression_ratio))` goes to the most important (`selection=topk`)
/// or is drawn without replacement with probabilities `softmax(importance / random_temperature)`
/// (`selection=prob`, seeded when `seed` is given).
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on Scissorhands, https://arxiv.org/abs/2305.17118.
public final class ScissorhandsPress: Press, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let historyWindow: Int
    public let decay: Double
    public let recentSize: Int
    public let nSink: Int
    /// `selection=prob`: sample by softmax(importance/t) instead of taking the top.
    public let probabilistic: Bool
    public let randomTemperature: Double
    public let seed: Int?
    public let aggregation: GQAScoreAggregation

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        historyWindow = arguments[.historyWindow]
        decay = arguments[.decay]
        recentSize = arguments[.recentSize]
        nSink = arguments[.nSink]
        probabilistic = arguments[.selection] == "prob"
        randomTemperature = arguments[.randomTemperature]
        seed = arguments[.seed]
        aggregation = arguments[.gqaScoreAgg]
    }

    /// Importance `[G, T]`.
    public func importance(_ input: PressInput) -> [Float] {
        let sums = WindowAttention.windowColumnSums(input, window: historyWindow, decay: Float(decay))
        return aggregation.aggregate(sums, headCount: input.headCount, headCountKV: input.headCountKV, count: input.tokenCount)
    }

    public func compress(_ input: PressInput) throws {
        guard compressionRatio > 0 else { return }
        let T = input.tokenCount, G = input.headCountKV
        let budget = Int(Double(T) * (1 - compressionRatio))
        let sinks = min(nSink, T)
        let protected = Array(0..<sinks) + Array(max(sinks, T - recentSize)..<T)
        if protected.count >= budget {
            input.keep(Array(repeating: Array(protected.suffix(budget)), count: G))
            return
        }
        let scores = importance(input)
        var isProtected = [Bool](repeating: false, count: T)
        for t in protected { isProtected[t] = true }
        let candidates = (0..<T).filter { !isProtected[$0] }
        let k = budget - protected.count
        var kept: [[Int]] = []
        for g in 0..<G {
            let row = candidates.map { scores[g * T + $0] }
            let chosen: [Int]
            if probabilistic {
                var rng = SplitMix64(seed: seed.map { UInt64(bitPattern: Int64($0)) &+ UInt64(input.layer * 64 + g) &* 0x9E37_79B9_7F4A_7C15 }
                                     ?? UInt64.random(in: .min ... .max))
                let weights = WeightedSample.softmaxWeights(row, temperature: Float(randomTemperature))
                chosen = WeightedSample.draw(Array(0..<row.count), weights: weights, count: k, using: &rng)
            } else {
                chosen = row.withUnsafeBufferPointer { TopK.indices($0.baseAddress!, count: row.count, keep: k) }
            }
            kept.append((chosen.map { candidates[$0] } + protected).sorted())
        }
        input.keep(kept)
    }
}
