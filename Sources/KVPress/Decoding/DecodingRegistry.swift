/// Builds the decoding presses of ``DecodingCatalog`` (`h2o:cache_budget=256,compression_interval=16`):
/// the catalog says what each takes, the registry only which scorer type builds it.
public enum DecodingRegistry {
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

    /// Registered names, in catalog order.
    public static var names: [String] { DecodingCatalog.names }

    /// A decoding press built from `name` with `arguments` (spec text by parameter name).
    /// - Throws: `PressError` for unknown names or parameters, bad values, or both a budget and a ratio.
    public static func make(_ name: String, arguments: [String: String] = [:]) throws -> DecodingPress {
        try make(SpecNode(name: name, parameters: arguments.map { SpecNode.Parameter($0.key, $0.value) }))
    }

    /// The decoding press `node` describes.
    static func make(_ node: SpecNode) throws -> DecodingPress {
        let args = try DecodingCatalog.arguments(node)
        guard let entry = DecodingCatalog.entry(node.name), let factory = factories[node.name] else {
            preconditionFailure("no factory for catalog decoding press '\(node.name)'")
        }
        return DecodingPress(scorer: factory(args.restricted(to: entry.parameters)), schedule: args)
    }
}
