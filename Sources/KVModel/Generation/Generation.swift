import KVSystem

/// The per-token half of one generation: what to run next, sampling, the stop rules, the
/// streamed text and the timings. Whoever runs the forward passes feeds it each step's logits:
/// `TokenIterator` (one sequence, its own forward calls) and kvd's asks (`SessionAsk`, many
/// sequences per `Model.forward(batch:)`), so both answer with the same tokens and text.
///
/// ```swift
/// var generation = Generation(prompt: ids, parameters: params, tokenizer: model.tokenizer)
/// while generation.end == nil {
///     var logits = try model.forward(generation.input, cache: cache, logits: .last)
///     print(generation.take(&logits, seconds: 0).text, terminator: "")
/// }
/// print(generation.flush())
/// ```
public struct Generation {
    /// Why a generation ended on its own.
    public enum End: Sendable, Equatable {
        /// A stop token (end of sequence, end of turn) was emitted; it is the last token.
        case stopToken
        /// `maxNewTokens` were generated.
        case maxNewTokens
    }

    /// Length limit, sampling and stop tokens.
    public let parameters: GenerateParameters
    /// Tokens generated so far (a stop token included).
    public private(set) var tokens: [Int] = []
    /// The text of `tokens` so far, special tokens skipped (bytes of an incomplete UTF-8
    /// character wait for the next token or `flush()`).
    public private(set) var text = ""
    /// Why the generation ended, once it has; `nil` while it goes on.
    public private(set) var end: End?
    /// Timings so far (prefill and decode seconds are those passed to `take`).
    public private(set) var timings = GenerationTimings()
    /// Tokens to run next: the prompt before the first token, then the last token.
    public private(set) var input: [Int]

    private var sampler: Sampler
    private var history: [Int]
    private var detokenizer: StreamingDetokenizer
    private let start = ContinuousClock.now

    /// - Parameters:
    ///   - prompt: tokens run before the first new token (the repetition penalty sees them too).
    ///   - parameters: used as given (an empty `stopTokens` stops only at `maxNewTokens`).
    ///   - tokenizer: turns the tokens into `text`.
    public init(prompt: [Int], parameters: GenerateParameters, tokenizer: Tokenizer) {
        self.parameters = parameters
        input = prompt
        history = prompt
        sampler = Sampler(parameters.sampling)
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: true)
        if parameters.maxNewTokens <= 0 { end = .maxNewTokens }
    }

    /// Takes the logits of the step that ran `input`: samples the next token, detokenizes it and
    /// applies the stop rules.
    /// - Parameters:
    ///   - logits: `[V]` logits of `input`'s last token (changed by the repetition penalty).
    ///   - seconds: how long the step took (prefill for the first token, decode after).
    /// - Returns: the token and the text it completes (empty while a UTF-8 character is incomplete).
    public mutating func take(_ logits: inout [Float], seconds: Double) -> GeneratedPiece {
        if tokens.isEmpty {
            timings.promptTokens = input.count
            timings.prefillSeconds = seconds
        } else {
            timings.decodeSeconds += seconds
        }
        let token = sampler.sample(&logits, history: history)
        tokens.append(token)
        history.append(token)
        input = [token]
        timings.generatedTokens = tokens.count
        if tokens.count == 1 { timings.timeToFirstTokenSeconds = start.secondsElapsed }
        let piece = detokenizer.append(token)
        text += piece
        if parameters.stopTokens.contains(token) {
            end = .stopToken
        } else if tokens.count >= parameters.maxNewTokens {
            end = .maxNewTokens
        }
        return GeneratedPiece(tokenID: token, text: piece)
    }

    /// Ends the text: the bytes still waiting for the rest of a UTF-8 character, decoded as
    /// they are (also added to `text`). Call once, when the generation has ended or is stopped.
    public mutating func flush() -> String {
        let tail = detokenizer.flush()
        text += tail
        return tail
    }
}

/// One streamed step of a generation.
public struct GeneratedPiece: Sendable, Equatable {
    /// The token generated, or `nil` for a final flush of leftover bytes.
    public let tokenID: Int?
    /// Text completed by this step (may be empty while a UTF-8 character is incomplete).
    public let text: String

    public init(tokenID: Int?, text: String) {
        self.tokenID = tokenID
        self.text = text
    }
}
