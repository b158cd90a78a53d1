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

    /// Whether the spec gave `key` (rather than leaving its default).
    public func isGiven<Value>(_ key: ParameterKey<Value>) -> Bool { given.contains(key.name) }

    /// The valid value of `key`; asking for a parameter the press does not declare is a
    /// programming error.
    public subscript<Value>(_ key: ParameterKey<Value>) -> Value {
        guard let value = self[ifDeclared: key] else { preconditionFailure("\(press) declares no parameter '\(key.name)'") }
        return value
    }

    /// The value of `key`, or `nil` when the press (or method) does not declare it.
    public subscript<Value>(ifDeclared key: ParameterKey<Value>) -> Value? {
        guard let text = values[key.name] else { return nil }
        guard let value = Value(parameterText: text) else {
            preconditionFailure("\(press)'s '\(key.name)' = '\(text)' does not read as \(Value.self)")
        }
        return value
    }

    /// The valid value of `key` in printed form (as a spec writes it).
    public func printed<Value>(_ key: ParameterKey<Value>) -> String {
        guard let text = values[key.name] else { preconditionFailure("\(press) declares no parameter '\(key.name)'") }
        return text
    }

    /// Every parameter the press's own spec prints, in catalog order (inner ratios are printed by
    /// the inner press).
    public var specValues: [(String, String)] {
        parameters.filter { $0.kind != .innerRatio }.map { ($0.name, values[$0.name]!) }
    }
}
