/// One sequence's share of a batched forward pass (`Model.forward(batch:scratch:)`): its new
/// tokens, the cache they attend over and append to, its layer hook and the logits it wants.
public struct BatchedSequence {
    public var tokens: [Int]
    public var cache: KVCache
    public var hook: LayerHook?
    public var logits: LogitsRequest

    public init(tokens: [Int], cache: KVCache, hook: LayerHook? = nil, logits: LogitsRequest = .last) {
        self.tokens = tokens
        self.cache = cache
        self.hook = hook
        self.logits = logits
    }
}
