/// The record as a flat, ordered list of named numbers: the one form the wire, the CSV and
/// kvbench's files read and write.
extension Metrics {
    /// One metric: its snake_case name and value.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: Double
        /// Whether the metric is a count (printed without decimals).
        public var isCount: Bool
    }

    /// Every metric, in declaration order.
    public var fields: [Field] {
        // A wrapped property `x` is stored as `_x: Metric<…>`.
        Mirror(reflecting: self).children.map { child in
            let name = Metrics.snakeCase(String((child.label ?? "").drop { $0 == "_" }))
            if let count = child.value as? Metric<Int> { return Field(name: name, value: Double(count.wrappedValue), isCount: true) }
            return Field(name: name, value: (child.value as? Metric<Double>)?.wrappedValue ?? 0, isCount: false)
        }
    }

    /// Every metric's name, in declaration order (the CSV columns, the wire names).
    public static let names = Metrics().fields.map(\.name)

    /// Every metric by name (what `init(values:)` reads back).
    public var values: [String: Double] {
        Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0.value) })
    }

    /// The record named by `values` (snake_case names). Names it does not know are ignored and
    /// metrics missing from `values` stay 0, so an older or newer peer's record reads harmlessly;
    /// a count is rounded toward zero, and reads as 0 when it does not fit an `Int`.
    public init(values: [String: Double]) {
        // The decoder fails only for a property that is neither Int nor Double, which the record never declares.
        self = (try? Metrics(from: MetricsDecoder(values: values))) ?? Metrics()
    }

    /// Field-by-field sums (kvbench's totals over many loads or answers).
    public static func + (a: Metrics, b: Metrics) -> Metrics {
        Metrics(values: a.values.merging(b.values, uniquingKeysWith: +))
    }

    /// Field-by-field means of this total over `n` loads or answers, by name, or zeros when `n` is
    /// 0. Counts keep their fraction (187.5 generated tokens), so they are not a record.
    public func means(over n: Int) -> [String: Double] {
        values.mapValues { n == 0 ? 0 : $0 / Double(n) }
    }

    /// `decodingCompressMs` → `decoding_compress_ms`.
    static func snakeCase(_ name: String) -> String {
        var out = ""
        for c in name {
            if c.isUppercase {
                out += "_" + c.lowercased()
            } else {
                out.append(c)
            }
        }
        return out
    }
}
