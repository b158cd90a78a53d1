/// Every decoding press kvd knows (compression while the model generates), declared once like
/// ``PressCatalog``: each scorer's own parameters, then the schedule every decoding press takes.
public enum DecodingCatalog {
    /// Every decoding scorer, in catalog order; `parameters` are the scorer's own.
    public static let all: [PressEntry] = [
        PressEntry("knorm", "keeps the keys with the smallest L2 norm", "https://arxiv.org/abs/2406.11430", []),
        PressEntry("streaming_llm", "keeps the attention sinks and the most recent entries", "https://arxiv.org/abs/2309.17453", [
            PressParameter("n_sink", .integer(minimum: 0), "4", "oldest entries always kept (attention sinks)"),
        ]),
        PressEntry("random", "evicts random entries (baseline)", "kvpress RandomPress", [
            PressParameter("seed", .optionalInteger, "none", "random seed (integer) for reproducible choices, or none"),
        ]),
        PressEntry("tova", "keeps the entries the newest query attends to most", "https://arxiv.org/abs/2401.06104", []),
        PressEntry("snapkv", "SnapKV-D: keeps what the last window_size generated queries attend to",
                   "https://arxiv.org/abs/2404.14469", [
            PressParameter("window_size", .integer(minimum: 1), "64", "recent queries whose attention scores the cache"),
            PressParameter("kernel_size", .integer(minimum: 1), "5", "width of the average pool smoothing the scores"),
            PressCatalog.aggregation,
        ]),
        PressEntry("h2o", "keeps heavy hitters (attention accumulated over generated queries) plus the newest entries",
                   "https://arxiv.org/abs/2306.14048", [
            PressParameter("window_size", .integer(minimum: 0), "64", "newest entries always kept"), PressCatalog.aggregation,
        ]),
        PressEntry("rkv", "R-KV: attention importance minus key redundancy (cosine similarity), evicting near-duplicate keys",
                   "https://arxiv.org/abs/2505.24133", rkvParameters + [
            PressParameter("threshold", .number(-1...1), "0.5", "cosine similarity above which keys are near-duplicates"),
        ]),
        PressEntry("rkv_lsh", "R-KV with locality-sensitive hashing: redundancy from SimHash buckets of the keys",
                   "https://arxiv.org/abs/2505.24133", rkvParameters + [
            PressParameter("n_hash_bits", .integer(minimum: 1, maximum: 62), "16", "hyperplanes (signature bits) of the SimHash"),
            PressParameter("seed", .integer(minimum: .min), "0", "seed of the hyperplanes (integer)"),
        ]),
    ]

    /// What `rkv` and `rkv_lsh` share.
    static let rkvParameters = [
        PressParameter("window_size", .integer(minimum: 1), "8", "recent queries that vote, and newest entries always kept"),
        PressParameter("kernel_size", .integer(minimum: 1), "7", "max-pool width over the importance"),
        PressParameter("mix_lambda", .number(0...1), "0.07", "weight of importance against redundancy"),
        PressParameter("retain_direction", .choice(["last", "first"]), "last",
                       "which near-duplicate is spared: last (newest) or first (oldest)"),
    ]

    /// The parameters every decoding press takes after its scorer's own.
    public static let scheduleParameters = [
        PressParameter("cache_budget", .integer(minimum: 0), "2048",
                       "KV pairs kept per head after a compression (0 = no decoding compression)"),
        PressParameter("compression_interval", .integer(minimum: 1), "512", "decode steps between compressions"),
        PressParameter("compression_ratio_decoding", .optionalRatio, "none",
                       "fraction of all tokens seen removed at each compression, [0, 1), instead of cache_budget; or none"),
    ]

    /// kvpress's parameter names, accepted for ours.
    public static let aliases = ["target_size": "cache_budget", "target_compression_ratio": "compression_ratio_decoding"]

    private static let byName: [String: PressEntry] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Scorer names, in catalog order.
    public static var names: [String] { all.map(\.name) }

    /// The entry of `name`.
    public static func entry(_ name: String) -> PressEntry? { byName[name] }

    /// Every parameter a spec of `entry` may give: the scorer's, then the schedule's.
    public static func allParameters(_ entry: PressEntry) -> [PressParameter] { entry.parameters + scheduleParameters }

    /// The catalog as text, each press with its scorer's and the schedule's parameters.
    public static var text: String {
        all.map { PressEntry($0.name, $0.summary, $0.reference, allParameters($0)).catalogText }.joined(separator: "\n")
    }

    /// Reads a decoding spec, rejecting unknown names as soon as they are read.
    /// - Throws: `PressError.syntax` or `PressError.unknownPress`.
    public static func parse(_ spec: String) throws -> SpecNode {
        try SpecNode.parse(spec) { name in
            guard byName[name] != nil else { throw PressError.unknownPress(name, valid: names) }
        }
    }

    /// The arguments of a decoding spec (scorer and schedule), checked against the catalog.
    /// - Throws: `PressError` for unknown names or parameters, bad values, inner presses, or both
    ///   a budget and a ratio.
    public static func arguments(_ node: SpecNode) throws -> PressArguments {
        guard let entry = byName[node.name] else { throw PressError.unknownPress(node.name, valid: names) }
        guard node.inner.isEmpty else {
            throw PressError.innerPress(press: node.name, reason: "is a decoding press and takes no inner press; write it without parentheses")
        }
        let args = try PressArguments(press: node.name, parameters: allParameters(entry), given: node.arguments, aliases: aliases)
        if let ratio = args.optionalDouble("compression_ratio_decoding"), args.isGiven("cache_budget") {
            throw PressError.invalidValue(press: node.name, parameter: "compression_ratio_decoding", value: String(ratio),
                                          expected: "either cache_budget or compression_ratio_decoding, not both")
        }
        return args
    }
}
