/// One sequence's share of a batched forward pass (`Model.forward(batch:scratch:)`): its new
/// tokens, the cache they attend over and append to, its layer hook and the logits it wants.
public struct BatchedSequence {
    /// Token ids to run, at positions `cache.nextPosition...`; must pass `Model.validate(_:cache:)`.
    public var tokens: [Int]
    /// The cache this sequence attends over and appends its keys and values to (a tail attends
    /// over its prefix too).
    public var cache: KVCache
    /// Called after each layer's attention with this sequence's rows only; `nil` for none.
    public var hook: LayerHook?
    /// Which of this sequence's logits `forward(batch:scratch:)` returns.
    public var logits: LogitsRequest

    /// A sequence with no hook that wants its last token's logits, unless told otherwise.
    public init(tokens: [Int], cache: KVCache, hook: LayerHook? = nil, logits: LogitsRequest = .last) {
        self.tokens = tokens
        self.cache = cache
        self.hook = hook
        self.logits = logits
    }
}
