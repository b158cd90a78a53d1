/// What a telemetry row records: the `event` column of the CSV files, as the raw values spell it.
public enum TelemetryEvent: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case load, ask, save, restore, drop, evict, error, start, stop
    /// With a shared store (`kvd --store`): a session published to it.
    case publish
    /// With a shared store: a session fetched from it.
    case fetch
    /// With a shared store: a copy unloaded because another replica dropped or replaced it.
    case unload

    /// The raw value, so that text built from it reads as the wire and the CSV do.
    public var description: String { rawValue }
}
