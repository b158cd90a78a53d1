import KVModel

/// Why a session could not be created or asked.
public enum SessionError: Error, CustomStringConvertible, Equatable {
    /// The document has no text.
    case emptyDocument
    /// The document (with room for a question and answer) does not fit the model's context window.
    case documentTooLong(tokens: Int, limit: Int)
    /// The question has no text.
    case emptyQuestion
    /// The question and answer would run past the model's context window.
    case questionTooLong(needed: Int, limit: Int)
    /// Generation settings out of range.
    case invalidParameters(String)
    /// The model has no usable chat template.
    case noChatTemplate(String)

    public var description: String {
        switch self {
        case .emptyDocument:
            return "the document is empty"
        case .documentTooLong(let tokens, let limit):
            return "the document is \(tokens) tokens but at most \(limit) fit the model's context window (room is kept for the question and answer); shorten it or split it into several sessions"
        case .emptyQuestion:
            return "the question is empty"
        case .questionTooLong(let needed, let limit):
            return "the question and answer need \(needed) positions after the document but only \(limit) remain in the context window; shorten the question or lower max_new_tokens"
        case .invalidParameters(let why):
            return why
        case .noChatTemplate(let why):
            return "the model cannot be used for questions: \(why)"
        }
    }
}
