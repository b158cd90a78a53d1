/// A spec string read into its parts: `name(inner,…):key=value,…`. Prefill presses, decoding
/// presses, kvctl and kvbench all read and write specs through it, so they share one grammar.
public struct SpecNode: Sendable, Equatable, CustomStringConvertible {
    /// One `key=value` of a spec, as written.
    public struct Parameter: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The press name.
    public var name: String
    /// Inner specs, in order.
    public var inner: [SpecNode]
    /// Parameters in the order written.
    public var parameters: [Parameter]

    public init(name: String, inner: [SpecNode] = [], parameters: [Parameter] = []) {
        self.name = name
        self.inner = inner
        self.parameters = parameters
    }

    /// Parameter text by name.
    public var arguments: [String: String] {
        Dictionary(parameters.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// Reads one spec (see ``SpecSyntax``); `checkName` may reject names as they are read.
    /// - Throws: `PressError.syntax`, or what `checkName` throws.
    public static func parse(_ spec: String, checkName: @escaping (String) throws -> Void = { _ in }) throws -> SpecNode {
        try SpecSyntax.parse(spec, checkName: checkName)
    }

    /// Reads specs separated by top-level commas (`snapkv:window_size=32,kernel_size=3,knorm`):
    /// as inside parentheses, a `,` followed by `key=` continues the previous spec's parameters.
    /// - Throws: `PressError.syntax`.
    public static func parseList(_ specs: String) throws -> [SpecNode] {
        try SpecSyntax.parseList(specs)
    }

    /// The spec with `name` set to `value`: an existing parameter of that name or one of its
    /// `aliases` is replaced in place, otherwise `name=value` is appended.
    public func setting(_ name: String, to value: String, aliases: [String] = []) -> SpecNode {
        var copy = self
        copy.parameters.removeAll { aliases.contains($0.name) && $0.name != name }
        if let i = copy.parameters.firstIndex(where: { $0.name == name }) {
            copy.parameters[i].value = value
        } else {
            copy.parameters.append(Parameter(name, value))
        }
        return copy
    }

    /// The spec without the parameters named in `names`.
    public func removing(_ names: Set<String>) -> SpecNode {
        var copy = self
        copy.parameters.removeAll { names.contains($0.name) }
        return copy
    }

    /// The spec string: `name(inner,…):key=value,…`, which `parse` reads back.
    public var description: String {
        var s = name
        if !inner.isEmpty { s += "(" + inner.map(\.description).joined(separator: ",") + ")" }
        if !parameters.isEmpty { s += ":" + parameters.map { "\($0.name)=\($0.value)" }.joined(separator: ",") }
        return s
    }
}
