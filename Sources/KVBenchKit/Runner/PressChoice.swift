import KVPress

/// The press of an evaluation: `none`, or a kvpress spec whose ratio `--ratio` may override.
public struct PressChoice: Sendable, Equatable {
    /// The spec without its top-level `ratio`/`compression_ratio`, or `nil` for no compression.
    private let node: SpecNode?
    /// The compression ratio (0 for `none`).
    public let ratio: Double

    /// - Parameters:
    ///   - spec: `none` or a press spec, e.g. `snapkv`, `snapkv:ratio=0.5`.
    ///   - ratio: overrides the spec's own ratio when given.
    /// - Throws: `PressError` when the spec does not parse (checked by building the press).
    public init(spec: String, ratio: Double?) throws {
        let trimmed = spec.trimmingCharacters(in: .whitespaces)
        if PressSpec.isNone(trimmed) {
            node = nil
            self.ratio = 0
            return
        }
        let parsed = try PressCatalog.parse(trimmed)
        let own = parsed.arguments["ratio"] ?? parsed.arguments["compression_ratio"]
        node = parsed.removing(["ratio", "compression_ratio"])
        self.ratio = ratio ?? own.flatMap(Double.init) ?? 0
        _ = try makePress()
    }

    /// The spec without its top-level ratio (`snapkv`, `adakv(expected_attention)`,
    /// `snapkv:window_size=32`), or `none`.
    public var base: String { node?.description ?? PressSpec.none }

    /// The full spec handed to `PressSpec.parse` (without a ratio for presses that have none,
    /// such as `simlayerkv`, `think` or `per_layer`).
    public var spec: String {
        guard let node else { return PressSpec.none }
        return takesRatio ? node.setting("ratio", to: "\(ratio)").description : node.description
    }

    /// Whether the outermost press has a `compression_ratio` (`fidelity` chooses its own).
    public var takesRatio: Bool {
        guard let node else { return false }
        return PressCatalog.entry(node.name)?.takesRatio ?? true
    }

    /// Whether this is no compression.
    public var isNone: Bool { node == nil }

    /// A directory-safe name of the press without its ratio.
    public var directoryName: String {
        base.map { "/\\ ".contains($0) ? "_" : $0 }.reduce(into: "") { $0.append($1) }
    }

    /// Builds the press (nil for `none`).
    public func makePress() throws -> Press? {
        isNone ? nil : try PressSpec.parse(spec)
    }
}
