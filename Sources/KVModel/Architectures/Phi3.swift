/// Phi-3 / Phi-3.5 (dense).
///
/// Matches transformers' `modeling_phi3.py` and llama.cpp's `src/models/phi3.cpp`: llama with fused
/// `attn_qkv` (`[q | k | v]`) and fused `ffn_up` (`[gate | up]`), RoPE on channel halves.
/// LongRoPE (the 128k variants): per-pair frequency factors `rope_factors_long`/`_short` and
/// `rope.scaling.attn_factor` on cos and sin. kvd serves the file's whole context window, so it
/// uses the long factors when that window exceeds `rope.scaling.original_context_length` (as
/// llama.cpp does when its context is set that large), the short ones otherwise.
/// `attention.sliding_window` is ignored, as llama.cpp does (its converter writes a value the
/// model's attention does not use consistently).
extension Architecture {
    static let phi3 = Architecture(name: "phi3", parts: [.fusedQKV, .fusedGateUp]) { config, gguf in
        let arch = config.architecture
        config.ropeStyle = .halves
        let original = gguf.metadata[GGUFKeys.ropeScalingOriginalContext(arch)]?.int ?? config.contextLength
        let name = config.contextLength > original ? GGUFKeys.ropeFactorsLong : GGUFKeys.ropeFactorsShort
        if gguf.tensorsByName[name] != nil {
            let n = config.ropeDimensionCount / 2
            config.ropeFactors = Array(UnsafeBufferPointer(start: try DecoderBlock.floats(gguf, name, count: n), count: n))
        }
        if let f = gguf.metadata[GGUFKeys.ropeScalingAttentionFactor(arch)]?.double, f > 0 {
            config.ropeMagnitude = Float(f)
        }
    }
}
