/// One question asked against a context, with what a correct answer must contain.
public struct EvalQuestion: Sendable, Equatable {
    /// Unique id within the dataset (written to predictions.jsonl).
    public var id: String
    /// The question text (kvpress's `question` column).
    public var question: String
    /// Text the answer is forced to start with (kvpress's `answer_prefix`).
    public var answerPrefix: String
    /// Reference answers; how they are compared with the prediction is `scorer`'s business.
    public var references: [String]
    /// The token budget this question asks for (kvpress's `max_new_tokens`), if it sets one.
    public var maxNewTokens: Int?
    /// Sub-task name, used to group scores in metrics.json (`niah_single_1`, `hotpotqa`, …).
    public var task: String
    /// How a prediction is scored.
    public var scorer: AnswerScorer

    public init(id: String, question: String, answerPrefix: String = "", references: [String],
                maxNewTokens: Int? = nil, task: String, scorer: AnswerScorer) {
        self.id = id
        self.question = question
        self.answerPrefix = answerPrefix
        self.references = references
        self.maxNewTokens = maxNewTokens
        self.task = task
        self.scorer = scorer
    }
}

/// A document and every question asked against it: the document is compressed once and all its
/// questions reuse the compressed cache (kvpress's cache reuse).
public struct EvalContext: Sendable, Equatable {
    /// Unique id within the dataset.
    public var id: String
    /// The document (kvpress's `context` column).
    public var context: String
    /// The questions asked against it.
    public var questions: [EvalQuestion]
    /// Free-form labels carried to the results (needle length and depth, …).
    public var labels: [String: String]
    /// kvpress's query-aware mode: the one question is compressed with the document and asked empty.
    public var questionInContext = false

    public init(id: String, context: String, questions: [EvalQuestion], labels: [String: String] = [:]) {
        self.id = id
        self.context = context
        self.questions = questions
        self.labels = labels
    }

    /// The question compressed with the document (query-aware), else `nil`.
    public var compressedQuestion: String? { questionInContext ? questions.first?.question : nil }
}

/// A loaded dataset: a name for directories and reports, and its contexts.
public struct EvalDataset: Sendable {
    /// Directory-safe name (`ruler_niah_single_1_2048`, `longbench_hotpotqa`, `jsonl_mydata`).
    public var name: String
    /// The contexts in file (or generation) order.
    public var contexts: [EvalContext]
    /// Settings that produced the dataset (generator parameters, source file), for config.json.
    public var settings: [String: String]

    public init(name: String, contexts: [EvalContext], settings: [String: String] = [:]) {
        self.name = name
        self.contexts = contexts
        self.settings = settings
    }

    /// Number of questions over all contexts.
    public var questionCount: Int { contexts.reduce(0) { $0 + $1.questions.count } }

    /// The first `n` questions, keeping whole contexts where possible (a context cut short keeps
    /// its first questions).
    public func limited(toQuestions n: Int) -> EvalDataset {
        var out = self
        out.contexts = []
        var left = n
        for c in contexts where left > 0 {
            var c = c
            if c.questions.count > left { c.questions = Array(c.questions.prefix(left)) }
            left -= c.questions.count
            out.contexts.append(c)
        }
        return out
    }

    /// A seeded random subset of the contexts holding about `fraction` of them (kvpress's
    /// `fraction`, sampled by context so cache reuse is kept), in original order.
    /// kvpress's query-aware mode (`query_aware`): every question becomes a context of its own,
    /// compressed together with its document.
    public func questionsInContext() -> EvalDataset {
        var out = self
        out.contexts = contexts.flatMap { c in
            c.questions.map { q in
                var one = EvalContext(id: c.id + "/" + q.id, context: c.context, questions: [q], labels: c.labels)
                one.questionInContext = true
                return one
            }
        }
        return out
    }

    public func sampled(fraction: Double, seed: UInt64) -> EvalDataset {
        guard fraction < 1 else { return self }
        var rng = SeededRandom(seed: seed)
        let k = max(1, Int((Double(contexts.count) * fraction).rounded()))
        let picked = Set(rng.sample(Array(contexts.indices), k))
        var out = self
        out.contexts = contexts.indices.filter { picked.contains($0) }.map { contexts[$0] }
        return out
    }
}
