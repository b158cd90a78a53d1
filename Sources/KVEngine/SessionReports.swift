import KVMetrics
import KVWire

/// The answer to one question and its costs.
public struct AskReport: Sendable, Equatable {
    /// The answer text (end-of-turn tokens removed).
    public var answer: String
    /// Every generated token, including a final stop token.
    public var tokenIDs: [Int]
    /// Why generation ended.
    public var finishReason: FinishReason
    /// Token counts, times and bytes of the ask (the session's load figures for its context).
    public var metrics: Metrics
}

