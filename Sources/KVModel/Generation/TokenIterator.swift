import KVSystem

/// Generates tokens one `next()` at a time: the prompt is prefilled on the first call, then each
/// call decodes one step on top of the cache.
///
/// The iterator appends to the cache it is given; take a `KVCache.checkpoint()` first and roll
/// back afterwards to reuse a context (see `Session`-style callers).
public struct TokenIterator {
    /// The model that runs the prompt and every decode step.
    public let model: Model
    /// The cache the prompt and the generated tokens are appended to.
    public let cache: KVCache
    /// Length limit, sampling and stop tokens.
    public let parameters: GenerateParameters
    /// Runs after each layer's attention of the prompt and of every decode step (e.g. a
    /// decoding-time compressor); `nil` for plain generation.
    public let hook: LayerHook?
    /// Timings so far.
    public private(set) var timings = GenerationTimings()
    /// Tokens produced so far.
    public private(set) var tokens: [Int] = []

    private var prompt: [Int]
    private var sampler: Sampler
    private var pendingLogits: [Float]?
    private var finished = false
    private var history: [Int]
    private let start = ContinuousClock.now

    /// - Parameters:
    ///   - prompt: tokens to run before generating (may be empty if the cache already ends with
    ///     them and `logits` gives their last logits).
    ///   - logits: logits of the last token already in the cache, when `prompt` is empty.
    ///   - hook: called after each layer's attention of every forward call the iterator makes.
    public init(model: Model, cache: KVCache, prompt: [Int], logits: [Float]? = nil, parameters: GenerateParameters,
                hook: LayerHook? = nil) {
        self.model = model
        self.cache = cache
        self.hook = hook
        self.prompt = prompt
        self.parameters = parameters
        sampler = Sampler(parameters.sampling)
        pendingLogits = logits
        history = prompt
    }

    /// The next token, or `nil` when a stop token was emitted or `maxNewTokens` reached.
    public mutating func next() throws -> Int? {
        guard !finished, tokens.count < parameters.maxNewTokens else { return nil }
        var logits: [Float]
        if !prompt.isEmpty {
            let t0 = ContinuousClock.now
            logits = try model.forward(prompt, cache: cache, hook: hook, logits: .last)
            timings.promptTokens = prompt.count
            timings.prefillSeconds = t0.secondsElapsed
            prompt = []
        } else if let pending = pendingLogits {
            logits = pending
            pendingLogits = nil
        } else {
            guard let last = tokens.last else { return nil }
            let t0 = ContinuousClock.now
            logits = try model.forward([last], cache: cache, hook: hook, logits: .last)
            timings.decodeSeconds += t0.secondsElapsed
        }
        let token = sampler.sample(&logits, history: history)
        tokens.append(token)
        history.append(token)
        timings.generatedTokens = tokens.count
        if tokens.count == 1 { timings.timeToFirstTokenSeconds = start.secondsElapsed }
        if parameters.stopTokens.contains(token) { finished = true }
        return token
    }

    /// Runs to the end and returns every generated token.
    public mutating func collect() throws -> [Int] {
        while try next() != nil {}
        return tokens
    }
}
