/// Why a tokenizer could not be built from a model's metadata.
///
/// Every case's `description` is a sentence a user can act on.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A required `tokenizer.ggml.*` key is missing or has the wrong type.
    case missingMetadata(key: String)
    /// `tokenizer.ggml.model` names a tokenizer kind kvd cannot run (e.g. `bert`, WordPiece).
    case unsupportedModel(String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer kvd does not implement.
    case unsupportedPreTokenizer(String, supported: [String])
    /// The vocabulary arrays are inconsistent (lengths differ, special ids out of range, …).
    case invalidVocabulary(String)

    /// A sentence for the user naming the key or value at fault and what kvd supports.
    public var description: String {
        switch self {
        case .missingMetadata(let key):
            return "the model's tokenizer metadata is incomplete: key '\(key)' is missing or has the wrong type"
        case .unsupportedModel(let model):
            let kind: String
            switch model {
            case "bert": kind = " (WordPiece)"
            case "t5": kind = " (Unigram)"
            case "rwkv": kind = " (RWKV)"
            default: kind = ""
            }
            return "tokenizer.ggml.model '\(model)'\(kind) is not supported yet; kvd supports byte-level BPE "
                + "(tokenizer.ggml.model = 'gpt2', e.g. SmolLM2, Llama 3, Qwen2) and SentencePiece-style vocabularies "
                + "(tokenizer.ggml.model = 'llama', e.g. Gemma, Llama 2, Mistral)"
        case .unsupportedPreTokenizer(let name, let supported):
            return "pre-tokenizer '\(name)' (tokenizer.ggml.pre) is not supported; supported: "
                + supported.joined(separator: ", ")
        case .invalidVocabulary(let why):
            return "the model's tokenizer vocabulary is invalid: \(why)"
        }
    }
}
