/// How many inner presses a press takes (wrappers hold inner presses, as in kvpress).
public enum InnerPressArity: Sendable, Equatable {
    /// A plain press: `knorm`.
    case none
    /// Exactly one scorer press: `adakv(snapkv)`.
    case one
    /// One or more presses: `composed(think,knorm)`.
    case many
}

/// When a press can run: on the context at load (`prefill`), while an answer is generated
/// (`decoding`, through kvpress's `DecodingPress` schedule), or both.
public struct PressPhases: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Compresses the context once, during its prefill (`kvctl load --press`).
    public static let prefill = PressPhases(rawValue: 1)
    /// Ranks the cache while generating, every `compression_interval` steps (`kvctl ask --decoding`).
    public static let decoding = PressPhases(rawValue: 2)
    /// A scorer: both phases.
    public static let both: PressPhases = [.prefill, .decoding]

    /// The phases' names, as the `presses` RPC and `kvctl presses` print them.
    public var names: [String] { (contains(.prefill) ? ["prefill"] : []) + (contains(.decoding) ? ["decoding"] : []) }
}

/// One entry of a catalog: a press (or decoding scorer, or quantization method), its name,
/// documentation, inner presses and parameters.
public struct PressEntry: Sendable {
    /// kvpress's registry name.
    public let name: String
    /// One sentence on what the press does.
    public let summary: String
    /// The paper or source it follows.
    public let reference: String
    /// Inner presses it wraps.
    public let inner: InnerPressArity
    /// Parameters in kvpress order (`ratio` is accepted for `compression_ratio`).
    public let parameters: [PressParameter]
    /// When it can run.
    public let phases: PressPhases

    public init(_ name: String, _ summary: String, _ reference: String, inner: InnerPressArity = .none,
                phases: PressPhases = .prefill, _ parameters: [PressParameter]) {
        self.name = name
        self.summary = summary
        self.reference = reference
        self.inner = inner
        self.phases = phases
        self.parameters = parameters
    }

    /// Whether the press has a `compression_ratio` (`simlayerkv`, `think` and `per_layer` do not).
    public var takesRatio: Bool { parameters.contains { $0.name == ParameterKey<Double>.compressionRatio.name } }
}
