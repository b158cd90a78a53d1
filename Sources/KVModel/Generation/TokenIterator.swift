import KVSystem

/// Generates tokens one `next()` at a time: the prompt is prefilled on the first call, then each
/// call decodes one step on top of the cache. The per-token rules are `Generation`'s, the same
/// that kvd's asks follow.
///
/// The iterator appends to the cache it is given; take a `KVCache.checkpoint()` first and roll
/// back afterwards to reuse a context (see `Session`-style callers).
public struct TokenIterator {
    /// The model that runs the prompt and every decode step.
    public let model: Model
    /// The cache the prompt and the generated tokens are appended to.
    public let cache: KVCache
    /// Runs after each layer's attention of the prompt and of every decode step (e.g. a
    /// decoding-time compressor); `nil` for plain generation.
    public let hook: LayerHook?
    /// Sampling, stop rules, text and timings.
    public private(set) var generation: Generation

    /// - Parameters:
    ///   - prompt: tokens to run before generating (at least one).
    ///   - parameters: length limit, sampling and stop tokens, used as given.
    ///   - hook: called after each layer's attention of every forward call the iterator makes.
    public init(model: Model, cache: KVCache, prompt: [Int], parameters: GenerateParameters, hook: LayerHook? = nil) {
        self.model = model
        self.cache = cache
        self.hook = hook
        generation = Generation(prompt: prompt, parameters: parameters, tokenizer: model.tokenizer)
    }

    /// Tokens produced so far.
    public var tokens: [Int] { generation.tokens }
    /// Timings so far.
    public var timings: GenerationTimings { generation.timings }

    /// The next token and the text it completes, or `nil` when a stop token was emitted or
    /// `maxNewTokens` reached (then `flush()` gives the text still held back).
    public mutating func nextPiece() throws -> GeneratedPiece? {
        guard generation.end == nil else { return nil }
        let t0 = ContinuousClock.now
        var logits = try model.forward(generation.input, cache: cache, hook: hook, logits: .last)
        return generation.take(&logits, seconds: t0.secondsElapsed)
    }

    /// The next token, or `nil` when a stop token was emitted or `maxNewTokens` reached.
    public mutating func next() throws -> Int? {
        try nextPiece()?.tokenID
    }

    /// Ends the text: the bytes of an unfinished UTF-8 character still held back (see `Generation.flush`).
    public mutating func flush() -> String {
        generation.flush()
    }

    /// Runs to the end and returns every generated token.
    public mutating func collect() throws -> [Int] {
        while try next() != nil {}
        return tokens
    }
}
