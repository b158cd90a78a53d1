import KVModel

/// Needle in a haystack over context lengths × depths (kvpress's `needle_in_haystack`
/// benchmark): the needle is inserted at a token depth of a haystack cut to each length, wrapped
/// as kvpress wraps it, and the answer is scored with ROUGE-L against the needle's fact.
public struct NeedleDataset {
    public var lengths: [Int]
    public var depths: [Int]
    public var haystack: Haystack
    public var needle = "The best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day."
    public var question = "What is the best thing to do in San Francisco?"
    public var answerPrefix = "Answer: The best thing to do in San Francisco is"
    public var reference = "eat a sandwich and sit in Dolores Park on a sunny day."

    public init(lengths: [Int], depths: [Int], haystack: Haystack = .noise) {
        self.lengths = lengths
        self.depths = depths
        self.haystack = haystack
    }

    /// One context per (length, depth), labelled `length` and `depth`.
    /// - Throws: `DatasetError.invalidSetting` for a length too short to hold the needle.
    public func dataset(tokenizer: Tokenizer) throws -> EvalDataset {
        let needleIDs = tokenizer.encode(" " + needle + " ")
        let longest = lengths.max() ?? 0
        var text = ""
        switch haystack {
        case .noise:
            let unit = Haystack.noiseSentence + " "
            let per = max(1, tokenizer.encode(unit).count)
            text = String(repeating: unit, count: longest / per + 2)
        case .text(let words, _):
            var n = words.count
            while tokenizer.encode(haystack.words(n).joined(separator: " ")).count < longest { n *= 2 }
            text = haystack.words(n).joined(separator: " ")
        }
        let ids = tokenizer.encode(text)
        var contexts: [EvalContext] = []
        for length in lengths {
            let room = length - needleIDs.count - 150
            guard room > 0 else { throw DatasetError.invalidSetting("needle context length \(length) is too short (needs > \(needleIDs.count + 150) tokens)") }
            let base = Array(ids.prefix(room))
            for depth in depths {
                let at = base.count * depth / 100
                let body = tokenizer.decode(Array(base[..<at]) + needleIDs + Array(base[at...]), skipSpecialTokens: true)
                let id = "needle-\(length)-\(depth)"
                contexts.append(EvalContext(
                    id: id, context: "This is a very long story book: <book> \(body) </book>.",
                    questions: [EvalQuestion(id: id, question: question, answerPrefix: answerPrefix, references: [reference],
                                             maxNewTokens: 32, task: "needle", scorer: .rougeL)],
                    labels: ["length": String(length), "depth": String(depth)]))
            }
        }
        return EvalDataset(name: "needle", contexts: contexts, settings: [
            "lengths": lengths.map(String.init).joined(separator: ","), "depths": depths.map(String.init).joined(separator: ","),
            "haystack": haystack.name, "needle": needle,
        ])
    }
}
