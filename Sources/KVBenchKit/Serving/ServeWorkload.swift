/// The documents and questions of the load benchmark (`kvbench serve-bench`): documents of filler
/// text, each hiding a few facts of different kinds (a magic number, a capital city, a colour: a
/// small model mixes up facts of one kind, which would measure the model rather than the server),
/// and one question per fact with kvpress's answer prefix, so every answer can be checked.
public struct ServeWorkload: Sendable {
    /// One document to load as a session.
    public struct Document: Sendable {
        /// Session id it is loaded under.
        public let session: String
        public let text: String
    }

    /// One question about a document, and the answer it must contain.
    public struct Question: Sendable {
        /// Index into `documents`.
        public let document: Int
        public let text: String
        public let answerPrefix: String
        /// What the answer must contain; nil for a summary (any answer of at least one word counts).
        public let expected: String?
    }

    /// The question of the decode-heavy workload (`serve-bench --summaries`): a long answer.
    public static let summaryQuestion = "Summarize the text above in a few sentences, then describe its style."

    /// This workload with every question replaced by a request for a summary of its document (no
    /// answer prefix): the same documents and number of asks, answers as long as `max_new_tokens`.
    public var summaries: ServeWorkload {
        ServeWorkload(documents: documents, questions: questions.map {
            Question(document: $0.document, text: Self.summaryQuestion, answerPrefix: "", expected: nil)
        })
    }

    private init(documents: [Document], questions: [Question]) {
        self.documents = documents
        self.questions = questions
    }

    public let documents: [Document]
    public let questions: [Question]

    /// A filler sentence of the haystack (RULER's noise haystack).
    static let filler = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."

    /// `documents` documents of about `tokens` tokens each (as `countTokens` counts them) with
    /// `facts` facts each, spread evenly through the text; the same seed gives the same workload.
    public init(documents: Int, tokens: Int, facts factCount: Int, seed: UInt64, sessionPrefix: String = "doc",
                countTokens: (String) -> Int) {
        var random = SeededRandom(seed: seed)
        let fillerTokens = max(1, countTokens(Self.filler + " "))
        var docs: [Document] = []
        var qs: [Question] = []
        var usedKeys = Set<String>()
        for d in 0..<documents {
            var facts: [(statement: String, question: String, prefix: String, value: String)] = []
            while facts.count < factCount {
                let key = RulerWords.keys[random.int(0...(RulerWords.keys.count - 1))]
                guard usedKeys.insert(key).inserted else { continue }
                facts.append(Self.fact(kind: facts.count, key: key, random: &random))
            }
            // Filler sentences, a fact after every share of them.
            let sentences = max(factCount + 1, tokens / fillerTokens)
            var parts: [String] = []
            for s in 1...sentences {
                parts.append(Self.filler)
                for (i, f) in facts.enumerated() where (i + 1) * sentences / (factCount + 1) == s { parts.append(f.statement) }
            }
            docs.append(Document(session: "\(sessionPrefix)\(d + 1)", text: parts.joined(separator: " ")))
            for f in facts {
                qs.append(Question(document: d, text: f.question, answerPrefix: f.prefix, expected: f.value))
            }
        }
        self.documents = docs
        questions = qs
    }

    /// Whether `answer` gives the question's fact.
    public func isCorrect(_ answer: String, for question: Question) -> Bool {
        guard let expected = question.expected else { return answer.contains(where: \.isLetter) }
        return answer.lowercased().contains(expected.lowercased())
    }

    static let cities = ["Lisbon", "Oslo", "Nairobi", "Lima", "Hanoi", "Dublin", "Quito", "Tunis", "Manila", "Warsaw"]
    static let colours = ["turquoise", "crimson", "amber", "violet", "indigo", "scarlet", "maroon", "teal", "ochre", "magenta"]

    /// Fact number `kind` of a document (the kinds cycle): its sentence, question, answer prefix and value.
    static func fact(kind: Int, key: String, random: inout SeededRandom)
        -> (statement: String, question: String, prefix: String, value: String) {
        switch kind % 3 {
        case 0:
            let n = String(random.int(1_000_000...9_999_999))
            return ("The special magic number for \(key) is: \(n).",
                    "What is the special magic number for \(key) mentioned in the provided text?",
                    "The special magic number for \(key) mentioned in the provided text is", n)
        case 1:
            let city = cities[random.int(0...(cities.count - 1))]
            return ("The capital of the kingdom of \(key) is \(city).", "What is the capital of the kingdom of \(key)?",
                    "The capital of the kingdom of \(key) is", city)
        default:
            let colour = colours[random.int(0...(colours.count - 1))]
            return ("The favourite colour of Captain \(key) is \(colour).", "What is the favourite colour of Captain \(key)?",
                    "The favourite colour of Captain \(key) is", colour)
        }
    }
}
