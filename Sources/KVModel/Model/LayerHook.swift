/// What a layer hook sees after one layer's attention has run over a batch of tokens.
///
/// All buffers are valid only during the call. Shapes use the model's sizes:
/// `T = tokenCount`, `d = embeddingLength`, `H = headCount`, `G = headCountKV`, `D = headDimension`.
public struct AttentionObservation {
    /// Index of the layer (0-based).
    public let layer: Int
    /// Number of tokens just processed, `T`.
    public let tokenCount: Int
    /// Position of the first of those tokens (the others follow consecutively).
    public let firstPosition: Int
    /// Model hyperparameters.
    public let config: ModelConfig
    /// Attention input (the residual stream after the layer's RMSNorm), `[T, d]`.
    public let hidden: UnsafePointer<Float>
    /// Queries after RoPE, `[H, T, D]`.
    public let queries: UnsafePointer<Float>
    /// Keys after RoPE, `[G, T, D]`.
    public let keys: UnsafePointer<Float>
    /// Values, `[G, T, D]`.
    public let values: UnsafePointer<Float>
    /// The layer's cache, one head per KV head. The `T` new entries are already appended at the end of each head.
    public let cache: [HeadKVCache]
    /// Attention column sums, `[H, columnSumsStride]`, when the hook asked for `.columnSums`:
    /// row `h` holds, for every key `j` of query head `h`'s KV head (cache order, earlier entries
    /// first), `Σ_i p_i(j)` over the `T` new query rows `i` of the softmax probabilities the
    /// attention computed (`p_i(j) = 0` for keys after query `i`). Otherwise `nil`.
    public let columnSums: UnsafePointer<Float>?
    /// Floats between rows of `columnSums`: the longest head of the layer.
    public let columnSumsStride: Int

    /// An observation over the given buffers (the model builds these; tests and fan-out hooks may too).
    /// `columnSums` is `nil` unless the hook asked for `.columnSums`.
    public init(layer: Int, tokenCount: Int, firstPosition: Int, config: ModelConfig, hidden: UnsafePointer<Float>,
                queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                cache: [HeadKVCache], columnSums: UnsafePointer<Float>? = nil, columnSumsStride: Int = 0) {
        self.layer = layer
        self.tokenCount = tokenCount
        self.firstPosition = firstPosition
        self.config = config
        self.hidden = hidden
        self.queries = queries
        self.keys = keys
        self.values = values
        self.cache = cache
        self.columnSums = columnSums
        self.columnSumsStride = columnSumsStride
    }

    /// The same observation over another cache holding the same entries (a copy the hook fills
    /// itself, as a fan-out over several presses does).
    public func replacingCache(_ cache: [HeadKVCache]) -> AttentionObservation {
        AttentionObservation(layer: layer, tokenCount: tokenCount, firstPosition: firstPosition, config: config,
                             hidden: hidden, queries: queries, keys: keys, values: values, cache: cache,
                             columnSums: columnSums, columnSumsStride: columnSumsStride)
    }
}

/// Extra results a layer hook asks the attention to produce while it runs (the model computes
/// them only when asked, and never knows what the hook does with them).
public struct AttentionOutputs: OptionSet, Sendable, Hashable {
    /// The bits of the set (`columnSums` is bit 0).
    public let rawValue: Int
    /// A set from its bits.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Per query head, the sum over the new query rows of the softmax probabilities each key
    /// received (`AttentionObservation.columnSums`). Prefill accumulates them from the
    /// probability rows it already holds: one `sgemv` per block of 128 query rows. A decode step
    /// (one token) writes its probabilities, rescaled exactly across split-K slices.
    public static let columnSums = AttentionOutputs(rawValue: 1 << 0)
}

/// Code that runs after each layer's attention, e.g. a press that decides what the cache keeps.
///
/// The model calls the hook once per layer per forward call, after the layer's attention and
/// before its feed-forward network. The hook may shrink the layer's cache (`HeadKVCache.keep`,
/// `keepKeyChannels`, `setValue`); that changes what later forward calls attend to, never the
/// current call's remaining computation. The model code never knows what the hook does.
public protocol LayerHook: AnyObject {
    /// What the hook needs the attention to compute besides its output; `[]` by default.
    var observes: AttentionOutputs { get }
    /// Called after `observation.layer`'s attention.
    func afterAttention(_ observation: AttentionObservation) throws
}

extension LayerHook {
    /// Nothing beyond the attention output.
    public var observes: AttentionOutputs { [] }
}
