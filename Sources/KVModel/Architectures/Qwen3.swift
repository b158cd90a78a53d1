/// Qwen3 (dense).
///
/// Matches transformers' `modeling_qwen3.py` and llama.cpp's `src/models/qwen3.cpp`: llama with a
/// per-head RMSNorm of queries and keys before RoPE, RoPE on channel halves, no biases, and a
/// head width of its own (`attention.key_length`, e.g. 128 with a 1024-wide residual and 16 heads).
extension Architecture {
    static let qwen3 = Architecture(name: "qwen3", parts: [.qkNorm]) { config, _ in
        config.ropeStyle = .halves
    }
}
