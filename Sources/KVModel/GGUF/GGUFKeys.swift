/// The single home of GGUF metadata keys and tensor names (kept in sync with ggml's `gguf.py`).
public enum GGUFKeys {
    // MARK: general
    public static let architecture = "general.architecture"
    public static let name = "general.name"
    public static let alignment = "general.alignment"

    // MARK: per-architecture hyperparameters (prefixed with the architecture name)
    public static func contextLength(_ arch: String) -> String { "\(arch).context_length" }
    public static func embeddingLength(_ arch: String) -> String { "\(arch).embedding_length" }
    public static func blockCount(_ arch: String) -> String { "\(arch).block_count" }
    public static func feedForwardLength(_ arch: String) -> String { "\(arch).feed_forward_length" }
    public static func headCount(_ arch: String) -> String { "\(arch).attention.head_count" }
    public static func headCountKV(_ arch: String) -> String { "\(arch).attention.head_count_kv" }
    public static func keyLength(_ arch: String) -> String { "\(arch).attention.key_length" }
    public static func valueLength(_ arch: String) -> String { "\(arch).attention.value_length" }
    public static func rmsEpsilon(_ arch: String) -> String { "\(arch).attention.layer_norm_rms_epsilon" }
    public static func ropeFreqBase(_ arch: String) -> String { "\(arch).rope.freq_base" }
    public static func ropeDimensionCount(_ arch: String) -> String { "\(arch).rope.dimension_count" }
    public static func ropeScalingType(_ arch: String) -> String { "\(arch).rope.scaling.type" }
    public static func ropeScalingFactor(_ arch: String) -> String { "\(arch).rope.scaling.factor" }
    public static func vocabSize(_ arch: String) -> String { "\(arch).vocab_size" }
    public static func slidingWindow(_ arch: String) -> String { "\(arch).attention.sliding_window" }
    /// An int period (every n-th layer global) or an array of per-layer bools.
    public static func slidingWindowPattern(_ arch: String) -> String { "\(arch).attention.sliding_window_pattern" }
    public static func ropeFreqBaseSliding(_ arch: String) -> String { "\(arch).rope.freq_base_swa" }
    public static func ropeScalingAttentionFactor(_ arch: String) -> String { "\(arch).rope.scaling.attn_factor" }
    public static func ropeScalingOriginalContext(_ arch: String) -> String { "\(arch).rope.scaling.original_context_length" }

    // MARK: tokenizer
    public static let tokenizerModel = "tokenizer.ggml.model"
    public static let tokenizerPre = "tokenizer.ggml.pre"
    public static let tokens = "tokenizer.ggml.tokens"
    public static let tokenTypes = "tokenizer.ggml.token_type"
    public static let scores = "tokenizer.ggml.scores"
    public static let merges = "tokenizer.ggml.merges"
    public static let bosTokenID = "tokenizer.ggml.bos_token_id"
    public static let eosTokenID = "tokenizer.ggml.eos_token_id"
    public static let eotTokenID = "tokenizer.ggml.eot_token_id"
    public static let unknownTokenID = "tokenizer.ggml.unknown_token_id"
    public static let paddingTokenID = "tokenizer.ggml.padding_token_id"
    public static let addBOS = "tokenizer.ggml.add_bos_token"
    public static let addEOS = "tokenizer.ggml.add_eos_token"
    public static let addSpacePrefix = "tokenizer.ggml.add_space_prefix"
    public static let chatTemplate = "tokenizer.chat_template"

    // MARK: tensor names
    public static let tokenEmbedding = "token_embd.weight"
    public static let outputNorm = "output_norm.weight"
    public static let output = "output.weight"
    /// Phi-3 LongRoPE per-pair frequency factors, for contexts beyond / within the original length.
    public static let ropeFactorsLong = "rope_factors_long.weight"
    public static let ropeFactorsShort = "rope_factors_short.weight"

    /// Per-block tensors, formatted as `blk.N.<suffix>.weight`.
    public enum Block: String, CaseIterable, Sendable {
        case attnNorm = "attn_norm"
        case attnQ = "attn_q"
        case attnK = "attn_k"
        case attnV = "attn_v"
        case attnOutput = "attn_output"
        /// Fused `[q | k | v]` projection (phi3).
        case attnQKV = "attn_qkv"
        /// Per-head RMSNorm of queries and keys before RoPE (qwen3, gemma3).
        case attnQNorm = "attn_q_norm"
        case attnKNorm = "attn_k_norm"
        /// Norms after attention and after the feed-forward network (gemma3).
        case attnPostNorm = "post_attention_norm"
        case ffnPostNorm = "post_ffw_norm"
        case ffnNorm = "ffn_norm"
        case ffnGate = "ffn_gate"
        case ffnUp = "ffn_up"
        case ffnDown = "ffn_down"
    }

    /// The name of a per-block weight tensor, e.g. `blk.3.attn_q.weight`.
    public static func block(_ index: Int, _ tensor: Block) -> String { "blk.\(index).\(tensor.rawValue).weight" }

    /// The name of a per-block bias tensor, e.g. `blk.3.attn_q.bias`.
    public static func blockBias(_ index: Int, _ tensor: Block) -> String { "blk.\(index).\(tensor.rawValue).bias" }
}
