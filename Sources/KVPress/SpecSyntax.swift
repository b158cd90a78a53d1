import Foundation

/// A spec string read into its parts before any registry builds from it, so prefill presses
/// (``PressSpec``) and decoding presses (``DecodingSpec``) share one grammar.
struct SpecNode {
    /// The press name.
    var name: String
    /// Inner specs, in order.
    var inner: [SpecNode]
    /// Parameter text by name, as written.
    var arguments: [String: String]
}

/// The spec grammar (see ``PressSpec``): `name [ "(" spec { "," spec } ")" ] [ ":" key=value { "," key=value } ]`.
///
/// Specs come from clients, so the parser is bounded: at most `maxLength` characters, wrappers
/// nested at most `maxDepth` deep (the recursion), at most `maxPresses` presses in all (each
/// costs compression time and is repeated in every telemetry row).
enum SpecSyntax {
    static let maxLength = 4096
    static let maxDepth = 8
    static let maxPresses = 32

    /// Reads `spec`; `checkName` rejects unknown names as soon as they are read (so the error
    /// names the first unknown press, not a later syntax problem).
    /// - Throws: `PressError.syntax`, or what `checkName` throws.
    static func parse(_ spec: String, checkName: @escaping (String) throws -> Void) throws -> SpecNode {
        guard spec.utf8.count <= maxLength else {
            throw PressError.syntax(spec: String(spec.prefix(64)) + "…", position: maxLength,
                                    reason: "a spec is at most \(maxLength) bytes, this one has \(spec.utf8.count)")
        }
        var p = Parser(spec: spec, checkName: checkName)
        let node = try p.parseNode(depth: 1)
        p.skipSpaces()
        guard p.atEnd else { throw p.error("unexpected '\(p.peek.map(String.init) ?? "")'") }
        return node
    }

    private struct Parser {
        let spec: String
        let chars: [Character]
        let checkName: (String) throws -> Void
        var i = 0
        var presses = 0

        init(spec: String, checkName: @escaping (String) throws -> Void) {
            self.spec = spec
            self.checkName = checkName
            chars = Array(spec)
        }

        var atEnd: Bool { i >= chars.count }
        var peek: Character? { atEnd ? nil : chars[i] }

        func error(_ reason: String) -> PressError { .syntax(spec: spec, position: i, reason: reason) }

        mutating func skipSpaces() { while let c = peek, c == " " || c == "\t" { i += 1 } }

        mutating func identifier() -> String {
            skipSpaces()
            var s = ""
            while let c = peek, c.isLetter || c.isNumber || c == "_" || c == "-" { s.append(c); i += 1 }
            return s
        }

        /// Whether the text from `i` is `identifier =` (the next parameter, not the next press).
        func startsParameter() -> Bool {
            var j = i
            while j < chars.count, chars[j] == " " { j += 1 }
            let start = j
            while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
            while j < chars.count, chars[j] == " " { j += 1 }
            return j > start && j < chars.count && chars[j] == "="
        }

        mutating func parseNode(depth: Int) throws -> SpecNode {
            guard depth <= SpecSyntax.maxDepth else {
                throw error("presses are nested more than \(SpecSyntax.maxDepth) deep")
            }
            presses += 1
            guard presses <= SpecSyntax.maxPresses else {
                throw error("a spec holds at most \(SpecSyntax.maxPresses) presses")
            }
            let name = identifier()
            guard !name.isEmpty else { throw error("expected a press name") }
            try checkName(name)
            var inner: [SpecNode] = []
            skipSpaces()
            if peek == "(" {
                i += 1
                repeat {
                    inner.append(try parseNode(depth: depth + 1))
                    skipSpaces()
                    if peek == "," { i += 1 } else { break }
                } while true
                skipSpaces()
                guard peek == ")" else { throw error("expected ')' after the inner presses of '\(name)'") }
                i += 1
            }
            var arguments: [String: String] = [:]
            skipSpaces()
            if peek == ":" {
                i += 1
                repeat {
                    let key = identifier()
                    guard !key.isEmpty else { throw error("expected a parameter name after '\(name):'") }
                    skipSpaces()
                    guard peek == "=" else { throw error("expected '=' after parameter '\(key)'") }
                    i += 1
                    var value = ""
                    while let c = peek, c != ",", c != ")", c != "(" { value.append(c); i += 1 }
                    value = value.trimmingCharacters(in: .whitespaces)
                    guard !value.isEmpty else { throw error("parameter '\(key)' has no value") }
                    guard arguments[key] == nil else { throw error("parameter '\(key)' given twice") }
                    arguments[key] = value
                    if peek == ",", { var copy = self; copy.i += 1; return copy.startsParameter() }() {
                        i += 1
                    } else {
                        break
                    }
                } while true
            }
            return SpecNode(name: name, inner: inner, arguments: arguments)
        }
    }
}
