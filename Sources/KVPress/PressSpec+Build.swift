extension PressSpec {
    /// The press a spec asks for, or `nil` for no compression (so the press a session reports is
    /// always a spec that loads).
    /// - Throws: `PressError` as `parse` does.
    public static func parseUnlessNone(_ spec: String) throws -> Press? {
        isNone(spec) ? nil : try parse(spec)
    }

    /// Builds the press a spec describes.
    /// - Throws: `PressError` naming the problem and what is valid.
    public static func parse(_ spec: String) throws -> Press {
        try build(PressCatalog.parse(spec))
    }

    /// The press a parsed spec describes (inner presses first).
    static func build(_ node: SpecNode) throws -> Press {
        try PressRegistry.make(node, inner: node.inner.map(build))
    }
}
