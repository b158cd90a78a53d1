/// Phi-3 / Phi-3.5 (dense).
///
/// Matches transformers' `modeling_phi3.py` and llama.cpp's `src/models/phi3.cpp`: llama with fused
/// `attn_qkv` (`[q | k | v]`) and fused `ffn_up` (`[gate | up]`), RoPE on channel halves.
/// LongRoPE (the 128k variants): per-pair frequency factors `rope_factors_short`/`_long` and
/// `rope.scaling.attn_factor` on cos and sin. The long factors serve a cache made for more
/// positions than `rope.scaling.original_context_length` (`ModelConfig.usesLongRoPE`): a session
/// sized for its document, as llama.cpp chooses by its context size.
/// `attention.sliding_window` is ignored, as llama.cpp does (its converter writes a value the
/// model's attention does not use consistently).
extension Architecture {
    static let phi3 = Architecture(name: "phi3", parts: [.fusedQKV, .fusedGateUp]) { config, gguf in
        let arch = config.architecture
        config.ropeStyle = .halves
        config.ropeOriginalContextLength = gguf.metadata[GGUFKeys.ropeScalingOriginalContext(arch)]?.int
        let n = config.ropeDimensionCount / 2
        func factors(_ name: String) throws -> [Float]? {
            guard gguf.tensorsByName[name] != nil else { return nil }
            return Array(UnsafeBufferPointer(start: try DecoderBlock.floats(gguf, name, count: n), count: n))
        }
        config.ropeFactorsShort = try factors(GGUFKeys.ropeFactorsShort)
        config.ropeFactorsLong = try factors(GGUFKeys.ropeFactorsLong)
        if let f = gguf.metadata[GGUFKeys.ropeScalingAttentionFactor(arch)]?.double, f > 0 {
            config.ropeMagnitude = Float(f)
        }
    }
}
