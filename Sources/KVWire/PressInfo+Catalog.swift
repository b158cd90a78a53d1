import KVSpec

extension PressInfo {
    /// The wire form of a catalog entry (a press, or a quantization method with `phases` empty):
    /// its parameters with their defaults and meaning, as the catalog declares them.
    public init(_ entry: PressEntry, phases: PressPhases = []) {
        self.init(name: entry.name, summary: entry.summary,
                  parameters: entry.parameters.map { PressParameterInfo(name: $0.name, defaultValue: $0.defaultValue, help: $0.doc) },
                  wraps: entry.inner != .none, phases: phases.names)
    }

    /// A press of the catalog, with the phases it runs in.
    public init(press entry: PressEntry) { self.init(entry, phases: entry.phases) }
}
