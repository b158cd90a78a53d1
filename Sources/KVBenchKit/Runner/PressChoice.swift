import KVPress

/// The press of an evaluation: `none`, or a kvpress spec whose ratio `--ratio` may override.
public struct PressChoice: Sendable, Equatable {
    /// The spec without any top-level `ratio`/`compression_ratio` (`snapkv`,
    /// `adakv(expected_attention)`, `snapkv:window_size=32`), or `none`.
    public let base: String
    /// The compression ratio (0 for `none`).
    public let ratio: Double

    /// - Parameters:
    ///   - spec: `none` or a press spec, e.g. `snapkv`, `snapkv:ratio=0.5`.
    ///   - ratio: overrides the spec's own ratio when given.
    /// - Throws: `PressError` when the spec does not parse (checked by building the press), or
    ///   `DatasetError.invalidSetting` when a press has no ratio at all.
    public init(spec: String, ratio: Double?) throws {
        let trimmed = spec.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed == "none" || trimmed == "no_press" {
            base = "none"
            self.ratio = 0
            return
        }
        let (b, own) = Self.split(trimmed)
        base = b
        self.ratio = ratio ?? own ?? 0
        _ = try makePress()
    }

    /// The full spec handed to `PressSpec.parse` (without a ratio for presses that have none,
    /// such as `simlayerkv`, `think` or `per_layer`).
    public var spec: String {
        guard base != "none" else { return "none" }
        guard takesRatio else { return base }
        return base + (base.contains(":") && Self.topLevelColon(base) != nil ? "," : ":") + "ratio=\(ratio)"
    }

    /// Whether the outermost press has a `compression_ratio`.
    var takesRatio: Bool {
        let name = String(base.prefix { $0 != "(" && $0 != ":" })
        return PressRegistry.descriptor(name)?.parameters.contains { $0.name == "compression_ratio" } ?? true
    }

    /// Whether this is no compression.
    public var isNone: Bool { base == "none" }

    /// A directory-safe name of the press without its ratio.
    public var directoryName: String {
        base.map { "/\\ ".contains($0) ? "_" : $0 }.reduce(into: "") { $0.append($1) }
    }

    /// Builds the press (nil for `none`).
    public func makePress() throws -> Press? {
        isNone ? nil : try PressSpec.parse(spec)
    }

    /// Splits `spec` into the spec without top-level ratio parameters and that ratio.
    static func split(_ spec: String) -> (String, Double?) {
        guard let colon = topLevelColon(spec) else { return (spec, nil) }
        let head = String(spec[..<colon])
        var ratio: Double?
        var kept: [String] = []
        for param in spec[spec.index(after: colon)...].split(separator: ",") {
            let parts = param.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0] == "ratio" || parts[0] == "compression_ratio" {
                ratio = Double(parts[1])
            } else {
                kept.append(String(param))
            }
        }
        return (kept.isEmpty ? head : head + ":" + kept.joined(separator: ","), ratio)
    }

    static func topLevelColon(_ s: String) -> String.Index? {
        var depth = 0
        for i in s.indices {
            switch s[i] {
            case "(": depth += 1
            case ")": depth -= 1
            case ":" where depth == 0: return i
            default: break
            }
        }
        return nil
    }
}
