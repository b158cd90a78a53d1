/// Press spec strings, as the CLI and the protocol write them, in ``SpecSyntax``'s grammar.
///
/// `ratio` is an alias of `compression_ratio`; on a wrapper it sets the inner press's ratio.
/// ``PressCatalog`` lists every press and what it takes; KVPress builds presses from specs.
public enum PressSpec {
    /// The spec of no compression: what an uncompressed session reports as its press.
    public static let none = "none"

    /// kvpress's name for no compression (its evaluation registry's `no_press`), read as `none`.
    public static let kvpressNone = "no_press"

    /// Whether `spec` asks for no compression: empty, `none` or `no_press` (whitespace is ignored,
    /// as in specs). kvd, kvctl and kvbench all ask this one question.
    public static func isNone(_ spec: String) -> Bool {
        let bare = spec.filter { !$0.isWhitespace }
        return bare.isEmpty || bare == none || bare == kvpressNone
    }
}
