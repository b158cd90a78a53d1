/// What loading a document cost and what it left in memory.
public struct LoadReport: Sendable, Equatable, Codable {
    /// Tokens of the context (chat-template prefix + document).
    public var contextTokens: Int
    /// Entries kept per KV head, averaged over all layers and heads (equals `contextTokens` without a press).
    public var keptTokens: Int
    /// Seconds of forward computation over the context (compression excluded).
    public var prefillSeconds: Double
    /// Seconds spent inside the press.
    public var compressSeconds: Double
    /// Bytes of keys and values held after compression.
    public var kvBytes: Int
    /// Bytes the same context would hold uncompressed.
    public var kvBytesUncompressed: Int

    public init(contextTokens: Int, keptTokens: Int, prefillSeconds: Double, compressSeconds: Double,
                kvBytes: Int, kvBytesUncompressed: Int) {
        self.contextTokens = contextTokens
        self.keptTokens = keptTokens
        self.prefillSeconds = prefillSeconds
        self.compressSeconds = compressSeconds
        self.kvBytes = kvBytes
        self.kvBytesUncompressed = kvBytesUncompressed
    }
}

/// Why a generation ended.
public enum FinishReason: String, Sendable, Codable {
    /// The model emitted an end-of-turn or end-of-sequence token.
    case eos
    /// `maxNewTokens` were generated.
    case maxNewTokens = "max_new_tokens"
    /// The caller asked to stop (cancel, disconnect).
    case cancelled
    /// The request's deadline passed.
    case deadline
}

/// The answer to one question and its costs.
public struct AskReport: Sendable, Equatable, Codable {
    /// The answer text (end-of-turn tokens removed).
    public var answer: String
    /// Every generated token, including a final stop token.
    public var tokenIDs: [Int]
    /// Why generation ended.
    public var finishReason: FinishReason
    /// Tokens of the question part (question + end of turn + assistant start + answer prefix).
    public var questionTokens: Int
    /// Seconds prefilling the question part.
    public var prefillSeconds: Double
    /// Seconds from the start of the ask to the first generated token.
    public var timeToFirstTokenSeconds: Double
    /// Seconds generating the tokens after the first.
    public var decodeSeconds: Double
    /// Entries at the end (context kept + question + answer), per head.
    public var peakCacheTokens: Int
    /// Seconds spent in decoding compression (scoring and evicting), summed over all compressions.
    public var compressionSeconds: Double = 0
    /// Decoding compressions: decode steps at which at least one head was cut to its budget.
    public var decodingCompressions: Int = 0
    /// Tokens of the original context (before any press).
    public var contextTokens: Int = 0
    /// Context entries per KV head at the start of the ask, averaged over layers and heads.
    public var keptTokens: Int = 0
    /// Tokens generated (`tokenIDs.count`).
    public var generatedTokens: Int = 0
    /// Bytes of keys and values at the start of the ask (the compressed context).
    public var kvBytesBefore: Int = 0
    /// Bytes of keys and values at the end (context + question + answer, after
    /// any decoding compression).
    public var kvBytesAfter: Int = 0
    /// Peak resident set size of the process at the end of the ask, in bytes.
    public var peakRSSBytes: Int = 0
    /// Seconds from the start of the ask to its first step (waiting for a place in a batch).
    public var queueSeconds: Double = 0
    /// Asks per step, averaged over the steps this ask took part in (1 when answered alone).
    public var meanBatchSize: Double = 0

    /// Decode speed over the tokens after the first.
    public var decodeTokensPerSecond: Double {
        tokenIDs.count > 1 && decodeSeconds > 0 ? Double(tokenIDs.count - 1) / decodeSeconds : 0
    }
}

/// One streamed step of an answer.
public struct GeneratedPiece: Sendable, Equatable {
    /// The token generated, or `nil` for a final flush of leftover bytes.
    public let tokenID: Int?
    /// Text completed by this step (may be empty while a UTF-8 character is incomplete).
    public let text: String
}
