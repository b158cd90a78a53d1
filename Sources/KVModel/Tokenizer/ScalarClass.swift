/// The character classes the split patterns need, as bit flags (one byte per scalar).
///
/// `letter` is `\p{L}`, `number` is `\p{N}`, `space` is `\s` (Unicode White_Space, which is
/// what Oniguruma's `\s` matches), `newline` marks `\r` and `\n` (also `space`).
enum ScalarClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 4
    static let newline: UInt8 = 8

    /// Neither letter, number nor whitespace (`[^\s\p{L}\p{N}]`).
    @inline(__always) static func isOther(_ c: UInt8) -> Bool { c & (letter | number | space) == 0 }

    private static let ascii: [UInt8] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    /// The class of one scalar (ASCII from a table, the rest from Unicode properties).
    @inline(__always) static func of(_ s: Unicode.Scalar) -> UInt8 {
        s.value < 128 ? ascii[Int(s.value)] : classify(s)
    }

    private static func classify(_ s: Unicode.Scalar) -> UInt8 {
        if s == "\n" || s == "\r" { return space | newline }
        let p = s.properties
        if p.isWhitespace { return space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return 0
        }
    }
}
