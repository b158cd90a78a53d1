/// Reads a `Metrics` (its synthesized `Decodable`) out of a dictionary of named numbers.
///
/// Only what the record needs: one keyed container of numbers, named in snake_case or as the
/// synthesized `Encodable` spells them. A key absent from the dictionary reads as 0; a dictionary
/// key the record does not have is never asked for.
struct MetricsDecoder: Decoder {
    let values: [String: Double]
    var codingPath: [CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Container<Key>(values: values))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "metrics are named numbers"))
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Double.self, .init(codingPath: [], debugDescription: "metrics are named numbers"))
    }

    private struct Container<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let values: [String: Double]
        var codingPath: [CodingKey] { [] }
        var allKeys: [Key] { values.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { true }
        func decodeNil(forKey key: Key) throws -> Bool { false }

        func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
            values[Metrics.snakeCase(key.stringValue)] ?? values[key.stringValue] ?? 0
        }

        func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
            Int(exactly: try decode(Double.self, forKey: key).rounded(.towardZero)) ?? 0
        }

        /// Every other type the protocol names (`Bool`, `String`, `Float`, the sized integers, nested
        /// values): the record declares none, so asking for one is a mistake in `Metrics`.
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            throw DecodingError.typeMismatch(T.self, .init(codingPath: [key], debugDescription: "metrics are Int or Double"))
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw DecodingError.typeMismatch(type, .init(codingPath: [key], debugDescription: "metrics are flat"))
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: [key], debugDescription: "metrics are flat"))
        }

        func superDecoder() throws -> Decoder { MetricsDecoder(values: values) }
        func superDecoder(forKey key: Key) throws -> Decoder { MetricsDecoder(values: values) }
    }
}
