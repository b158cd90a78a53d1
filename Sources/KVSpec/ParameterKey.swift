/// A parameter's name together with the Swift type its checked value reads as:
/// `arguments[.windowSize]` is an `Int`. The names are declared once, as static members
/// (`ParameterKey+Names.swift`), so a misspelled parameter does not compile; the catalogs declare
/// each press's kind, default and meaning for them (``PressParameter``).
public struct ParameterKey<Value: ParameterValue>: Sendable, Hashable {
    /// Name as in kvpress and the spec (`window_size`).
    public let name: String

    init(_ name: String) { self.name = name }
}

/// A type a checked parameter value (in printed form, see ``ParameterKind``) reads as.
public protocol ParameterValue {
    /// The value `text` stands for, or `nil` when it is not one.
    init?(parameterText text: String)
}

extension Int: ParameterValue {
    public init?(parameterText text: String) { self.init(text) }
}

extension Double: ParameterValue {
    public init?(parameterText text: String) { self.init(text) }
}

extension Bool: ParameterValue {
    public init?(parameterText text: String) { self.init(text) }
}

extension String: ParameterValue {
    public init?(parameterText text: String) { self = text }
}

/// `none` reads as `nil` (optional kinds).
extension Optional: ParameterValue where Wrapped: ParameterValue {
    public init?(parameterText text: String) {
        if text == "none" { self = nil; return }
        guard let value = Wrapped(parameterText: text) else { return nil }
        self = value
    }
}

/// A `;`-separated list (`ratioList`).
extension Array: ParameterValue where Element: ParameterValue {
    public init?(parameterText text: String) {
        var list: [Element] = []
        for part in text.split(separator: ";") {
            guard let value = Element(parameterText: String(part)) else { return nil }
            list.append(value)
        }
        self = list
    }
}
