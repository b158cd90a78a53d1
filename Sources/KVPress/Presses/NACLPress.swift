import Foundation
import KVModel

/// One-shot eviction by proxy tokens plus a random part (KVCache-Factory's NACL selector, prefill form).
///
/// The last `proxy_size` context tokens stand in for the question (KVCache-Factory's `suffix`
/// proxy mode): per query head, the attention rows of those proxy queries are summed into a
/// score per key, combined over the GQA group by `gqa_score_agg`. Per KV head the budget
/// `n_kept = Int(T·(1 − compression_ratio))` is filled with the protected tokens (the proxy
/// tokens and the first `n_sink`), then the top-scoring others, and a share `random_ratio` of
/// the budget is drawn at random among the rest without replacement, with probabilities
/// `softmax(score / random_temperature)` (uniform when the temperature is 0). The draw is
/// seeded per layer and head when `seed` is given.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on NACL, https://arxiv.org/abs/2408.03675.
public final class NACLPress: Press, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let proxySize: Int
    public let nSink: Int
    public let randomRatio: Double
    public let randomTemperature: Double
    public let seed: Int?
    public let aggregation: GQAScoreAggregation

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        proxySize = arguments[.proxySize]
        nSink = arguments[.nSink]
        randomRatio = arguments[.randomRatio]
        randomTemperature = arguments[.randomTemperature]
        seed = arguments[.seed]
        aggregation = arguments[.gqaScoreAgg]
    }

    /// Proxy-attention scores `[G, T]`.
    public func score(_ input: PressInput) -> [Float] {
        let sums = WindowAttention.windowColumnSums(input, window: proxySize)
        return aggregation.aggregate(sums, headCount: input.headCount, headCountKV: input.headCountKV, count: input.tokenCount)
    }

    public func compress(_ input: PressInput) throws {
        guard compressionRatio > 0 else { return }
        let T = input.tokenCount, G = input.headCountKV
        let budget = Int(Double(T) * (1 - compressionRatio))
        let protected = Array(0..<min(nSink, T)) + Array(max(min(nSink, T), T - proxySize)..<T)
        if protected.count >= budget {
            input.keep(Array(repeating: Array(protected.suffix(budget)), count: G))
            return
        }
        let scores = score(input)
        let randomKeep = min(Int(Double(budget) * randomRatio), budget - protected.count)
        let topKeep = budget - protected.count - randomKeep
        var isProtected = [Bool](repeating: false, count: T)
        for t in protected { isProtected[t] = true }
        let candidates = (0..<T).filter { !isProtected[$0] }
        var kept: [[Int]] = []
        for g in 0..<G {
            let row = candidates.map { scores[g * T + $0] }
            let top = row.withUnsafeBufferPointer { TopK.indices($0.baseAddress!, count: row.count, keep: topKeep) }
            var chosen = [Bool](repeating: false, count: row.count)
            for i in top { chosen[i] = true }
            let rest = (0..<row.count).filter { !chosen[$0] }
            var rng = SplitMix64(seed: seed.map { UInt64(bitPattern: Int64($0)) &+ UInt64(input.layer * 64 + g) &* 0x9E37_79B9_7F4A_7C15 }
                                 ?? UInt64.random(in: .min ... .max))
            let weights = WeightedSample.softmaxWeights(rest.map { row[$0] }, temperature: Float(randomTemperature))
            let drawn = WeightedSample.draw(rest, weights: weights, count: randomKeep, using: &rng)
            kept.append((top.map { candidates[$0] } + drawn.map { candidates[$0] } + protected).sorted())
        }
        input.keep(kept)
    }
}
