import KVModel

/// Compression while the model generates: every `compression_interval` decode steps, each KV
/// head longer than the target is cut down to it by the scorer's ranking (kvpress `DecodingPress`,
/// and `CompressionRatioDecodingPress` when `compression_ratio_decoding` is set).
///
/// The target is either a fixed `cache_budget` (KV pairs per head; `0` turns decoding
/// compression off) or, with `compression_ratio_decoding = r`, `max(1, Int(seen · (1 − r)))` where
/// `seen` counts every token the cache has seen (original context, question and answer so far).
///
/// Its parameters (`cache_budget`, `compression_interval`, `compression_ratio_decoding`, with
/// kvpress's names as aliases) are declared in ``DecodingCatalog/scheduleParameters``.
public final class DecodingPress: CustomStringConvertible, Sendable {
    /// How entries are ranked.
    public let scorer: DecodingScorer
    /// KV pairs kept per head (fixed-budget form); `0` = no decoding compression.
    public let cacheBudget: Int
    /// Decode steps between compressions.
    public let compressionInterval: Int
    /// Fraction of all tokens seen that is removed (ratio form), or `nil` for the fixed budget.
    public let compressionRatioDecoding: Double?

    /// `schedule` holds the catalog's schedule parameters (checked, so any value is valid).
    public init(scorer: DecodingScorer, schedule: PressArguments) {
        self.scorer = scorer
        cacheBudget = schedule.int("cache_budget")
        compressionInterval = schedule.int("compression_interval")
        compressionRatioDecoding = schedule.optionalDouble("compression_ratio_decoding")
    }

    /// Whether the press ever removes anything (budget `0` or ratio `0` never does).
    public var isActive: Bool { compressionRatioDecoding.map { $0 > 0 } ?? (cacheBudget > 0) }

    /// Entries each head keeps after a compression, when `seen` tokens have gone through the cache.
    public func targetSize(tokensSeen seen: Int) -> Int {
        guard let r = compressionRatioDecoding else { return cacheBudget }
        return max(1, Int(Double(seen) * (1 - r)))
    }

    /// Every parameter as spec text: the scorer's own, then the target (budget or ratio) and the interval.
    public var parameterValues: [(String, String)] {
        let target = compressionRatioDecoding.map { ("compression_ratio_decoding", String($0)) }
            ?? ("cache_budget", String(cacheBudget))
        return scorer.parameterValues + [target, ("compression_interval", String(compressionInterval))]
    }

    /// The spec string (`h2o:window_size=64,…,cache_budget=256,…`), which ``DecodingSpec/parse(_:)`` reads back.
    public var description: String {
        scorer.name + ":" + parameterValues.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
    }
}
