/// Builds the presses of ``PressCatalog`` from checked arguments: the catalog says what each
/// press takes, the registry only which type builds it.
enum PressRegistry {
    /// A press from its checked arguments and its inner presses (already counted against the catalog).
    typealias Factory = @Sendable (PressArguments, [Press]) throws -> Press

    /// One factory per catalog entry.
    static let factories: [String: Factory] = [
        "knorm": { a, _ in KnormPress(a) },
        "l2norm": { a, _ in KnormPress(a) },
        "streaming_llm": { a, _ in StreamingLLMPress(a) },
        "snapkv": { a, _ in SnapKVPress(a) },
        "tova": { a, _ in TOVAPress(a) },
        "expected_attention": { a, _ in ExpectedAttentionPress(a) },
        "observed_attention": { a, _ in ObservedAttentionPress(a) },
        "keydiff": { a, _ in KeyDiffPress(a) },
        "lagkv": { a, _ in LagKVPress(a) },
        "non_causal_attn": { a, _ in NonCausalAttnPress(a) },
        "leverage": { a, _ in LeverageScorePress(a) },
        "cur": { a, _ in CURPress(a) },
        "compactor": { a, _ in try CompactorPress(a) },
        "cap": { a, _ in CapPress(a) },
        "pyramidkv": { a, _ in PyramidKVPress(a) },
        "random": { a, _ in RandomPress(a) },
        "h2o": { a, _ in H2OPress(a) },
        "rkv": { a, _ in RKVPress(a) },
        "rkv_lsh": { a, _ in RKVPress(a) },
        "simlayerkv": { a, _ in SimLayerKVPress(a) },
        "merging": { a, i in MergingPress(a, press: try scorer(i, a)) },
        "chunk": { a, i in ChunkPress(a, press: try scorer(i, a)) },
        "chunkkv": { a, i in ChunkKVPress(a, press: try scorer(i, a)) },
        "criticalkv": { a, i in CriticalKVPress(a, press: try scorer(i, a)) },
        "adakv": { a, i in AdaKVPress(a, press: try scorer(i, a)) },
        "critical_adakv": { a, i in CriticalAdaKVPress(a, press: try scorer(i, a)) },
        "lukv": { a, i in try LUKVPress(a, press: try scorer(i, a)) },
        "block": { a, i in BlockPress(a, press: try scorer(i, a)) },
        "composed": { a, i in try ComposedPress(a, presses: i) },
        "dms": { a, i in DMSPress(a, press: try scorer(i, a)) },
        "per_layer": { a, i in PerLayerCompressionPress(a, press: try scorer(i, a)) },
        "key_rerotation": { a, i in KeyRerotationPress(a, press: try scorer(i, a)) },
        "think": { a, _ in ThinKPress(a) },
        "cam": { a, _ in CAMPress(a) },
        "nacl": { a, _ in NACLPress(a) },
        "scissorhands": { a, _ in ScissorhandsPress(a) },
        "headkv": { a, _ in try HeadKVPress(a) },
        "finch": { a, _ in try FinchPress(a) },
        "kvzip": { a, _ in KVzipPress(a) },
        "kvcompose": { a, _ in KVComposePress(a) },
        "fidelity": { a, _ in FidelityPress(a) },
        "minicache": { a, _ in MiniCachePress(a) },
    ]

    /// The press `node` describes, its inner presses already built.
    static func make(_ node: SpecNode, inner: [Press]) throws -> Press {
        let args = try PressCatalog.arguments(node)
        guard let factory = factories[node.name] else { preconditionFailure("no factory for catalog press '\(node.name)'") }
        return try factory(args, inner)
    }

    /// The single inner press of a wrapper, which must be a scorer press; a `compression_ratio`
    /// given to the wrapper becomes the inner press's.
    static func scorer(_ inner: [Press], _ args: PressArguments) throws -> ScorerPress {
        guard let s = inner.first as? ScorerPress else {
            throw PressError.innerPress(press: args.press,
                                        reason: "needs a scorer press inside (e.g. snapkv, knorm); '\(inner.first?.name ?? "")' is not one")
        }
        if let r = args[ifDeclared: .innerCompressionRatio] ?? nil {
            s.compressionRatio = r
        }
        return s
    }
}
