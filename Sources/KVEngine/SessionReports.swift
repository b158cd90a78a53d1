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

/// One streamed step of an answer.
public struct GeneratedPiece: Sendable, Equatable {
    /// The token generated, or `nil` for a final flush of leftover bytes.
    public let tokenID: Int?
    /// Text completed by this step (may be empty while a UTF-8 character is incomplete).
    public let text: String
}
