/// What attention needs to know about a layer: head counts and width, the score scale and an
/// optional sliding window.
///
/// Window convention (transformers' `sliding_window_overlay`: `kv_idx > q_idx - sliding_window`;
/// llama.cpp's `is_masked_swa` for `LLAMA_SWA_TYPE_STANDARD`: masked when `p1 - p0 >= n_swa`):
/// a query at position `p` sees the cached entries whose original position `q` satisfies
/// `p - window < q ≤ p`, i.e. at most `window` positions, its own included.
public struct AttentionShape: Sendable, Equatable {
    /// Query heads.
    public var headCount: Int
    /// Key/value heads (each serves `groupSize` consecutive query heads).
    public var headCountKV: Int
    /// Width of one head (of a query, a full key and a value).
    public var headDimension: Int
    /// Factor applied to every `q·k` before the softmax (usually `1/√headDimension`; Gemma 3 uses
    /// `query_pre_attn_scalar^-0.5`).
    public var scale: Float
    /// Sliding-window length in positions, or `nil` for full causal attention.
    public var window: Int?

    /// A shape with an explicit `scale` and optional window (in positions). Traps unless the head
    /// counts and width are positive, `headCount` is a multiple of `headCountKV` and any window is positive.
    public init(headCount: Int, headCountKV: Int, headDimension: Int, scale: Float, window: Int? = nil) {
        precondition(headCount > 0 && headCountKV > 0 && headCount % headCountKV == 0, "query heads must be a multiple of KV heads")
        precondition(headDimension > 0 && (window ?? 1) > 0, "head width and window must be positive")
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.headDimension = headDimension
        self.scale = scale
        self.window = window
    }

    /// Layer `layer` of a model with `config`: its scale, and its window on a sliding-window layer.
    public init(config: ModelConfig, layer: Int = 0) {
        self.init(headCount: config.headCount, headCountKV: config.headCountKV, headDimension: config.headDimension,
                  scale: config.attentionScale, window: config.window(layer: layer))
    }

    /// Query heads per KV head.
    public var groupSize: Int { headCount / headCountKV }

    /// Index of the first of `head`'s entries `0..<end` that a query at position `p` may see
    /// (0 without a window). Entries are in increasing position order, so this is a binary search.
    func firstVisible(_ head: HeadKVCache, position p: Int, end: Int) -> Int {
        guard let window else { return 0 }
        var lo = 0, hi = end
        while lo < hi {
            let mid = (lo + hi) / 2
            if head.position(mid) > p - window { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
