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
/// - Parameters:
///   - compression_ratio: fraction of KV pairs removed, `[0, 1)`; default `0.0`.
///   - proxy_size: last context tokens used as proxy queries (and always kept), `≥ 1`; default `32`.
///   - n_sink: initial tokens always kept, `≥ 0`; default `4`.
///   - random_ratio: share of the budget chosen at random, `[0, 1]`; default `0.2`.
///   - random_temperature: temperature of the sampling weights, `≥ 0`; default `1.0`.
///   - seed: seed of the random part, or `none` for a fresh draw; default `none`.
///   - gqa_score_agg: `mean`, `max` or `sum`; default `mean`.
///
/// Based on NACL, https://arxiv.org/abs/2408.03675.
public final class NACLPress: Press {
    public let name = "nacl"
    public var compressionRatio: Double
    public var proxySize: Int
    public var sinkCount: Int
    public var randomRatio: Double
    public var randomTemperature: Double
    public var seed: Int?
    public var aggregation: GQAScoreAggregation

    public init(compressionRatio: Double = 0.0, proxySize: Int = 32, sinkCount: Int = 4, randomRatio: Double = 0.2,
                randomTemperature: Double = 1.0, seed: Int? = nil, aggregation: GQAScoreAggregation = .mean) throws {
        try Validate.ratio(compressionRatio, press: "nacl")
        try Validate.atLeast(proxySize, 1, "proxy_size", press: "nacl")
        try Validate.atLeast(sinkCount, 0, "n_sink", press: "nacl")
        guard (0...1).contains(randomRatio) else {
            throw PressError.invalidValue(press: "nacl", parameter: "random_ratio", value: String(randomRatio), expected: "a number in [0, 1]")
        }
        guard randomTemperature >= 0 else {
            throw PressError.invalidValue(press: "nacl", parameter: "random_temperature", value: String(randomTemperature), expected: "a number ≥ 0")
        }
        self.compressionRatio = compressionRatio
        self.proxySize = proxySize
        self.sinkCount = sinkCount
        self.randomRatio = randomRatio
        self.randomTemperature = randomTemperature
        self.seed = seed
        self.aggregation = aggregation
    }

    public var parameterValues: [(String, String)] {
        [("compression_ratio", String(compressionRatio)), ("proxy_size", String(proxySize)), ("n_sink", String(sinkCount)),
         ("random_ratio", String(randomRatio)), ("random_temperature", String(randomTemperature)),
         ("seed", seed.map(String.init) ?? "none"), ("gqa_score_agg", aggregation.rawValue)]
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
        let protected = Array(0..<min(sinkCount, T)) + Array(max(min(sinkCount, T), T - proxySize)..<T)
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

    static let descriptor = PressDescriptor(
        name: "nacl", summary: "proxy-token eviction (last tokens' attention) plus a seeded random part",
        reference: "https://arxiv.org/abs/2408.03675",
        parameters: [
            PressParameter("compression_ratio", "0.0", "fraction of KV pairs removed, [0, 1)"),
            PressParameter("proxy_size", "32", "last context tokens used as proxy queries and always kept, ≥ 1"),
            PressParameter("n_sink", "4", "initial tokens always kept, ≥ 0"),
            PressParameter("random_ratio", "0.2", "share of the budget chosen at random, [0, 1]"),
            PressParameter("random_temperature", "1.0", "temperature of softmax(score/t) sampling weights, ≥ 0 (0 = uniform)"),
            PressParameter("seed", "none", "seed of the random part (integer), or none"),
            PressParameter("gqa_score_agg", "mean", "mean, max or sum over the query heads of a KV head"),
        ]
    ) { args, _ in
        try NACLPress(compressionRatio: args.ratio(), proxySize: args.int("proxy_size", minimum: 1),
                      sinkCount: args.int("n_sink"), randomRatio: args.double("random_ratio", in: 0...1),
                      randomTemperature: args.double("random_temperature", in: 0...Double.greatestFiniteMagnitude),
                      seed: args.optionalInt("seed"), aggregation: args.aggregation())
    }
}
