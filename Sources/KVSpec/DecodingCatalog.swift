/// Decoding presses: any ``PressCatalog`` press whose phases include `decoding` (a scorer), with
/// kvpress's `DecodingPress` schedule after its own parameters. The press's `compression_ratio`
/// is not part of a decoding spec: the schedule sets it at every compression.
public enum DecodingCatalog {
    /// The parameters every decoding press takes after its scorer's own.
    public static let scheduleParameters = [
        PressParameter(.cacheBudget, .integer(minimum: 0), "2048",
                       "KV pairs kept per head after a compression (0 = no decoding compression)"),
        PressParameter(.compressionInterval, .integer(minimum: 1), "512", "decode steps between compressions"),
        PressParameter(.compressionRatioDecoding, .optionalRatio, "none",
                       "fraction of all tokens seen removed at each compression, [0, 1), instead of cache_budget; or none"),
        PressParameter(.queryBuffer, .integer(minimum: 0), "256",
                       "recent queries remembered per layer for scorers that read queries (kvpress's hidden_states_buffer_size)"),
    ]

    /// kvpress's parameter names, accepted for ours.
    public static let aliases = ["target_size": ParameterKey<Int>.cacheBudget.name,
                                 "target_compression_ratio": ParameterKey<Double?>.compressionRatioDecoding.name,
                                 "hidden_states_buffer_size": ParameterKey<Int>.queryBuffer.name]

    /// Every press that can run while generating, in catalog order.
    public static var entries: [PressEntry] { PressCatalog.all.filter { $0.phases.contains(.decoding) } }

    /// Their names.
    public static var names: [String] { entries.map(\.name) }

    /// The decoding entry of `name`.
    public static func entry(_ name: String) -> PressEntry? {
        PressCatalog.entry(name).flatMap { $0.phases.contains(.decoding) ? $0 : nil }
    }

    /// The press that judges entries against a threshold instead of cutting to a budget: `dms(SCORER)`.
    public static let thresholdPress = "dms"

    /// The scorer's own parameters in a decoding spec (all but `compression_ratio`).
    public static func scorerParameters(_ entry: PressEntry) -> [PressParameter] {
        entry.parameters.filter { $0.name != ParameterKey<Double>.compressionRatio.name }
    }

    /// Every parameter a decoding spec of `entry` may give: the scorer's, then the schedule's.
    public static func allParameters(_ entry: PressEntry) -> [PressParameter] { scorerParameters(entry) + scheduleParameters }

    /// Reads a decoding spec, rejecting names that cannot decode as soon as they are read.
    /// - Throws: `PressError.syntax` or `PressError.unknownPress`.
    public static func parse(_ spec: String) throws -> SpecNode {
        try SpecNode.parse(spec) { name in
            guard entry(name) != nil else { throw PressError.unknownPress(name, valid: names) }
        }
    }

    /// The arguments of a decoding spec (scorer and schedule), checked against the catalog.
    /// - Throws: `PressError` for unknown names or parameters, bad values, inner presses, or both
    ///   a budget and a ratio.
    public static func arguments(_ node: SpecNode) throws -> PressArguments {
        guard let entry = entry(node.name) else { throw PressError.unknownPress(node.name, valid: names) }
        if entry.inner == .none, !node.inner.isEmpty {
            throw PressError.innerPress(press: node.name, reason: "is a decoding press and takes no inner press; write it without parentheses")
        }
        if entry.inner == .one {
            guard node.inner.count == 1, let inner = self.entry(node.inner[0].name), inner.inner == .none else {
                throw PressError.innerPress(press: node.name, reason: "wraps exactly one scorer press, e.g. \(node.name)(knorm)")
            }
            _ = try PressArguments(press: inner.name, parameters: scorerParameters(inner), given: node.inner[0].arguments)
        }
        let args = try PressArguments(press: node.name, parameters: allParameters(entry), given: node.arguments, aliases: aliases)
        if node.name == thresholdPress {
            func refuse<Value>(_ budget: ParameterKey<Value>) throws {
                guard args.isGiven(budget) else { return }
                throw PressError.invalidValue(press: node.name, parameter: budget.name, value: args.printed(budget),
                                              expected: "no budget: dms evicts by threshold")
            }
            try refuse(ParameterKey<Int>.cacheBudget)
            try refuse(ParameterKey<Double?>.compressionRatioDecoding)
        }
        if let ratio = args[.compressionRatioDecoding], args.isGiven(.cacheBudget) {
            throw PressError.invalidValue(press: node.name, parameter: ParameterKey<Double?>.compressionRatioDecoding.name,
                                          value: String(ratio),
                                          expected: "either cache_budget or compression_ratio_decoding, not both")
        }
        return args
    }
}
