import KVMetrics

/// One answered question, as a line of predictions.jsonl: what was asked and answered, its score,
/// and the answer's metrics flattened under their snake_case names (`context_tokens`, `ttft_ms`,
/// `decoding_compressions`, …).
public struct Prediction: Sendable, Encodable, Equatable {
    public var id: String
    public var contextID: String
    public var task: String
    public var question: String
    public var prediction: String
    public var reference: [String]
    public var score: Double
    public var metric: String
    /// Why the question could not be answered (then `score` is 0).
    public var error: String?
    /// The answer's costs and counters; only the context's token counts when it was not answered.
    public var metrics: Metrics

    enum CodingKeys: String, CodingKey {
        case id, task, question, prediction, reference, score, metric, error
        case contextID = "context_id"
    }

    /// A metric's name in the JSON line.
    private struct MetricKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(id: String, contextID: String, task: String, question: String, prediction: String, reference: [String],
                score: Double, metric: String, metrics: Metrics = Metrics(), error: String? = nil) {
        self.id = id
        self.contextID = contextID
        self.task = task
        self.question = question
        self.prediction = prediction
        self.reference = reference
        self.score = score
        self.metric = metric
        self.metrics = metrics
        self.error = error
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(contextID, forKey: .contextID)
        try c.encode(task, forKey: .task)
        try c.encode(question, forKey: .question)
        try c.encode(prediction, forKey: .prediction)
        try c.encode(reference, forKey: .reference)
        try c.encode(score, forKey: .score)
        try c.encode(metric, forKey: .metric)
        try c.encodeIfPresent(error, forKey: .error)
        var numbers = encoder.container(keyedBy: MetricKey.self)
        for field in metrics.fields {
            let key = MetricKey(stringValue: field.name)
            if field.isCount { try numbers.encode(Int(field.value), forKey: key) } else { try numbers.encode(field.value, forKey: key) }
        }
    }
}
