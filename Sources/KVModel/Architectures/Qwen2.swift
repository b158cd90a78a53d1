/// Qwen2 / Qwen2.5 (and DeepSeek-R1-Distill-Qwen).
///
/// Matches transformers' `modeling_qwen2.py` and llama.cpp's `src/models/qwen2.cpp`: llama with
/// biases on the q, k and v projections and RoPE on channel halves (NEOX layout, weights unpermuted).
/// Qwen2's `use_sliding_window` is off in every released config; llama.cpp reads no window for it.
extension Architecture {
    static let qwen2 = Architecture(name: "qwen2", parts: [.qkvBias]) { config, _ in
        config.ropeStyle = .halves
    }
}
