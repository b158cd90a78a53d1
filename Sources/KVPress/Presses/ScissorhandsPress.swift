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
/// - Parameters:
///   - compression_ratio: fraction of KV pairs removed, `[0, 1)`; default `0.0`.
///   - history_window: last context queries whose attention accumulates, `≥ 1`; default `256`.
///   - decay: weight per step of age of a query's contribution, `[0, 1]`; default `1.0`.
///   - recent_size: most recent tokens always kept, `≥ 0`; default `32`.
///   - n_sink: initial tokens always kept, `≥ 0`; default `4`.
///   - selection: `topk` or `prob`; default `topk`.
///   - random_temperature: temperature of the `prob` sampling, `≥ 0`; default `1.0`.
///   - seed: seed of the `prob` sampling, or `none`; default `none`.
///   - gqa_score_agg: `mean`, `max` or `sum`; default `mean`.
///
/// Based on Scissorhands, https://arxiv.org/abs/2305.17118.
public final class ScissorhandsPress: Press {
    public let name = "scissorhands"
    public var compressionRatio: Double
    public var historyWindow: Int
    public var decay: Double
    public var recentSize: Int
    public var sinkCount: Int
    public var probabilistic: Bool
    public var randomTemperature: Double
    public var seed: Int?
    public var aggregation: GQAScoreAggregation

    public init(compressionRatio: Double = 0.0, historyWindow: Int = 256, decay: Double = 1.0, recentSize: Int = 32,
                sinkCount: Int = 4, probabilistic: Bool = false, randomTemperature: Double = 1.0, seed: Int? = nil,
                aggregation: GQAScoreAggregation = .mean) throws {
        try Validate.ratio(compressionRatio, press: "scissorhands")
        try Validate.atLeast(historyWindow, 1, "history_window", press: "scissorhands")
        try Validate.atLeast(recentSize, 0, "recent_size", press: "scissorhands")
        try Validate.atLeast(sinkCount, 0, "n_sink", press: "scissorhands")
        guard (0...1).contains(decay) else {
            throw PressError.invalidValue(press: "scissorhands", parameter: "decay", value: String(decay), expected: "a number in [0, 1]")
        }
        self.compressionRatio = compressionRatio
        self.historyWindow = historyWindow
        self.decay = decay
        self.recentSize = recentSize
        self.sinkCount = sinkCount
        self.probabilistic = probabilistic
        self.randomTemperature = randomTemperature
        self.seed = seed
        self.aggregation = aggregation
    }

    public var parameterValues: [(String, String)] {
        [("compression_ratio", String(compressionRatio)), ("history_window", String(historyWindow)), ("decay", String(decay)),
         ("recent_size", String(recentSize)), ("n_sink", String(sinkCount)), ("selection", probabilistic ? "prob" : "topk"),
         ("random_temperature", String(randomTemperature)), ("seed", seed.map(String.init) ?? "none"),
         ("gqa_score_agg", aggregation.rawValue)]
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
        let sinks = min(sinkCount, T)
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

    static let descriptor = PressDescriptor(
        name: "scissorhands", summary: "keeps tokens whose importance persisted over a history window of queries",
        reference: "https://arxiv.org/abs/2305.17118",
        parameters: [
            PressParameter("compression_ratio", "0.0", "fraction of KV pairs removed, [0, 1)"),
            PressParameter("history_window", "256", "last context queries whose attention accumulates, ≥ 1"),
            PressParameter("decay", "1.0", "weight per step of age of a query's attention, [0, 1]"),
            PressParameter("recent_size", "32", "most recent tokens always kept, ≥ 0"),
            PressParameter("n_sink", "4", "initial tokens always kept, ≥ 0"),
            PressParameter("selection", "topk", "topk (most important) or prob (sampled by softmax(importance/t))"),
            PressParameter("random_temperature", "1.0", "temperature of the prob sampling, ≥ 0 (0 = uniform)"),
            PressParameter("seed", "none", "seed of the prob sampling (integer), or none"),
            PressParameter("gqa_score_agg", "mean", "mean, max or sum over the query heads of a KV head"),
        ]
    ) { args, _ in
        try ScissorhandsPress(compressionRatio: args.ratio(), historyWindow: args.int("history_window", minimum: 1),
                              decay: args.double("decay", in: 0...1), recentSize: args.int("recent_size"),
                              sinkCount: args.int("n_sink"), probabilistic: args.choice("selection", ["topk", "prob"]) == "prob",
                              randomTemperature: args.double("random_temperature", in: 0...Double.greatestFiniteMagnitude),
                              seed: args.optionalInt("seed"), aggregation: args.aggregation())
    }
}
