/// Loads question-answer files in the two layouts `kvbench eval` accepts, auto-detected per line:
///
/// - **nested**: `{"id", "context", "questions": [{"question", "answer_prefix", "answer"}]}`,
///   several questions per context;
/// - **flat** (kvpress's dataset layout): `{"context", "question", "answer_prefix", "answer",
///   "max_new_tokens", "task"}`, one question per line; lines with the same context are grouped so
///   the context is compressed once (as kvpress's pipeline groups by context).
///
/// `answer` may be a string or a list (`answers` is read too, as LongBench names it). Each
/// question's scorer comes from `scorer(task, record)`.
public enum KVPressLayout {
    /// The contexts of a file; `scorer` chooses each question's scorer from its task and record.
    /// - Throws: `DatasetError` for unreadable files and records without context or question.
    public static func load(path: String, name: String,
                            scorer: (String, [String: Any]) -> AnswerScorer = { _, _ in .contains }) throws -> EvalDataset {
        var contexts: [EvalContext] = []
        var index: [String: Int] = [:]
        for (line, fields) in try JSONLines.read(path) {
            let r = Record(fields: fields, path: path, line: line)
            let context = try r.require("context")
            let contextID = r.string("id") ?? "c\(line)"
            if let items = fields["questions"] as? [[String: Any]] {
                let qs = try items.enumerated().map { j, q -> EvalQuestion in
                    let qr = Record(fields: q, path: path, line: line)
                    let task = qr.string("task") ?? r.string("task") ?? name
                    return EvalQuestion(id: qr.string("id") ?? "\(contextID)-\(j)", question: try qr.require("question"),
                                        answerPrefix: qr.string("answer_prefix") ?? "",
                                        references: qr.strings("answer") ?? qr.strings("answers") ?? [],
                                        maxNewTokens: qr.int("max_new_tokens"), task: task, scorer: scorer(task, q))
                }
                contexts.append(EvalContext(id: contextID, context: context, questions: qs))
                continue
            }
            let task = r.string("task") ?? name
            let q = EvalQuestion(id: r.string("id") ?? "q\(line)", question: try r.require("question"),
                                 answerPrefix: r.string("answer_prefix") ?? "",
                                 references: r.strings("answer") ?? r.strings("answers") ?? [],
                                 maxNewTokens: r.int("max_new_tokens"), task: task, scorer: scorer(task, fields))
            if let i = index[context] {
                contexts[i].questions.append(q)
            } else {
                index[context] = contexts.count
                contexts.append(EvalContext(id: contextID, context: context, questions: [q]))
            }
        }
        return EvalDataset(name: name, contexts: contexts, settings: ["file": path])
    }
}
