/// Decoding press spec strings, in ``SpecSyntax``'s grammar.
///
/// A decoding press: `h2o:cache_budget=256,compression_interval=16`,
/// `rkv:cache_budget=128,mix_lambda=0.1`, `snapkv:compression_ratio_decoding=0.5`.
/// Both phases: `prefill_decoding(snapkv:ratio=0.5,h2o:cache_budget=256)` — the first inner spec
/// is a prefill press, the second a decoding press (any ``PressCatalog`` press whose phases include
/// decoding); either may be `none`.
public enum DecodingSpec {
    /// Builds the decoding press a spec describes.
    /// - Throws: `PressError` naming the problem and what is valid.
    public static func parse(_ spec: String) throws -> DecodingPress {
        try build(DecodingCatalog.parse(spec))
    }

    /// The decoding press `node` describes: its scorer is the catalog press of that name (for
    /// `dms`, its inner press), built from the scorer's own parameters (`compression_ratio` left
    /// to the schedule).
    static func build(_ node: SpecNode) throws -> DecodingPress {
        let schedule = try DecodingCatalog.arguments(node)
        let scorerNode = node.name == DecodingCatalog.thresholdPress
            ? node.inner[0] : node.removing(Set(DecodingCatalog.scheduleParameters.map(\.name) + DecodingCatalog.aliases.keys))
        let args = try PressCatalog.arguments(scorerNode)
        guard let factory = PressRegistry.factories[scorerNode.name] else {
            preconditionFailure("no factory for catalog press '\(scorerNode.name)'")
        }
        @Sendable func make() -> ScorerPress {
            // The catalog marks only scorer presses as decoding; a factory that fails or builds
            // another kind is a catalog error, which PressCatalogTests catch.
            guard let press = try? factory(args, []) as? ScorerPress else {
                preconditionFailure("catalog decoding press '\(args.press)' does not build a scorer press")
            }
            return press
        }
        return DecodingPress(schedule: schedule, scorer: make)
    }

    /// The decoding press a spec asks for, or `nil` for none (empty or `none`).
    /// - Throws: `PressError` as `parse` does.
    public static func parseUnlessNone(_ spec: String) throws -> DecodingPress? {
        PressSpec.isNone(spec) ? nil : try parse(spec)
    }

    /// Builds the prefill + decoding pair `prefill_decoding(PREFILL,DECODING)` describes.
    /// - Throws: `PressError` naming the problem and what is valid.
    public static func parsePrefillDecoding(_ spec: String) throws -> PrefillDecodingPress {
        let known = Set(PressCatalog.names + [PrefillDecodingPress.name, PressSpec.none, PressSpec.kvpressNone])
        let node = try SpecNode.parse(spec) { name in
            guard known.contains(name) else {
                throw PressError.unknownPress(name, valid: [PrefillDecodingPress.name, PressSpec.none] + PressCatalog.names)
            }
        }
        let usage = "takes two inner presses: prefill_decoding(PREFILL,DECODING), e.g. prefill_decoding(snapkv:ratio=0.5,h2o:cache_budget=256); either may be none"
        guard node.name == PrefillDecodingPress.name, node.inner.count == 2 else {
            throw PressError.innerPress(press: PrefillDecodingPress.name, reason: usage)
        }
        guard node.parameters.isEmpty else {
            throw PressError.unknownParameter(press: PrefillDecodingPress.name, parameter: node.arguments.keys.sorted()[0], valid: [])
        }
        let prefill = PressSpec.isNone(node.inner[0].name) ? nil : try PressSpec.build(node.inner[0])
        let decoding = PressSpec.isNone(node.inner[1].name) ? nil : try build(node.inner[1])
        return PrefillDecodingPress(prefill: prefill, decoding: decoding)
    }
}
