/// Why a forward pass or generation was refused.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// The tokens would run past the model's context window.
    case contextOverflow(needed: Int, limit: Int)
    /// A token id outside the vocabulary.
    case invalidToken(Int, vocabularySize: Int)
    /// Nothing to process.
    case emptyInput

    /// A sentence for the user saying what was refused and, for an overflow, by how much.
    public var description: String {
        switch self {
        case .contextOverflow(let needed, let limit):
            return "the input needs \(needed) positions but the model's context window is \(limit) tokens; shorten the document or question"
        case .invalidToken(let id, let size):
            return "token id \(id) is outside the vocabulary (0..<\(size))"
        case .emptyInput:
            return "there are no tokens to process"
        }
    }
}
