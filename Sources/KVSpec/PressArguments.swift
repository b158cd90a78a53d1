/// A press's parameter values from a spec, checked against its catalog parameters: every value
/// (given or default) is valid once this exists, so presses read them without checking again.
public struct PressArguments: Sendable {
    /// Name of the press (prefill or decoding) or quantization method.
    public let press: String
    /// Its catalog parameters.
    public let parameters: [PressParameter]
    /// Valid values in printed form, by parameter name (defaults filled in).
    private let values: [String: String]
    /// Names the spec gave (rather than leaving the default).
    private let given: Set<String>

    /// Checks `given` (spec text by name; `aliases` maps alias → parameter name) against `parameters`.
    /// - Throws: `PressError.unknownParameter` listing the accepted names, or
    ///   `PressError.invalidValue` saying what the parameter takes.
    public init(press: String, parameters: [PressParameter], given: [String: String], aliases: [String: String] = [:]) throws {
        let names = parameters.map(\.name)
        let liveAliases = aliases.filter { names.contains($0.value) }
        var text: [String: String] = [:]
        for (key, value) in given {
            let canonical = liveAliases[key] ?? key
            guard names.contains(canonical) else {
                throw PressError.unknownParameter(press: press, parameter: key, valid: names + liveAliases.keys.sorted())
            }
            text[canonical] = value
        }
        var values: [String: String] = [:]
        for p in parameters {
            let t = text[p.name] ?? p.defaultValue
            guard let v = p.kind.canonical(t) else {
                throw PressError.invalidValue(press: press, parameter: p.name, value: t, expected: p.kind.expected)
            }
            values[p.name] = v
        }
        self.press = press
        self.parameters = parameters
        self.values = values
        self.given = Set(text.keys)
    }

    /// Whether the spec gave `name` (rather than leaving its default).
    public func isGiven(_ name: String) -> Bool { given.contains(name) }

    /// The valid value of `name` in printed form; asking for an undeclared name is a programming error.
    public func string(_ name: String) -> String {
        guard let v = values[name] else { preconditionFailure("\(press) declares no parameter '\(name)'") }
        return v
    }

    /// A number (ratio or number kinds).
    public func double(_ name: String) -> Double { Double(string(name))! }

    /// The compression ratio.
    public func ratio(_ name: String = "compression_ratio") -> Double { double(name) }

    /// A number, or `nil` for `none`.
    public func optionalDouble(_ name: String) -> Double? { Double(string(name)) }

    /// An integer.
    public func int(_ name: String) -> Int { Int(string(name))! }

    /// An integer, or `nil` for `none`.
    public func optionalInt(_ name: String) -> Int? { Int(string(name)) }

    /// A flag.
    public func bool(_ name: String) -> Bool { string(name) == "true" }

    /// A `;`-separated list of ratios.
    public func doubleList(_ name: String) -> [Double] { string(name).split(separator: ";").map { Double($0)! } }

    /// Every parameter the press's own spec prints, in catalog order (inner ratios are printed by
    /// the inner press).
    public var specValues: [(String, String)] {
        parameters.filter { $0.kind != .innerRatio }.map { ($0.name, values[$0.name]!) }
    }
}
