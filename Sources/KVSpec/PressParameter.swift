/// One parameter of a press, declared once in the catalog: kvpress name, kind, default and meaning.
/// Validation, defaults, the printed spec and `kvctl presses` all come from it.
public struct PressParameter: Sendable, Equatable {
    /// Name as in kvpress (`compression_ratio`, `window_size`, …).
    public let name: String
    /// What values it takes.
    public let kind: ParameterKind
    /// Default value as spec text, in printed form (`0.0`, `64`, `true`, `none`); empty = required.
    public let defaultValue: String
    /// One line: its meaning.
    public let summary: String

    /// Declares `key` with `kind`; the default and every choice must read as the key's type (a
    /// catalog mistake, stopped the first time the catalog is used).
    public init<Value>(_ key: ParameterKey<Value>, _ kind: ParameterKind, _ defaultValue: String, _ summary: String) {
        let samples = (defaultValue.isEmpty ? [] : [defaultValue]) + kind.choices
        precondition(samples.allSatisfy { kind.canonical($0).flatMap(Value.init(parameterText:)) != nil },
                     "\(key.name): kind \(kind) or default '\(defaultValue)' does not read as \(Value.self)")
        self.name = key.name
        self.kind = kind
        self.defaultValue = defaultValue
        self.summary = summary
    }

    /// One line for catalogs: the meaning, then the valid range where the kind has one.
    public var doc: String { kind.range.map { "\(summary), \($0)" } ?? summary }
}

/// What values a parameter takes; each kind reads, checks and prints its spec text one way.
public enum ParameterKind: Sendable, Equatable {
    /// A fraction of KV pairs (or channels) removed, in `[0, 1)`.
    case ratio
    /// On a wrapper: sets its inner press's `compression_ratio`, or `none` to leave it (not
    /// printed in the wrapper's spec; the inner press prints it).
    case innerRatio
    /// A ratio in `[0, 1)`, or `none`.
    case optionalRatio
    /// An integer in `minimum...maximum`.
    case integer(minimum: Int, maximum: Int = .max)
    /// An integer, or `none` (seeds).
    case optionalInteger
    /// A finite number in the range.
    case number(ClosedRange<Double>)
    /// A finite number above the bound (exclusive), at most `maximum`.
    case numberAbove(Double, maximum: Double = .infinity)
    /// Any finite number.
    case anyNumber
    /// A finite number, or `none`.
    case optionalNumber
    /// `true` or `false` (`1`/`0` and `yes`/`no` are read too).
    case flag
    /// One of the listed words.
    case choice([String])
    /// Free text (a path, or a keyword such as `default`).
    case text
    /// Ratios in `[0, 1)` separated by `;`, one per layer.
    case ratioList

    /// The valid range catalogs print after a parameter's meaning; `nil` where the meaning names
    /// the values itself (choices, flags, text, `none`).
    public var range: String? {
        switch self {
        case .ratio, .innerRatio: return "[0, 1)"
        case .integer(let lo, _) where lo == .min: return nil
        case .integer(let lo, let hi): return hi == .max ? "≥ \(lo)" : "[\(lo), \(hi)]"
        case .number(let r) where r.upperBound == .infinity: return "≥ \(Self.format(r.lowerBound))"
        case .number(let r): return "[\(Self.format(r.lowerBound)), \(Self.format(r.upperBound))]"
        case .numberAbove(let lo, let hi): return hi == .infinity ? "> \(Self.format(lo))" : "(\(Self.format(lo)), \(Self.format(hi))]"
        default: return nil
        }
    }

    /// What an invalid value is told it should be (the end of `PressError.invalidValue`).
    var expected: String {
        switch self {
        case .ratio, .innerRatio, .optionalRatio: return "a number in [0, 1)"
        case .integer(let lo, _) where lo == .min: return "an integer"
        case .integer(let lo, let hi): return hi == .max ? "an integer ≥ \(lo)" : "an integer in [\(lo), \(hi)]"
        case .optionalInteger: return "an integer or none"
        case .number(let r) where r.upperBound == .infinity: return "a number ≥ \(r.lowerBound)"
        case .number(let r): return "a number in [\(r.lowerBound), \(r.upperBound)]"
        case .numberAbove(let lo, let hi): return hi == .infinity ? "a number > \(lo)" : "a number in (\(lo), \(hi)]"
        case .anyNumber: return "a number"
        case .optionalNumber: return "a number or none"
        case .flag: return "true or false"
        case .choice(let words): return "one of \(words.joined(separator: ", "))"
        case .text: return "some text"
        case .ratioList: return "ratios in [0, 1) separated by ';', one per layer"
        }
    }

    /// The words of a choice; empty for other kinds.
    var choices: [String] {
        if case .choice(let words) = self { return words }
        return []
    }

    /// Whether the kind takes `none` (and reads it as no value).
    var takesNone: Bool {
        switch self {
        case .innerRatio, .optionalRatio, .optionalInteger, .optionalNumber: return true
        default: return false
        }
    }

    /// `text` in printed form (`0.5` for `.5`, `true` for `yes`), or `nil` when it is not valid.
    func canonical(_ text: String) -> String? {
        if takesNone && text == "none" { return "none" }
        switch self {
        case .ratio, .innerRatio, .optionalRatio:
            return Double(text).flatMap { $0 >= 0 && $0 < 1 ? String($0) : nil }
        case .integer(let lo, let hi):
            return Int(text).flatMap { $0 >= lo && $0 <= hi ? String($0) : nil }
        case .optionalInteger:
            return Int(text).map(String.init)
        case .number(let r):
            return Double(text).flatMap { $0.isFinite && r.contains($0) ? String($0) : nil }
        case .numberAbove(let lo, let hi):
            return Double(text).flatMap { $0.isFinite && $0 > lo && $0 <= hi ? String($0) : nil }
        case .anyNumber, .optionalNumber:
            return Double(text).flatMap { $0.isFinite ? String($0) : nil }
        case .flag:
            switch text.lowercased() {
            case "true", "1", "yes": return "true"
            case "false", "0", "no": return "false"
            default: return nil
            }
        case .choice(let words):
            return words.contains(text) ? text : nil
        case .text:
            return text.isEmpty ? nil : text
        case .ratioList:
            let parts = text.split(separator: ";", omittingEmptySubsequences: true)
            let list = parts.compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.isEmpty, list.count == parts.count, list.allSatisfy({ $0 >= 0 && $0 < 1 }) else { return nil }
            return list.map { String($0) }.joined(separator: ";")
        }
    }

    /// Whole numbers without a needless `.0` in ranges (`[0, 1]`, `> 1`).
    private static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }
}
