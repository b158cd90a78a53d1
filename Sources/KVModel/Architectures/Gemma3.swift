/// Gemma 3 (text).
///
/// Matches transformers' `modeling_gemma3.py` (`Gemma3ForCausalLM`) and llama.cpp's
/// `src/models/gemma3.cpp`:
/// - token embeddings scaled by √d;
/// - RMSNorm `x·(1 + w)`: llama.cpp's converter stores `1 + w`, so the file's weights are used as they are;
/// - norms before and after attention and after the feed-forward network (`postNorms`), per-head
///   q/k norms before RoPE, GELU(tanh) gating;
/// - local layers attend through `attention.sliding_window` and use RoPE base
///   `rope.freq_base_swa` (10 000 when absent, llama.cpp's default); every `n`-th layer is global
///   (`attention.sliding_window_pattern`, an int period or per-layer bools; 6 when absent), with
///   `rope.freq_base` and any linear RoPE scaling;
/// - attention scale `1/√head_dim` (transformers' `query_pre_attn_scalar^-½`, which equals it for
///   every released size but the 27B, whose `d / heads` llama.cpp uses; the file has no key for it).
extension Architecture {
    static let gemma3 = Architecture(name: "gemma3", parts: [.qkNorm, .postNorms]) { config, gguf in
        let arch = config.architecture
        config.ropeStyle = .halves
        config.embeddingScale = Float(config.embeddingLength).squareRoot()
        config.activation = .geluTanh
        if config.layerCount == 62 {  // 27B
            config.attentionScale = 1 / Float(config.embeddingLength / config.headCount).squareRoot()
        }
        let pattern = gguf.metadata[GGUFKeys.slidingWindowPattern(arch)]
        if let flags = pattern?.array?.ints, flags.count >= config.layerCount {
            config.readSlidingWindow(gguf) { flags[$0] != 0 }
        } else {
            let period = max(1, pattern?.int ?? 6)
            config.readSlidingWindow(gguf) { $0 % period < period - 1 }
        }
        if config.slidingWindow != nil {
            config.ropeFrequencyBaseSliding = Float(gguf.metadata[GGUFKeys.ropeFreqBaseSliding(arch)]?.double ?? 10_000)
        }
    }
}
