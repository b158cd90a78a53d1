/// Builds the decoding presses of ``DecodingCatalog`` (`h2o:cache_budget=256,compression_interval=16`):
/// the catalog says what each takes, the registry only which scorer type builds it.
enum DecodingRegistry {
    /// One scorer factory per catalog entry; each gets its own parameters only.
    static let factories: [String: @Sendable (PressArguments) -> DecodingScorer] = [
        "knorm": { DecodingKnorm($0) },
        "streaming_llm": { DecodingStreamingLLM($0) },
        "random": { DecodingRandom($0) },
        "tova": { DecodingTOVA($0) },
        "snapkv": { DecodingSnapKV($0) },
        "h2o": { DecodingH2O($0) },
        "rkv": { RKVScorer($0) },
        "rkv_lsh": { RKVScorer($0) },
    ]

    /// The decoding press `node` describes.
    static func make(_ node: SpecNode) throws -> DecodingPress {
        let args = try DecodingCatalog.arguments(node)
        guard let entry = DecodingCatalog.entry(node.name), let factory = factories[node.name] else {
            preconditionFailure("no factory for catalog decoding press '\(node.name)'")
        }
        return DecodingPress(scorer: factory(args.restricted(to: entry.parameters)), schedule: args)
    }
}
