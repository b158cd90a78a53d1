/// The costs and counters of one load or ask: what the session measured, what the wire carries,
/// the figures of a telemetry CSV row and what kvbench stores per answer.
///
/// Every stored property is a metric. Its name in snake_case (`decodingCompressions` →
/// `decoding_compressions`) is its wire name and CSV column, in declaration order, so adding a
/// metric is adding one property here. Properties are `@Metric`s of `Int` (counts, bytes) or
/// `Double` (times, rates), default to 0, and their names hold no acronym in capitals
/// (`peakRssBytes`), so the snake_case form reads back to the same name.
///
/// Decoding never fails over the set of metrics: a metric missing from the input reads as 0 and a
/// key the record does not have is ignored, so a record written by a kvd with other metrics (a
/// snapshot header, kvbench's files, an older or newer peer) reads harmlessly on every path.
public struct Metrics: Sendable, Equatable, Codable {
    /// Tokens of the context (chat-template prefix + document), before any press.
    @Metric public var contextTokens = 0
    /// Entries kept per KV head, averaged over layers and heads (asks: at their start).
    @Metric public var keptTokens = 0
    /// Asks: tokens of the question part (question + end of turn + assistant start + answer prefix).
    @Metric public var questionTokens = 0
    /// Asks: tokens generated, a final stop token included.
    @Metric public var generatedTokens = 0
    /// Load: the context's forward pass (press excluded); ask: the question part's; restore: 0.
    @Metric public var prefillMs = 0.0
    /// Load: time inside the press.
    @Metric public var compressMs = 0.0
    /// Asks: from the start of the ask to the first generated token.
    @Metric public var ttftMs = 0.0
    /// Asks: generating the tokens after the first (decoding compression excluded).
    @Metric public var decodeMs = 0.0
    /// Asks: decode speed over the tokens after the first.
    @Metric public var decodeTokS = 0.0
    /// KV cache held (asks: at the end, the context plus its question and answer).
    @Metric public var kvBytes = 0
    /// What the same context would hold uncompressed.
    @Metric public var kvBytesUncompressed = 0
    /// Load: share of the attention the model pays while repeating the context that lands on kept
    /// entries (`Reconstruction`): 1 uncompressed, measured by `kvzip` and `fidelity`, 0 when the
    /// press measured none; asks: their session's.
    @Metric public var fidelity = 0.0
    /// Load: share of the context's KV entries (all layers and heads) the cache does not hold: the
    /// compression ratio that came out, sliding windows included; asks: their session's.
    @Metric public var achievedRatio = 0.0
    /// Asks: KV bytes when the ask started.
    @Metric public var kvBytesBefore = 0
    /// Asks: decode steps at which decoding compression cut at least one head to its budget.
    @Metric public var decodingCompressions = 0
    /// Asks: time spent in decoding compression (scoring and evicting), not in `compressMs`.
    @Metric public var decodingCompressMs = 0.0
    /// Asks: entries per KV head at the end (context kept + question + answer).
    @Metric public var finalCacheTokens = 0
    /// Resident set size of the process when the event was recorded.
    @Metric public var rssBytes = 0
    /// Peak resident set size of the process after the request.
    @Metric public var peakRssBytes = 0
    /// Save, restore, evict: file time.
    @Metric public var ioMs = 0.0
    /// From the request's arrival to its answer, queueing included.
    @Metric public var requestMs = 0.0
    /// Asks: from arrival to the first step that ran it (waiting for a worker or a place in a batch).
    @Metric public var queueMs = 0.0
    /// Asks: asks per forward step, averaged over the steps this ask took part in.
    @Metric public var meanBatchSize = 0.0
    /// Time spent with the shared store (`kvd --store`): a publish (load, publish), or the fetch
    /// of a session this replica did not hold (ask, restore).
    @Metric public var storeMs = 0.0
    /// Bytes that publish sent or that fetch received.
    @Metric public var storeBytes = 0

    public init() {}
}
