import Foundation
import KVMetrics
import KVModel
import KVPress
import KVSystem
import KVWire

/// A compressed context: a document prefilled once, its KV cache pressed, ready to answer any
/// number of questions.
///
/// The prompt is split exactly as kvpress's pipeline splits it: the context part is the chat
/// template's opening of a user turn followed by the document; the question part is the question,
/// the end of the user turn, the opening of the assistant turn and an optional answer prefix
/// (a base model without a template: BOS and the document; the question, `"\n"` and the prefix).
/// The press sees only the context. Question and answer tokens take positions after the ORIGINAL
/// context length, in the ask's private tail (`SessionAsk`): the compressed context is never
/// changed, so every ask starts from the same state and many can run at once.
///
/// Lifecycle:
/// ```
/// load(...) ──▶ ready ──startAsk()──▶ answering (one or more asks in flight) ──(all ended)──▶ ready
/// ```
/// `ask` answers one question on the calling thread; `startAsk` + `AskBatch.step` answer many
/// (on any sessions) in shared forward passes.
public final class Session: @unchecked Sendable {
    /// Where a session is in its lifecycle.
    public enum State: String, Sendable {
        /// Holding its compressed context, idle.
        case ready
        /// Answering one or more questions (each in its own tail).
        case answering
    }

    /// The session's id.
    public let id: SessionID
    /// The model the context was computed with.
    public let model: Model
    /// The compressed context (read-only once loaded: asks append to their own tails).
    public let cache: KVCache
    /// The press's full spec with every parameter (`none` when uncompressed).
    public let pressSpec: String
    /// The press's nominal compression ratio (0 when uncompressed).
    public let compressionRatio: Double
    /// What loading cost.
    public let loadMetrics: Metrics
    /// Token ids of the context part, kept so the session can be saved and verified.
    public let contextTokenIDs: [Int]
    /// Whether the context ends with the question it was compressed for (kvpress's query-aware
    /// mode, `load(question:)`): an ask may then leave its question empty to answer that one.
    public let questionInContext: Bool

    /// Current lifecycle state.
    public var state: State { lock.withLock { inFlight > 0 ? .answering : .ready } }
    /// Questions answered so far (asks that ended, however they ended).
    public var askCount: Int { lock.withLock { asks } }

    private let lock = NSLock()
    private var inFlight = 0
    private var asks = 0

    /// Positions kept free after the document for the question and answer.
    public static let reservedPositions = 512

    /// Creates a session from an already computed cache (used by `load` and by persistence).
    public init(id: SessionID, model: Model, cache: KVCache, contextTokenIDs: [Int], pressSpec: String,
                compressionRatio: Double, loadMetrics: Metrics, questionInContext: Bool = false) {
        self.id = id
        self.questionInContext = questionInContext
        self.model = model
        self.cache = cache
        self.contextTokenIDs = contextTokenIDs
        self.pressSpec = pressSpec
        self.compressionRatio = compressionRatio
        self.loadMetrics = loadMetrics
    }

    /// The text compressed for `document` and, in kvpress's query-aware mode, the `question` it is
    /// compressed for: kvpress appends the question to the context (`context + question`).
    public static func contextText(document: String, question: String?) -> String {
        document + (question ?? "")
    }

    /// The context part of kvpress's split for `document`, as token ids.
    public static func contextTokens(model: Model, document: String) throws -> [Int] {
        model.tokenizer.encode(try promptFormat(model).kvpressPrompt(context: document, question: "").context)
    }

    /// The context tokens of `document` once checked: not empty, and within the model's context
    /// window with room for a question and answer. Tokenizing is cheap next to a prefill, so
    /// callers use this to size a load before doing anything costly.
    /// - Throws: `SessionError.emptyDocument` or `.documentTooLong`.
    public static func loadableTokens(model: Model, document: String) throws -> [Int] {
        guard !document.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw SessionError.emptyDocument }
        let ids = try contextTokens(model: model, document: document)
        let limit = model.config.contextLength - reservedPositions
        guard ids.count <= limit else { throw SessionError.documentTooLong(tokens: ids.count, limit: limit) }
        return ids
    }

    /// An empty cache for a context of `contextTokens` tokens plus the question and answer
    /// positions reserved after it (sized so LongRoPE picks its factors once, at load and restore alike).
    public static func makeCache(model: Model, storage: KVStorageType, contextTokens: Int) -> KVCache {
        model.makeCache(storage: storage, positions: contextTokens + reservedPositions)
    }

    /// The model's prompt format (chat template, or raw text for a base model).
    static func promptFormat(_ model: Model) throws -> PromptFormat {
        do { return try model.promptFormat() } catch { throw SessionError.noChatTemplate("\(error)") }
    }

    /// Prefills `document`, compresses its cache with `press`, then quantizes what it kept.
    ///
    /// - Parameters:
    ///   - question: compresses the document together with this question (kvpress's query-aware
    ///     mode); an ask with an empty question then answers it.
    ///   - press: the press to apply, or `nil` to keep everything.
    ///   - storage: element type of the cache (and of a quantized cache's residual window).
    ///   - quantization: stores the kept keys and values in 8/4/2 bits after the press
    ///     (`KVCache.quantize`), or `nil` for full precision. Its time counts as compression.
    ///   - interrupt: called between layers of the prefill and between its stages; what it throws
    ///     abandons the load, which keeps nothing.
    /// - Throws: `SessionError` for an empty or too long document, `PressError` from the press,
    ///   `ModelError` from the forward pass.
    public static func load(id: SessionID, model: Model, document: String, question: String? = nil, press: Press?,
                            storage: KVStorageType = .f16, quantization: KVCacheQuantization? = nil,
                            interrupt: @escaping () throws -> Void = {}) throws -> Session {
        if let question, question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw SessionError.emptyQuestion }
        let ids = try loadableTokens(model: model, document: contextText(document: document, question: question))
        try quantization?.validate(headDimension: model.config.headDimension)
        let cache = makeCache(model: model, storage: storage, contextTokens: ids.count)
        let hook = press.map { PressHook($0, model: model) }
        let start = ContinuousClock.now
        try interrupt()
        _ = try model.forward(ids, cache: cache, hook: InterruptibleHook(hook, interrupt: interrupt), logits: .none)
        try interrupt()
        // Presses that decide after the prefill (kvzip) run here; re-rotating presses move the next position.
        try hook?.finish(cache, contextIDs: ids)
        // Sliding-window layers keep their window (Gemma 3's local layers), press or not.
        model.dropEntriesOutsideWindows(cache)
        let quantizeStart = ContinuousClock.now
        try interrupt()
        if let quantization { try cache.quantize(quantization) }
        let quantize = quantization == nil ? 0 : quantizeStart.secondsElapsed
        let total = start.secondsElapsed
        let compress = (hook?.compressionSeconds ?? 0) + quantize
        return Session(id: id, model: model, cache: cache, contextTokenIDs: ids,
                       pressSpec: press?.description ?? PressSpec.none, compressionRatio: press?.compressionRatio ?? 0,
                       loadMetrics: loadMetrics(cache, contextTokens: ids.count, prefillSeconds: total - compress,
                                                compressSeconds: compress, fidelity: hook == nil ? 1 : hook?.fidelity),
                       questionInContext: question != nil)
    }

    /// What loading `contextTokens` tokens into `cache` cost and left in it; `fidelity` is the
    /// press's (`PressHook.fidelity`, `nil` when it measured none), 1 without a press.
    public static func loadMetrics(_ cache: KVCache, contextTokens: Int, prefillSeconds: Double,
                                   compressSeconds: Double, fidelity: Double?) -> Metrics {
        var m = Metrics()
        m.fidelity = fidelity ?? 0
        let slots = cache.layers.reduce(0) { $0 + $1.count } * contextTokens
        m.achievedRatio = slots == 0 ? 0 : max(0, 1 - Double(cache.entryCount) / Double(slots))
        m.contextTokens = contextTokens
        m.keptTokens = cache.meanEntriesPerHead
        m.prefillMs = prefillSeconds * 1000
        m.compressMs = compressSeconds * 1000
        m.kvBytes = cache.byteCount
        m.kvBytesUncompressed = cache.uncompressedByteCount(tokens: contextTokens)
        return m
    }

    /// Starts answering `question` against the compressed context; `AskBatch.step` runs it.
    ///
    /// The ask gets a private tail over the context (`KVCache.tail()`). With an active `decoding`
    /// press it gets a copy instead (`KVCache.copy()`): decoding compression evicts context entries
    /// too. Either way the session's context is never changed.
    ///
    /// - Parameters:
    ///   - question: the question; empty only on a session loaded with its question (`questionInContext`).
    ///   - answerPrefix: text the answer is forced to start with (kvpress's `answer_prefix`).
    ///   - parameters: token budget and sampling; stop tokens default to the model's end-of-turn tokens.
    ///   - decoding: compression while generating (`DecodingSpec.parse`), or `nil`; a press
    ///     with budget 0 does nothing.
    ///   - shouldStop: polled before every step; return `.cancelled`/`.deadline` to stop early.
    ///   - onToken: called with each generated piece: a token id and the text it completes (empty
    ///     while a UTF-8 character is incomplete); a last piece without id flushes leftover bytes.
    /// - Throws: `SessionError` for an empty question, bad parameters or too little room left.
    public func startAsk(question: String, answerPrefix: String = "", parameters: GenerateParameters,
                         decoding: DecodingPress? = nil,
                         shouldStop: @escaping () -> FinishReason? = { nil },
                         onToken: @escaping (GeneratedPiece) -> Void = { _ in }) throws -> SessionAsk {
        guard questionInContext || !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw SessionError.emptyQuestion
        }
        if let problem = parameters.sampling.validationError { throw SessionError.invalidParameters(problem) }
        guard parameters.maxNewTokens >= 1 else { throw SessionError.invalidParameters("max_new_tokens must be at least 1") }
        // The question part does not depend on the document; any context reproduces the split.
        let part = try Self.promptFormat(model).kvpressPrompt(context: "kvd", question: question, answerPrefix: answerPrefix).question
        let ids = model.tokenizer.encode(part)
        let free = model.config.contextLength - cache.nextPosition
        guard ids.count + parameters.maxNewTokens <= free else {
            throw SessionError.questionTooLong(needed: ids.count + parameters.maxNewTokens, limit: free)
        }
        lock.withLock { inFlight += 1 }
        return SessionAsk(session: self, questionIDs: ids, parameters: parameters, decoding: decoding,
                          shouldStop: shouldStop, onToken: onToken)
    }

    /// Called once by each ask when it ends.
    func askEnded() {
        lock.withLock { inFlight -= 1; asks += 1 }
    }

    /// Answers `question` against the compressed context on the calling thread (`startAsk`, then
    /// steps until the answer is done).
    /// - Returns: the answer, its timings and counters.
    public func ask(question: String, answerPrefix: String = "", parameters: GenerateParameters,
                    decoding: DecodingPress? = nil,
                    shouldStop: @escaping () -> FinishReason? = { nil },
                    onToken: @escaping (GeneratedPiece) -> Void = { _ in }) throws -> AskReport {
        let ask = try startAsk(question: question, answerPrefix: answerPrefix, parameters: parameters, decoding: decoding,
                               shouldStop: shouldStop, onToken: onToken)
        while !ask.isFinished { AskBatch.step([ask]) }
        return try ask.report()
    }
}

