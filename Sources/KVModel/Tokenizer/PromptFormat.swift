/// How a context and a question become model input, as kvpress's pipeline builds them: through
/// the model's chat template when it has one; for a base model without one, raw text (the BOS
/// token's text, when the vocabulary adds one, then the context; the question followed by `"\n"`).
public enum PromptFormat: Sendable {
    /// The model's chat template renders context and question.
    case chat(ChatTemplate)
    /// `bos` is the BOS token's text (empty when the vocabulary adds none); `encode` reads it back
    /// as the special token.
    case raw(bos: String)

    /// The context and question texts exactly as kvpress 0.5.5 splits them (see
    /// `ChatTemplate.kvpressPrompt`); tokenize both with `Tokenizer.encode`.
    public func kvpressPrompt(context: String, question: String, answerPrefix: String = "") throws
        -> (context: String, question: String) {
        switch self {
        case .chat(let template):
            return try template.kvpressPrompt(context: context, question: question, answerPrefix: answerPrefix)
        case .raw(let bos):
            return (bos + context, question + "\n" + answerPrefix)
        }
    }

    /// The text before a user's content and after it up to the answer (`ChatTemplate.userTurnAffixes`).
    public func userTurnAffixes() throws -> (prefix: String, suffix: String) {
        switch self {
        case .chat(let template): return try template.userTurnAffixes()
        case .raw(let bos): return (bos, "\n")
        }
    }
}
