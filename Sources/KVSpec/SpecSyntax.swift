import Foundation

/// The spec grammar, read into ``SpecNode``s. Whitespace is ignored:
/// ```
/// spec   := name [ "(" spec { "," spec } ")" ] [ ":" param { "," param } ]
/// param  := key "=" value          value: no ',', ')' or '('; lists use ';'
/// ```
/// Examples: `snapkv`, `snapkv:ratio=0.5,window_size=64`,
/// `adakv(expected_attention):ratio=0.5,alpha_safeguard=0.2`, `chunkkv(snapkv):chunk_length=20`,
/// `composed(think,knorm)`, `composed(snapkv:ratio=0.3,think:key_channel_compression_ratio=0.25)`.
/// Inside parentheses a `,` followed by `key=` continues the inner press's parameters; otherwise it
/// starts the next inner press.
///
/// Specs come from clients, so the parser is bounded: at most `maxLength` characters, wrappers
/// nested at most `maxDepth` deep (the recursion), at most `maxPresses` presses in all (each
/// costs compression time and is repeated in every telemetry row).
public enum SpecSyntax {
    public static let maxLength = 4096
    public static let maxDepth = 8
    public static let maxPresses = 32

    /// Reads `spec`; `checkName` rejects unknown names as soon as they are read (so the error
    /// names the first unknown press, not a later syntax problem).
    /// - Throws: `PressError.syntax`, or what `checkName` throws.
    static func parse(_ spec: String, checkName: @escaping (String) throws -> Void) throws -> SpecNode {
        var p = try Parser(spec: spec, checkName: checkName)
        let node = try p.parseNode(depth: 1)
        try p.expectEnd()
        return node
    }

    /// Reads specs separated by top-level commas.
    /// - Throws: `PressError.syntax`.
    static func parseList(_ specs: String) throws -> [SpecNode] {
        var p = try Parser(spec: specs, checkName: { _ in })
        let nodes = try p.parseNodes(depth: 1)
        try p.expectEnd()
        return nodes
    }

    private struct Parser {
        let spec: String
        let chars: [Character]
        let checkName: (String) throws -> Void
        var i = 0
        var presses = 0

        init(spec: String, checkName: @escaping (String) throws -> Void) throws {
            guard spec.utf8.count <= SpecSyntax.maxLength else {
                throw PressError.syntax(spec: String(spec.prefix(64)) + "…", position: SpecSyntax.maxLength,
                                        reason: "a spec is at most \(SpecSyntax.maxLength) bytes, this one has \(spec.utf8.count)")
            }
            self.spec = spec
            self.checkName = checkName
            chars = Array(spec)
        }

        var atEnd: Bool { i >= chars.count }
        var peek: Character? { atEnd ? nil : chars[i] }

        func error(_ reason: String) -> PressError { .syntax(spec: spec, position: i, reason: reason) }

        mutating func skipSpaces() { while let c = peek, c == " " || c == "\t" { i += 1 } }

        mutating func expectEnd() throws {
            skipSpaces()
            guard atEnd else { throw error("unexpected '\(peek.map(String.init) ?? "")'") }
        }

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

        /// Specs separated by commas (inner presses, or a top-level list).
        mutating func parseNodes(depth: Int) throws -> [SpecNode] {
            var nodes: [SpecNode] = []
            repeat {
                nodes.append(try parseNode(depth: depth))
                skipSpaces()
                if peek == "," { i += 1 } else { break }
            } while true
            return nodes
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
                inner = try parseNodes(depth: depth + 1)
                skipSpaces()
                guard peek == ")" else { throw error("expected ')' after the inner presses of '\(name)'") }
                i += 1
            }
            var parameters: [SpecNode.Parameter] = []
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
                    guard !parameters.contains(where: { $0.name == key }) else { throw error("parameter '\(key)' given twice") }
                    parameters.append(SpecNode.Parameter(key, value))
                    if peek == ",", { var copy = self; copy.i += 1; return copy.startsParameter() }() {
                        i += 1
                    } else {
                        break
                    }
                } while true
            }
            return SpecNode(name: name, inner: inner, parameters: parameters)
        }
    }
}
