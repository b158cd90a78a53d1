/// Press spec strings, as the CLI and the protocol write them.
///
/// Grammar (whitespace ignored):
/// ```
/// spec   := name [ "(" spec { "," spec } ")" ] [ ":" param { "," param } ]
/// param  := key "=" value          value: no ',', ')' or '('; lists use ';'
/// ```
/// Examples: `snapkv`, `snapkv:ratio=0.5,window_size=64`,
/// `adakv(expected_attention):ratio=0.5,alpha_safeguard=0.2`, `chunkkv(snapkv):chunk_length=20`,
/// `composed(think,knorm)`, `composed(snapkv:ratio=0.3,think:key_channel_compression_ratio=0.25)`.
/// Inside parentheses a `,` followed by `key=` continues the inner press's parameters; otherwise it
/// starts the next inner press. `ratio` is an alias of `compression_ratio`; on a wrapper it sets
/// the inner press's ratio.
public enum PressSpec {
    /// Builds the press a spec describes.
    /// - Throws: `PressError` naming the problem and what is valid.
    public static func parse(_ spec: String) throws -> Press {
        var p = Parser(spec: spec)
        let press = try p.parsePress()
        p.skipSpaces()
        guard p.atEnd else { throw p.error("unexpected '\(p.peek.map(String.init) ?? "")'") }
        return press
    }

    private struct Parser {
        let spec: String
        let chars: [Character]
        var i = 0

        init(spec: String) {
            self.spec = spec
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

        mutating func parsePress() throws -> Press {
            let name = identifier()
            guard !name.isEmpty else { throw error("expected a press name") }
            guard PressRegistry.descriptor(name) != nil else {
                throw PressError.unknownPress(name, valid: PressRegistry.names)
            }
            var inner: [Press] = []
            skipSpaces()
            if peek == "(" {
                i += 1
                repeat {
                    inner.append(try parsePress())
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
            return try PressRegistry.make(name, arguments: arguments, inner: inner)
        }
    }
}

import Foundation
