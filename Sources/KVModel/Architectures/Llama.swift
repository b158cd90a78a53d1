/// Llama (and what Mistral's files use: llama.cpp labels Mistral 7B `llama`).
///
/// Matches Hugging Face transformers' `modeling_llama.py` / `modeling_mistral.py` and llama.cpp's
/// `src/models/llama.cpp`: RMSNorm, RoPE on adjacent pairs (the converter permutes `attn_q`/`attn_k`
/// rows, see `RoPE`), SwiGLU, tied or separate output. `llama.attention.sliding_window`, where a
/// file has it (Mistral v0.1), applies to every layer; llama.cpp itself ignores the key.
extension Architecture {
    static let llama = Architecture(name: "llama", parts: []) { config, gguf in
        config.ropeStyle = .interleaved
        config.readSlidingWindow(gguf) { _ in true }
    }
}
