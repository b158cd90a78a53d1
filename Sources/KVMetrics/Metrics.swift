/// The costs and counters of one load or ask: what the session measured, what the wire carries,
/// the figures of a telemetry CSV row and what kvbench stores per answer.
///
/// Every stored property is a metric. Its name in snake_case (`decodingCompressions` →
/// `decoding_compressions`) is its wire name and CSV column, in declaration order, so adding a
/// metric is adding one property here. Properties are `Int` (counts, bytes) or `Double` (times,
/// rates), default to 0, and their names hold no acronym in capitals (`peakRssBytes`), so the
/// snake_case form reads back to the same name.
public struct Metrics: Sendable, Equatable, Codable {
    /// Tokens of the context (chat-template prefix + document), before any press.
    public var contextTokens = 0
    /// Entries kept per KV head, averaged over layers and heads (asks: at their start).
    public var keptTokens = 0
    /// Asks: tokens of the question part (question + end of turn + assistant start + answer prefix).
    public var questionTokens = 0
    /// Asks: tokens generated, a final stop token included.
    public var generatedTokens = 0
    /// Load: the context's forward pass (press excluded); ask: the question part's; restore: 0.
    public var prefillMs = 0.0
    /// Load: time inside the press.
    public var compressMs = 0.0
    /// Asks: from the start of the ask to the first generated token.
    public var ttftMs = 0.0
    /// Asks: generating the tokens after the first (decoding compression excluded).
    public var decodeMs = 0.0
    /// Asks: decode speed over the tokens after the first.
    public var decodeTokS = 0.0
    /// KV cache held (asks: at the end, the context plus its question and answer).
    public var kvBytes = 0
    /// What the same context would hold uncompressed.
    public var kvBytesUncompressed = 0
    /// Load: share of the attention the model pays while repeating the context that lands on kept
    /// entries (`Reconstruction`): 1 uncompressed, measured by `kvzip` and `fidelity`, 0 when the
    /// press measured none; asks: their session's.
    public var fidelity = 0.0
    /// Load: share of the context's KV entries (all layers and heads) the cache does not hold: the
    /// compression ratio that came out, sliding windows included; asks: their session's.
    public var achievedRatio = 0.0
    /// Asks: KV bytes when the ask started.
    public var kvBytesBefore = 0
    /// Asks: decode steps at which decoding compression cut at least one head to its budget.
    public var decodingCompressions = 0
    /// Asks: time spent in decoding compression (scoring and evicting), not in `compressMs`.
    public var decodingCompressMs = 0.0
    /// Asks: entries per KV head at the end (context kept + question + answer).
    public var finalCacheTokens = 0
    /// Resident set size of the process when the event was recorded.
    public var rssBytes = 0
    /// Peak resident set size of the process after the request.
    public var peakRssBytes = 0
    /// Save, restore, evict: file time.
    public var ioMs = 0.0
    /// From the request's arrival to its answer, queueing included.
    public var requestMs = 0.0
    /// Asks: from arrival to the first step that ran it (waiting for a worker or a place in a batch).
    public var queueMs = 0.0
    /// Asks: asks per forward step, averaged over the steps this ask took part in.
    public var meanBatchSize = 0.0

    public init() {}
}
