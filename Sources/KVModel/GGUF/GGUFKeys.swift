/// The single home of GGUF metadata keys and tensor names (kept in sync with ggml's `gguf.py`).
public enum GGUFKeys {
    // MARK: general
    /// `general.architecture`: the model family (`llama`, `qwen2`, …); prefixes the hyperparameter keys. Required.
    public static let architecture = "general.architecture"
    /// `general.name`: the model's display name (optional; `ModelConfig.name` falls back to the architecture).
    public static let name = "general.name"
    /// `general.alignment`: alignment of the tensor data section in bytes, a power of two (32 when absent).
    public static let alignment = "general.alignment"

    // MARK: per-architecture hyperparameters (prefixed with the architecture name)
    /// `<arch>.context_length`: the context window the model was trained for, in tokens. Required.
    public static func contextLength(_ arch: String) -> String { "\(arch).context_length" }
    /// `<arch>.embedding_length`: width of the residual stream. Required.
    public static func embeddingLength(_ arch: String) -> String { "\(arch).embedding_length" }
    /// `<arch>.block_count`: number of transformer blocks (layers). Required.
    public static func blockCount(_ arch: String) -> String { "\(arch).block_count" }
    /// `<arch>.feed_forward_length`: hidden width of the feed-forward network. Required.
    public static func feedForwardLength(_ arch: String) -> String { "\(arch).feed_forward_length" }
    /// `<arch>.attention.head_count`: query heads per layer. Required.
    public static func headCount(_ arch: String) -> String { "\(arch).attention.head_count" }
    /// `<arch>.attention.head_count_kv`: key/value heads per layer (equal to the query heads when absent).
    public static func headCountKV(_ arch: String) -> String { "\(arch).attention.head_count_kv" }
    /// `<arch>.attention.key_length`: width of a head (`embedding_length / head_count` when absent).
    public static func keyLength(_ arch: String) -> String { "\(arch).attention.key_length" }
    /// `<arch>.attention.value_length`: width of a value head; kvd refuses a file where it differs from the key width.
    public static func valueLength(_ arch: String) -> String { "\(arch).attention.value_length" }
    /// `<arch>.attention.layer_norm_rms_epsilon`: RMSNorm's epsilon. Required.
    public static func rmsEpsilon(_ arch: String) -> String { "\(arch).attention.layer_norm_rms_epsilon" }
    /// `<arch>.rope.freq_base`: RoPE base frequency θ (10 000 when absent).
    public static func ropeFreqBase(_ arch: String) -> String { "\(arch).rope.freq_base" }
    /// `<arch>.rope.dimension_count`: leading channels of each head that RoPE rotates (all when absent).
    public static func ropeDimensionCount(_ arch: String) -> String { "\(arch).rope.dimension_count" }
    /// `<arch>.rope.scaling.type`: RoPE scaling kind; kvd applies `linear` and ignores others.
    public static func ropeScalingType(_ arch: String) -> String { "\(arch).rope.scaling.type" }
    /// `<arch>.rope.scaling.factor`: the linear RoPE scaling factor (positions are divided by it).
    public static func ropeScalingFactor(_ arch: String) -> String { "\(arch).rope.scaling.factor" }
    /// `<arch>.vocab_size`: vocabulary size (kvd takes it from the rows of `token_embd.weight` instead).
    public static func vocabSize(_ arch: String) -> String { "\(arch).vocab_size" }
    /// `<arch>.attention.sliding_window`: tokens a sliding-window layer attends to, its own included.
    public static func slidingWindow(_ arch: String) -> String { "\(arch).attention.sliding_window" }
    /// An int period (every n-th layer global) or an array of per-layer bools.
    public static func slidingWindowPattern(_ arch: String) -> String { "\(arch).attention.sliding_window_pattern" }
    /// `<arch>.rope.freq_base_swa`: RoPE base of the sliding-window layers (Gemma 3; 10 000 when absent).
    public static func ropeFreqBaseSliding(_ arch: String) -> String { "\(arch).rope.freq_base_swa" }
    /// `<arch>.rope.scaling.attn_factor`: factor on RoPE's cos and sin (Phi-3 LongRoPE; 1 when absent).
    public static func ropeScalingAttentionFactor(_ arch: String) -> String { "\(arch).rope.scaling.attn_factor" }
    /// `<arch>.rope.scaling.original_context_length`: pre-training context length; longer caches use
    /// LongRoPE's long factors.
    public static func ropeScalingOriginalContext(_ arch: String) -> String { "\(arch).rope.scaling.original_context_length" }

    // MARK: tokenizer
    /// `tokenizer.ggml.model`: the vocabulary kind, `gpt2` (byte-level BPE) or `llama` (SentencePiece). Required.
    public static let tokenizerModel = "tokenizer.ggml.model"
    /// `tokenizer.ggml.pre`: the BPE pre-tokenizer's name (GPT-2's, with a warning, when absent).
    public static let tokenizerPre = "tokenizer.ggml.pre"
    /// `tokenizer.ggml.tokens`: the vocabulary strings, indexed by token id. Required.
    public static let tokens = "tokenizer.ggml.tokens"
    /// `tokenizer.ggml.token_type`: per token, its `Tokenizer.TokenType` code (all `normal` when absent).
    public static let tokenTypes = "tokenizer.ggml.token_type"
    /// `tokenizer.ggml.scores`: SentencePiece's per-token scores (all 0 when absent).
    public static let scores = "tokenizer.ggml.scores"
    /// `tokenizer.ggml.merges`: BPE merges as `"left right"` strings, highest priority first. Required for BPE.
    public static let merges = "tokenizer.ggml.merges"
    /// `tokenizer.ggml.bos_token_id`: the beginning-of-sequence token (SentencePiece: 1 when absent).
    public static let bosTokenID = "tokenizer.ggml.bos_token_id"
    /// `tokenizer.ggml.eos_token_id`: the end-of-sequence token (SentencePiece: 2 when absent).
    public static let eosTokenID = "tokenizer.ggml.eos_token_id"
    /// `tokenizer.ggml.eot_token_id`: an end-of-turn token; generation stops on it (optional).
    public static let eotTokenID = "tokenizer.ggml.eot_token_id"
    /// `tokenizer.ggml.unknown_token_id`: the token for text the vocabulary cannot spell (SentencePiece: 0 when absent).
    public static let unknownTokenID = "tokenizer.ggml.unknown_token_id"
    /// `tokenizer.ggml.padding_token_id`: the padding token (not used by kvd).
    public static let paddingTokenID = "tokenizer.ggml.padding_token_id"
    /// `tokenizer.ggml.add_bos_token`: whether raw text gets BOS in front (llama.cpp's default per kind when absent).
    public static let addBOS = "tokenizer.ggml.add_bos_token"
    /// `tokenizer.ggml.add_eos_token`: whether raw text gets EOS after it (no when absent).
    public static let addEOS = "tokenizer.ggml.add_eos_token"
    /// `tokenizer.ggml.add_space_prefix`: SentencePiece: whether a space is put before the text (yes when absent).
    public static let addSpacePrefix = "tokenizer.ggml.add_space_prefix"
    /// `tokenizer.chat_template`: the chat template's Jinja source (absent for base models).
    public static let chatTemplate = "tokenizer.chat_template"

    // MARK: tensor names
    /// `token_embd.weight`: the token embeddings, `[vocabulary, embedding_length]`. Required.
    public static let tokenEmbedding = "token_embd.weight"
    /// `output_norm.weight`: the final RMSNorm's weights, `[embedding_length]`. Required.
    public static let outputNorm = "output_norm.weight"
    /// `output.weight`: the output projection; absent when it is tied to `token_embd.weight`.
    public static let output = "output.weight"
    /// Phi-3 LongRoPE per-pair frequency factors, for contexts beyond / within the original length.
    public static let ropeFactorsLong = "rope_factors_long.weight"
    /// Phi-3 LongRoPE's per-pair frequency factors for caches within `rope.scaling.original_context_length` positions.
    public static let ropeFactorsShort = "rope_factors_short.weight"

    /// Per-block tensors, formatted as `blk.N.<suffix>.weight`.
    public enum Block: String, CaseIterable, Sendable {
        /// RMSNorm before attention, `[d]`.
        case attnNorm = "attn_norm"
        /// Query projection (with an `attn_q.bias` in qwen2).
        case attnQ = "attn_q"
        /// Key projection (with a bias in qwen2).
        case attnK = "attn_k"
        /// Value projection (with a bias in qwen2).
        case attnV = "attn_v"
        /// Attention output projection, back to `d`.
        case attnOutput = "attn_output"
        /// Fused `[q | k | v]` projection (phi3).
        case attnQKV = "attn_qkv"
        /// Per-head RMSNorm of queries and keys before RoPE (qwen3, gemma3).
        case attnQNorm = "attn_q_norm"
        /// Per-head RMSNorm of keys before RoPE (qwen3, gemma3).
        case attnKNorm = "attn_k_norm"
        /// Norms after attention and after the feed-forward network (gemma3).
        case attnPostNorm = "post_attention_norm"
        /// Norm after the feed-forward network (gemma3).
        case ffnPostNorm = "post_ffw_norm"
        /// RMSNorm before the feed-forward network, `[d]`.
        case ffnNorm = "ffn_norm"
        /// Feed-forward gate projection (absent in phi3, whose `ffn_up` holds `[gate | up]`).
        case ffnGate = "ffn_gate"
        /// Feed-forward up projection (phi3: fused `[gate | up]`).
        case ffnUp = "ffn_up"
        /// Feed-forward down projection, back to `d`.
        case ffnDown = "ffn_down"
    }

    /// The name of a per-block weight tensor, e.g. `blk.3.attn_q.weight`.
    public static func block(_ index: Int, _ tensor: Block) -> String { "blk.\(index).\(tensor.rawValue).weight" }

    /// The name of a per-block bias tensor, e.g. `blk.3.attn_q.bias`.
    public static func blockBias(_ index: Int, _ tensor: Block) -> String { "blk.\(index).\(tensor.rawValue).bias" }
}
