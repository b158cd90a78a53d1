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
}

/// Code that runs after each layer's attention, e.g. a press that decides what the cache keeps.
///
/// The model calls the hook once per layer per forward call, after the layer's attention and
/// before its feed-forward network. The hook may shrink the layer's cache (`HeadKVCache.keep`,
/// `keepKeyChannels`, `setValue`); that changes what later forward calls attend to, never the
/// current call's remaining computation. The model code never knows what the hook does.
public protocol LayerHook: AnyObject {
    /// Called after `observation.layer`'s attention.
    func afterAttention(_ observation: AttentionObservation) throws
}
