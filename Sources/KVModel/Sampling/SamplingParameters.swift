/// How the next token is chosen from the logits.
public struct SamplingParameters: Sendable, Equatable, Codable {
    /// 0 means greedy (argmax); otherwise logits are divided by it before sampling.
    public var temperature: Float = 0
    /// Keep only the `topK` most likely tokens (0 = no limit).
    public var topK: Int = 0
    /// Keep the smallest set of tokens whose probability reaches `topP` (1 = no limit).
    public var topP: Float = 1
    /// Penalise tokens already seen (1 = off), as in CTRL / llama.cpp: positive logits are divided by it, negative multiplied.
    public var repetitionPenalty: Float = 1
    /// How many recent tokens the repetition penalty looks at.
    public var repetitionWindow: Int = 64
    /// Seed of the random generator (sampling is reproducible for a given seed).
    public var seed: UInt64 = 0

    /// Settings as the properties describe; the defaults are greedy decoding. Nothing is checked
    /// here: `validationError` says whether the values are usable.
    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, repetitionPenalty: Float = 1,
                repetitionWindow: Int = 64, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.repetitionPenalty = repetitionPenalty
        self.repetitionWindow = repetitionWindow
        self.seed = seed
    }

    /// Greedy decoding.
    public static let greedy = SamplingParameters()

    /// A sentence describing the first invalid setting, or `nil`.
    public var validationError: String? {
        if !(temperature >= 0 && temperature.isFinite) { return "temperature must be ≥ 0 (0 means greedy), got \(temperature)" }
        if topK < 0 { return "top-k must be ≥ 0 (0 means no limit), got \(topK)" }
        if !(topP > 0 && topP <= 1) { return "top-p must be in (0, 1], got \(topP)" }
        if !(repetitionPenalty > 0 && repetitionPenalty.isFinite) { return "repetition penalty must be > 0 (1 means off), got \(repetitionPenalty)" }
        if repetitionWindow < 0 { return "repetition window must be ≥ 0, got \(repetitionWindow)" }
        return nil
    }
}
