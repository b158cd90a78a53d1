import KVModel

/// Compression while the model generates, around any scorer press: every `compression_interval`
/// decode steps, each KV head longer than the target is cut down to it by the scorer's ranking
/// (kvpress `DecodingPress`, and `CompressionRatioDecodingPress` when `compression_ratio_decoding`
/// is set).
///
/// The target is either a fixed `cache_budget` (KV pairs per head; `0` turns decoding
/// compression off) or, with `compression_ratio_decoding = r`, `max(1, Int(seen · (1 − r)))` where
/// `seen` counts every token the cache has seen (original context, question and answer so far).
///
/// Its parameters (`cache_budget`, `compression_interval`, `compression_ratio_decoding`,
/// `query_buffer`, with kvpress's names as aliases) are declared in
/// ``DecodingCatalog/scheduleParameters``; the scorer's are its ``PressCatalog`` entry's.
public final class DecodingPress: CustomStringConvertible, Sendable {
    /// KV pairs kept per head (fixed-budget form); `0` = no decoding compression.
    public let cacheBudget: Int
    /// Decode steps between compressions.
    public let compressionInterval: Int
    /// Fraction of all tokens seen that is removed (ratio form), or `nil` for the fixed budget.
    public let compressionRatioDecoding: Double?
    /// Recent queries remembered per layer for scorers that read them.
    public let queryBuffer: Int
    /// Builds a fresh scorer: every generation gets its own, since a compression sets its ratio.
    private let makeScorerPress: @Sendable () -> ScorerPress

    /// `schedule` holds the catalog's schedule parameters (checked, so any value is valid);
    /// `scorer` builds the press that ranks entries.
    public init(schedule: PressArguments, scorer: @escaping @Sendable () -> ScorerPress) {
        cacheBudget = schedule[.cacheBudget]
        compressionInterval = schedule[.compressionInterval]
        compressionRatioDecoding = schedule[.compressionRatioDecoding]
        queryBuffer = schedule[.queryBuffer]
        makeScorerPress = scorer
    }

    /// A new scorer for one generation.
    public func makeScorer() -> ScorerPress { makeScorerPress() }

    /// The scorer's name.
    public var name: String { makeScorer().name }

    /// Whether the press ever removes anything (budget `0` or ratio `0` never does).
    public var isActive: Bool { compressionRatioDecoding.map { $0 > 0 } ?? (cacheBudget > 0) }

    /// Entries each head keeps after a compression, when `seen` tokens have gone through the cache.
    public func targetSize(tokensSeen seen: Int) -> Int {
        guard let r = compressionRatioDecoding else { return cacheBudget }
        return max(1, Int(Double(seen) * (1 - r)))
    }

    /// Every parameter as spec text: the scorer's own (without `compression_ratio`, which the
    /// schedule sets), then the target (budget or ratio), the interval and the query buffer.
    public var parameterValues: [(String, String)] {
        let target = compressionRatioDecoding.map { (ParameterKey<Double?>.compressionRatioDecoding.name, String($0)) }
            ?? (ParameterKey<Int>.cacheBudget.name, String(cacheBudget))
        return makeScorer().parameterValues.filter { $0.0 != ParameterKey<Double>.compressionRatio.name }
            + [target, (ParameterKey<Int>.compressionInterval.name, String(compressionInterval)),
               (ParameterKey<Int>.queryBuffer.name, String(queryBuffer))]
    }

    /// The spec string (`h2o:window_size=64,…,cache_budget=256,…`), which ``DecodingSpec/parse(_:)`` reads back.
    public var description: String {
        name + ":" + parameterValues.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
    }

    /// The ratio that keeps exactly `target` of `count` entries under kvpress's rule
    /// `Int(count · (1 − ratio))` (kvpress finds it by bisection; stepping by ulps is exact).
    static func ratio(keeping target: Int, of count: Int) -> Double {
        guard count > target else { return 0 }
        var r = 1 - Double(target) / Double(count)
        while Int(Double(count) * (1 - r)) > target { r = r.nextUp }
        while Int(Double(count) * (1 - r)) < target { r = r.nextDown }
        return r
    }
}
