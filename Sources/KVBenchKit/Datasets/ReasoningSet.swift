/// Reasoning sets read from local JSONL in their published column layout (Hugging Face
/// datasets' records, one per line), with a prompt formatter and answer extraction each.
///
/// The problem (or passage) is the context the press compresses; the instruction and, for
/// passage sets, the question come after it. Records sharing a passage (DROP) share a context.
public enum ReasoningSet: String, CaseIterable, Sendable {
    case gsm8k
    case math500 = "math-500"
    case aime24
    case aime25
    case folio
    case drop
    case strategyqa
    case reclor
    case commonsenseqa
    case openbookqa
    case logiqa

    static let boxedInstruction = "Please reason step by step, and put your final answer within \\boxed{}."
    static let letterInstruction = "Answer with the letter of the correct option, e.g. \"The answer is (A)\"."

    /// The default token budget: room for a worked solution, or a short answer.
    public var maxNewTokens: Int {
        switch self {
        case .gsm8k, .math500, .aime24, .aime25: return 1024
        case .folio, .strategyqa, .reclor, .commonsenseqa, .openbookqa, .logiqa: return 256
        case .drop: return 32
        }
    }

    /// Context, question, references and scorer of one record.
    func format(_ r: Record) throws -> (context: String, question: String, references: [String], scorer: AnswerScorer) {
        func lettered(_ options: [String]) -> String {
            options.enumerated().map { "\(["A", "B", "C", "D", "E", "F", "G", "H"][min($0.offset, 7)]). \($0.element)" }.joined(separator: "\n")
        }
        func letter(_ i: Int) -> String { String(UnicodeScalar(UInt8(65 + max(0, min(i, 25))))) }
        switch self {
        case .gsm8k:
            let answer = try r.require("answer")
            let final = answer.components(separatedBy: "####").last?.trimmingSpaces ?? answer
            return (try r.require("question"), Self.boxedInstruction, [final], .number)
        case .math500, .aime24, .aime25:
            let problem = try r.string("problem") ?? r.string("question") ?? r.require("Problem")
            let answer = try r.string("answer") ?? r.require("Answer")
            return (problem, Self.boxedInstruction, [answer], .boxed)
        case .folio:
            let premises = try r.require("premises")
            let conclusion = try r.require("conclusion")
            return ("Premises:\n\(premises)", "Based only on the premises, is the following conclusion True, False, or Uncertain?\nConclusion: \(conclusion)\nEnd your answer with one word: True, False, or Uncertain.",
                    [try r.require("label")], .label(options: ["True", "False", "Uncertain"]))
        case .drop:
            let spans = r.object("answers_spans")?.strings("spans") ?? r.strings("answer") ?? []
            return (try r.require("passage"), "\(try r.require("question"))\nAnswer with a short span or number only.", spans, .qaF1)
        case .strategyqa:
            guard let yes = r.bool("answer") else { throw DatasetError.badRecord(path: r.path, line: r.line, reason: "missing boolean 'answer'") }
            let facts = r.strings("facts")?.joined(separator: " ") ?? r.string("description") ?? ""
            return (facts.isEmpty ? "Question: \(try r.require("question"))" : facts,
                    "\(facts.isEmpty ? "" : "Question: \(try r.require("question"))\n")Think briefly, then end your answer with yes or no.",
                    [yes ? "yes" : "no"], .label(options: ["yes", "no"]))
        case .reclor:
            let options = r.strings("answers") ?? []
            guard let label = r.int("label") else { throw DatasetError.badRecord(path: r.path, line: r.line, reason: "missing integer 'label'") }
            return (try r.require("context"), "\(try r.require("question"))\n\(lettered(options))\n\(Self.letterInstruction)", [letter(label)], .choiceLetter)
        case .logiqa:
            let options = r.strings("options") ?? []
            guard let label = r.int("correct_option") ?? r.int("label") else { throw DatasetError.badRecord(path: r.path, line: r.line, reason: "missing integer 'correct_option'") }
            return (try r.require("context"), "\(try r.string("query") ?? r.require("question"))\n\(lettered(options))\n\(Self.letterInstruction)", [letter(label)], .choiceLetter)
        case .commonsenseqa, .openbookqa:
            let stem = try r.string("question_stem") ?? r.require("question")
            let texts = r.object("choices")?.strings("text") ?? []
            let key = try r.require("answerKey")
            let fact = r.string("fact1").map { "Fact: \($0)\n" } ?? ""
            return ("\(fact)Question: \(stem)\n\(lettered(texts))", Self.letterInstruction, [key.trimmingSpaces.uppercased()], .choiceLetter)
        }
    }

    /// Loads a JSONL file of this set.
    public func load(path: String) throws -> EvalDataset {
        var contexts: [EvalContext] = []
        var index: [String: Int] = [:]
        for (line, fields) in try JSONLines.read(path) {
            let r = Record(fields: fields, path: path, line: line)
            let f = try format(r)
            let id = r.string("id") ?? r.string("query_id") ?? r.string("qid") ?? "\(rawValue)-\(line)"
            let q = EvalQuestion(id: id, question: f.question, references: f.references, maxNewTokens: maxNewTokens,
                                 task: rawValue, scorer: f.scorer)
            if let i = index[f.context] {
                contexts[i].questions.append(q)
            } else {
                index[f.context] = contexts.count
                contexts.append(EvalContext(id: id, context: f.context, questions: [q]))
            }
        }
        return EvalDataset(name: rawValue.replacingOccurrences(of: "-", with: ""), contexts: contexts, settings: ["file": path])
    }
}
