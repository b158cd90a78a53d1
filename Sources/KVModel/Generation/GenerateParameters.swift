/// Settings of one generation.
public struct GenerateParameters: Sendable, Equatable {
    /// Stop after this many new tokens.
    public var maxNewTokens: Int
    /// How tokens are chosen.
    public var sampling: SamplingParameters
    /// Tokens that end the generation (end of sequence, end of turn). The stop token itself is emitted.
    public var stopTokens: Set<Int>

    /// Defaults: 256 new tokens, greedy, no stop tokens (pass `Model.stopTokens` to end at the
    /// end of the assistant's turn).
    public init(maxNewTokens: Int = 256, sampling: SamplingParameters = .greedy, stopTokens: Set<Int> = []) {
        self.maxNewTokens = maxNewTokens
        self.sampling = sampling
        self.stopTokens = stopTokens
    }
}

/// Where the time of one generation went.
public struct GenerationTimings: Sendable, Equatable, Codable {
    /// Tokens of the prompt run before the first new token.
    public var promptTokens: Int = 0
    /// New tokens produced.
    public var generatedTokens: Int = 0
    /// Seconds spent on the prompt (prefill).
    public var prefillSeconds: Double = 0
    /// Seconds from the start until the first new token was chosen.
    public var timeToFirstTokenSeconds: Double = 0
    /// Seconds spent producing the tokens after the first.
    public var decodeSeconds: Double = 0

    /// All zero; `Generation` fills them as it runs.
    public init() {}

    /// Decode speed in tokens per second (tokens after the first, over `decodeSeconds`).
    public var decodeTokensPerSecond: Double {
        generatedTokens > 1 && decodeSeconds > 0 ? Double(generatedTokens - 1) / decodeSeconds : 0
    }
}
