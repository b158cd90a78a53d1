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
    /// The spec of no compression: what an uncompressed session reports as its press.
    public static let none = "none"

    /// Whether `spec` asks for no compression: empty or `none` (whitespace is ignored, as in specs).
    public static func isNone(_ spec: String) -> Bool {
        let bare = spec.filter { !$0.isWhitespace }
        return bare.isEmpty || bare == none
    }

    /// The press a spec asks for, or `nil` for no compression (so the press a session reports is
    /// always a spec that loads).
    /// - Throws: `PressError` as `parse` does.
    public static func parseUnlessNone(_ spec: String) throws -> Press? {
        isNone(spec) ? nil : try parse(spec)
    }

    /// Builds the press a spec describes.
    /// - Throws: `PressError` naming the problem and what is valid.
    public static func parse(_ spec: String) throws -> Press {
        try build(SpecSyntax.parse(spec) { name in
            guard PressRegistry.descriptor(name) != nil else { throw PressError.unknownPress(name, valid: PressRegistry.names) }
        })
    }

    /// The press a parsed spec describes (inner presses first).
    static func build(_ node: SpecNode) throws -> Press {
        try PressRegistry.make(node.name, arguments: node.arguments, inner: node.inner.map(build))
    }
}
