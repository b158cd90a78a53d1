/// One metric of `Metrics`: a count (`Int`) or a figure (`Double`), 0 unless set.
///
/// What makes the record's `Decodable` tolerant in one place: the synthesized `init(from:)` of
/// `Metrics` decodes each property through `KeyedDecodingContainer.decode(_:forKey:)` below, which
/// reads a missing (or null) metric as 0 instead of failing; keys the record does not declare are
/// never asked for. It encodes as its bare value, so JSON reads `"ttftMs": 12.5` as before.
@propertyWrapper
public struct Metric<Value: MetricValue>: Sendable, Equatable, Codable {
    public var wrappedValue: Value

    public init(wrappedValue: Value) {
        self.wrappedValue = wrappedValue
    }

    public init(from decoder: Decoder) throws {
        wrappedValue = try decoder.singleValueContainer().decode(Value.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(wrappedValue)
    }
}

/// What a metric holds: `Int` or `Double` (`.zero` when not measured, or not written).
public protocol MetricValue: Codable, Sendable, Equatable, AdditiveArithmetic {
    /// The value under `key`, nil when absent: through the container's own `decodeIfPresent` for
    /// this type, which every decoder implements (`MetricsDecoder` only these two).
    static func metric<Key>(in container: KeyedDecodingContainer<Key>, forKey key: Key) throws -> Self?
}

extension Int: MetricValue {
    public static func metric<Key>(in container: KeyedDecodingContainer<Key>, forKey key: Key) throws -> Int? {
        try container.decodeIfPresent(Int.self, forKey: key)
    }
}

extension Double: MetricValue {
    public static func metric<Key>(in container: KeyedDecodingContainer<Key>, forKey key: Key) throws -> Double? {
        try container.decodeIfPresent(Double.self, forKey: key)
    }
}

extension KeyedDecodingContainer {
    /// A metric absent from the input reads as 0 (chosen over the generic `decode` for `Metric`s).
    public func decode<Value>(_ type: Metric<Value>.Type, forKey key: Key) throws -> Metric<Value> {
        Metric(wrappedValue: try Value.metric(in: self, forKey: key) ?? .zero)
    }
}
