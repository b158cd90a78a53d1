/// Chooses tokens from logits according to `SamplingParameters`.
///
/// The chain is: repetition penalty → greedy (temperature 0) or temperature → top-k → top-p → draw.
public struct Sampler {
    /// The settings in use.
    public let parameters: SamplingParameters
    private var rng: SplitMix64

    /// A sampler whose generator starts from `parameters.seed`: the same seed, logits and history
    /// give the same tokens. Does not validate `parameters` (see `SamplingParameters.validationError`).
    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        rng = SplitMix64(seed: parameters.seed)
    }

    /// Picks the next token.
    /// - Parameters:
    ///   - logits: `[V]` scores; modified in place by the penalty.
    ///   - history: tokens generated or seen so far (for the repetition penalty).
    public mutating func sample(_ logits: inout [Float], history: [Int]) -> Int {
        let p = parameters
        if p.repetitionPenalty != 1 {
            for id in Set(history.suffix(p.repetitionWindow)) where id >= 0 && id < logits.count {
                logits[id] = logits[id] > 0 ? logits[id] / p.repetitionPenalty : logits[id] * p.repetitionPenalty
            }
        }
        if p.temperature == 0 { return Sampler.argmax(logits) }

        // Candidates sorted by logit, cut by top-k.
        var order = Array(logits.indices)
        if p.topK > 0 && p.topK < order.count {
            order = Array(order.sorted { logits[$0] > logits[$1] }.prefix(p.topK))
        } else {
            order.sort { logits[$0] > logits[$1] }
        }
        let maxLogit = logits[order[0]]
        var probs = order.map { FastMath.exp((logits[$0] - maxLogit) / p.temperature) }
        let total = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= total }
        // Top-p: smallest prefix whose mass reaches topP.
        var keep = probs.count
        if p.topP < 1 {
            var mass: Float = 0
            for (i, pr) in probs.enumerated() {
                mass += pr
                if mass >= p.topP { keep = i + 1; break }
            }
        }
        let kept = probs.prefix(keep)
        let r = Float(rng.nextDouble()) * kept.reduce(0, +)
        var acc: Float = 0
        for (i, pr) in kept.enumerated() {
            acc += pr
            if r < acc { return order[i] }
        }
        return order[keep - 1]
    }

    /// Index of the largest logit (the first one on ties).
    public static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for (i, v) in logits.enumerated() where v > bestValue {
            best = i
            bestValue = v
        }
        return best
    }
}

/// A small, fast, seedable generator (SplitMix64), so sampling is reproducible across platforms.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1).
    public mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
