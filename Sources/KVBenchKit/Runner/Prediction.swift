/// One answered question, as a line of predictions.jsonl.
public struct Prediction: Sendable, Codable, Equatable {
    public var id: String
    public var contextID: String
    public var task: String
    public var question: String
    public var prediction: String
    public var reference: [String]
    public var score: Double
    public var metric: String
    /// Context tokens before compression and entries kept per head after.
    public var contextTokens: Int
    public var keptTokens: Int
    public var generatedTokens: Int
    public var timeToFirstTokenSeconds: Double
    /// Why the question could not be answered (then `score` is 0).
    public var error: String?
    /// Decoding-time compressions during the answer (0 without a decoding press).
    public var decodingCompressions: Int = 0
    /// KV bytes at the end of the answer (context plus question and answer).
    public var kvBytesAfter: Int = 0

    enum CodingKeys: String, CodingKey {
        case id, task, question, prediction, reference, score, metric, error
        case contextID = "context_id", contextTokens = "context_tokens", keptTokens = "kept_tokens"
        case generatedTokens = "generated_tokens", timeToFirstTokenSeconds = "ttft_s"
        case decodingCompressions = "decoding_compressions", kvBytesAfter = "kv_bytes_after"
    }

    public init(id: String, contextID: String, task: String, question: String, prediction: String, reference: [String],
                score: Double, metric: String, contextTokens: Int, keptTokens: Int, generatedTokens: Int,
                timeToFirstTokenSeconds: Double, error: String? = nil) {
        self.id = id
        self.contextID = contextID
        self.task = task
        self.question = question
        self.prediction = prediction
        self.reference = reference
        self.score = score
        self.metric = metric
        self.contextTokens = contextTokens
        self.keptTokens = keptTokens
        self.generatedTokens = generatedTokens
        self.timeToFirstTokenSeconds = timeToFirstTokenSeconds
        self.error = error
    }
}
