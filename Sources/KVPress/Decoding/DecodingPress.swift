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
/// With `dms(SCORER):threshold=t` the schedule judges instead of cutting: every entry that has
/// left the newest `sliding_window_size` is judged once, at the first compression after, and
/// evicted if its score is below `t` (kvpress `DMSPress` with `decoding=True`; kvd rescores the
/// head at that compression, which for key-only scorers is the score the entry had on arrival).
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
    /// `dms`: the score below which an entry that left the window is evicted, or `nil` for a budget.
    public let threshold: Double?
    /// `dms`: newest entries never judged.
    public let slidingWindowSize: Int
    /// The scorer's name.
    public let name: String
    /// The scorer's parameters as spec text, without `compression_ratio` (which the schedule sets).
    private let scorerParameters: [(String, String)]
    /// Builds a fresh scorer: every generation gets its own, since a compression sets its ratio.
    private let makeScorerPress: @Sendable () -> ScorerPress

    /// `schedule` holds the catalog's schedule parameters (checked, so any value is valid);
    /// `scorer` builds the press that ranks entries.
    public init(schedule: PressArguments, scorer: @escaping @Sendable () -> ScorerPress) {
        cacheBudget = schedule[.cacheBudget]
        compressionInterval = schedule[.compressionInterval]
        compressionRatioDecoding = schedule[.compressionRatioDecoding]
        queryBuffer = schedule[.queryBuffer]
        let judges = schedule.press == DecodingCatalog.thresholdPress
        threshold = judges ? schedule[.threshold] : nil
        slidingWindowSize = judges ? schedule[.slidingWindowSize] : 0
        makeScorerPress = scorer
        let prototype = scorer()
        name = prototype.name
        scorerParameters = prototype.parameterValues.filter { $0.0 != ParameterKey<Double>.compressionRatio.name }
    }

    /// A new scorer for one generation.
    public func makeScorer() -> ScorerPress { makeScorerPress() }

    /// Whether the press ever removes anything (budget `0` or ratio `0` never does).
    public var isActive: Bool { threshold != nil || (compressionRatioDecoding.map { $0 > 0 } ?? (cacheBudget > 0)) }

    /// Entries each head keeps after a compression, when `seen` tokens have gone through the cache.
    public func targetSize(tokensSeen seen: Int) -> Int {
        guard let r = compressionRatioDecoding else { return cacheBudget }
        return max(1, Int(Double(seen) * (1 - r)))
    }

    /// Every parameter as spec text: the scorer's own (without `compression_ratio`, which the
    /// schedule sets), then the target (budget, ratio, or dms's threshold and window), the
    /// interval and the query buffer.
    public var parameterValues: [(String, String)] {
        let target: [(String, String)]
        if let threshold {
            target = [(ParameterKey<Double>.threshold.name, String(threshold)),
                      (ParameterKey<Int>.slidingWindowSize.name, String(slidingWindowSize))]
        } else {
            target = [compressionRatioDecoding.map { (ParameterKey<Double?>.compressionRatioDecoding.name, String($0)) }
                      ?? (ParameterKey<Int>.cacheBudget.name, String(cacheBudget))]
        }
        let own = threshold == nil ? scorerParameters : []
        return own + target + [(ParameterKey<Int>.compressionInterval.name, String(compressionInterval)),
                               (ParameterKey<Int>.queryBuffer.name, String(queryBuffer))]
    }


    /// The spec string (`h2o:window_size=64,…,cache_budget=256,…`, `dms(knorm):threshold=…`),
    /// which ``DecodingSpec/parse(_:)`` reads back.
    public var description: String {
        let parameters = parameterValues.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        guard threshold != nil else { return name + ":" + parameters }
        let inner = scorerParameters.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        return DecodingCatalog.thresholdPress + "(" + name + (inner.isEmpty ? "" : ":" + inner) + "):" + parameters
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
