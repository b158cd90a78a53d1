import KVPress

/// The decoding press of an evaluation: `none`, or a decoding spec (as `kvbench eval --decoding`
/// takes it) whose `cache_budget` a sweep may set, as the kvpress reasoning fork sweeps
/// `--cache_budget 128 256 384 512` per press.
public struct DecodingChoice: Sendable {
    /// The spec as written, before the sweep sets its budget (`h2o:compression_interval=16`), or `none`.
    public let base: String
    /// The `cache_budget` the sweep set, or `nil` (the spec's own, or no decoding press).
    public let cacheBudget: Int?
    /// The press built from `base` and `cacheBudget` (`nil` for `none`).
    public let press: DecodingPress?

    /// No compression while answering.
    public static let none = DecodingChoice(base: PressSpec.none, cacheBudget: nil, press: nil)

    private init(base: String, cacheBudget: Int?, press: DecodingPress?) {
        self.base = base
        self.cacheBudget = cacheBudget
        self.press = press
    }

    /// - Parameters:
    ///   - spec: `none` or a decoding spec, built by ``DecodingSpec/parse(_:)``.
    ///   - cacheBudget: sets the spec's `cache_budget`; the spec must then set neither a budget nor
    ///     `compression_ratio_decoding` (nor their kvpress aliases). Ignored for `none`.
    /// - Throws: ``SweepError`` for a budget below 1 or one the spec already decides, `PressError`
    ///   for a spec that does not build.
    public init(spec: String, cacheBudget: Int? = nil) throws {
        if PressSpec.isNone(spec) {
            self = .none
            return
        }
        let written = try SpecNode.parse(spec)
        var node = written
        if let budget = cacheBudget {
            guard budget >= 1 else { throw SweepError.invalidBudget(budget) }
            for decided in ["cache_budget", "compression_ratio_decoding"] {
                let names = [decided] + DecodingCatalog.aliases.filter { $0.value == decided }.map(\.key).sorted()
                if let given = node.parameters.first(where: { names.contains($0.name) }) {
                    throw SweepError.budgetInSpec(spec: node.description, parameter: given.name)
                }
            }
            node = node.setting("cache_budget", to: String(budget))
        }
        self.init(base: written.description, cacheBudget: cacheBudget,
                  press: try DecodingSpec.parse(node.description))
    }

    /// Whether answers are generated without decoding compression.
    public var isNone: Bool { press == nil }

    /// `h2o:compression_interval=16@256`: the spec and the budget the sweep set.
    public var label: String { base + (cacheBudget.map { "@\($0)" } ?? "") }

    /// The decoding configurations of a sweep, in run order: each spec of the `--decoding` list at
    /// each of `--cache-budgets` (`none` once), or each spec as written when no budgets are given.
    /// - Parameters:
    ///   - decoding: top-level comma-separated decoding specs (`none,h2o,snapkv:window_size=32`), or
    ///     `nil` for none.
    ///   - cacheBudgets: comma-separated budgets (`128,256,384,512`), or `nil`.
    /// - Throws: ``SweepError`` for budgets that are not positive integers, budgets without a decoding
    ///   press, or a spec that decides its own budget; `PressError` for a spec that does not build.
    public static func grid(decoding: String?, cacheBudgets: String?) throws -> [DecodingChoice] {
        let specs = try decoding.map { try SpecNode.parseList($0).map(\.description) } ?? [PressSpec.none]
        guard let cacheBudgets else { return try specs.map { try DecodingChoice(spec: $0) } }
        let budgets = cacheBudgets.split(separator: ",", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !budgets.isEmpty, budgets.allSatisfy({ ($0 ?? 0) >= 1 }) else { throw SweepError.budgetList(cacheBudgets) }
        guard specs.contains(where: { !PressSpec.isNone($0) }) else { throw SweepError.budgetsWithoutDecoding }
        return try specs.flatMap { spec in
            PressSpec.isNone(spec) ? [.none] : try budgets.map { try DecodingChoice(spec: spec, cacheBudget: $0) }
        }
    }
}
