/// One generated RULER example, already split the way kvpress splits RULER
/// (`evaluation/benchmarks/ruler/create_huggingface_dataset.py`): the context runs up to the last
/// question sentence, the question up to the answer prefix, the answer prefix to the end.
public struct RulerPrompt: Sendable, Equatable {
    public var context: String
    public var question: String
    public var answerPrefix: String
    public var answers: [String]

    /// The whole RULER input (context + question + answer prefix), as RULER writes it.
    public var input: String { context + question + answerPrefix }
}

/// RULER's task templates (`scripts/data/synthetic/constants.py`), each cut into kvd's three parts.
enum RulerTemplates {
    /// NIAH: `v` is the value kind ("numbers", or "number" for one needle asked once).
    static func niah(context: String, query: String, kind: String, singular: Bool) -> (String, String, String) {
        let v = singular ? String(kind.dropLast()) : kind
        let intro = singular
            ? "A special magic \(v) is hidden within the following text. Make sure to memorize it. I will quiz you about the \(v) afterwards.\n"
            : "Some special magic \(v) are hidden within the following text. Make sure to memorize it. I will quiz you about the \(v) afterwards.\n"
        let question = singular
            ? "What is the special magic \(v) for \(query) mentioned in the provided text? "
            : "What are all the special magic \(v) for \(query) mentioned in the provided text? "
        let prefix = "The special magic \(v) for \(query) mentioned in the provided text \(singular ? "is" : "are")"
        return (intro + context + "\n", question, prefix)
    }

    static func vt(context: String, value: String, count: Int) -> (String, String, String) {
        ("Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n\(context)\n",
         "Question: Find all variables that are assigned the value \(value) in the text above. ",
         "Answer: According to the chain(s) of variable assignment in the text above, \(count) variables are assgined the value \(value), they are: ")
    }

    static func cwe(context: String) -> (String, String, String) {
        ("Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones that appear most often.\n\(context)\n",
         "Question: What are the 10 most common words in the above list? ",
         "Answer: The top 10 words that appear most often in the list are:")
    }

    static func fwe(context: String) -> (String, String, String) {
        ("Read the following coded text and track the frequency of each coded word. Find the three most frequently appeared coded words. \(context)\n",
         "Question: Do not provide any explanation. Please ignore the dots '....'. What are the three most frequently appeared words in the above coded text? ",
         "Answer: According to the coded text above, the three most frequently appeared words are:")
    }
}
