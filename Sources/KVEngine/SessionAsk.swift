import KVMetrics
import KVModel
import KVPress
import KVWire
import KVSystem

/// One question being answered against a session's compressed context, a step at a time.
///
/// Each ask owns a private cache: a tail over the session's context (`KVCache.tail()`), or a copy
/// of it when decoding compression is on (that evicts context entries too). The session's cache
/// is never changed, so any number of asks on one session run at once, in one batch, and answer
/// exactly as they would one by one. `AskBatch.step` moves many asks (of any sessions of one or
/// more models) forward together: an ask's first step prefills its question part and samples the
/// first token; each later step decodes one more.
///
/// Lifecycle: `Session.startAsk` ──▶ steps ──▶ finished (stop token, token budget, `stop`, or an
/// error) ──▶ `report()`.
public final class SessionAsk {
    /// The session asked.
    public let session: Session
    /// Tokens of the question part (question, end of turn, assistant start, answer prefix).
    public let questionTokens: Int
    /// Tokens generated so far.
    public var tokens: [Int] { generation.tokens }
    /// The answer text so far.
    public var answer: String { generation.text }
    /// Why the ask ended, once it has.
    public private(set) var finishReason: FinishReason?
    /// Whether the ask has ended (answered, stopped or failed); finished asks are skipped by `AskBatch.step`.
    public var isFinished: Bool { finishReason != nil || failure != nil }

    /// The ask's own cache: a tail over the session's context, or a copy of it.
    let cache: KVCache
    let compressor: DecodingCompressor?
    private let shouldStop: () -> FinishReason?
    private let onToken: (GeneratedPiece) -> Void
    /// Sampling, stop rules, the answer text and the prefill/decode timings (`TokenIterator`'s too).
    private var generation: Generation
    private var failure: Error?
    private let keptTokens: Int
    private let bytesBefore: Int

    private let created = ContinuousClock.now
    private var queueSeconds: Double?
    private var steps = 0
    private var batchSizes = 0

    init(session: Session, questionIDs: [Int], parameters: GenerateParameters, decoding: DecodingPress?,
         shouldStop: @escaping () -> FinishReason?, onToken: @escaping (GeneratedPiece) -> Void) {
        self.session = session
        questionTokens = questionIDs.count
        var params = parameters
        if params.stopTokens.isEmpty { params.stopTokens = session.model.stopTokens }
        self.shouldStop = shouldStop
        self.onToken = onToken
        generation = Generation(prompt: questionIDs, parameters: params, tokenizer: session.model.tokenizer)
        compressor = decoding.flatMap { $0.isActive ? DecodingCompressor($0) : nil }
        cache = compressor == nil ? session.cache.tail() : session.cache.copy()
        keptTokens = session.cache.meanEntriesPerHead
        bytesBefore = session.cache.byteCount
    }

    /// Ends the ask before its next step (its answer so far stands).
    public func stop(_ reason: FinishReason) {
        guard !isFinished else { return }
        finish(reason)
    }

    /// The answer, its timings and counters.
    /// - Throws: what failed the ask (a forward-pass or decoding-compression error).
    public func report() throws -> AskReport {
        if let failure { throw failure }
        let compression = compressor?.compressionSeconds ?? 0
        // Compression runs inside decode steps; decode time excludes it.
        var timings = generation.timings
        timings.decodeSeconds = max(0, timings.decodeSeconds - compression)
        var m = Metrics()
        m.contextTokens = session.loadMetrics.contextTokens
        m.keptTokens = keptTokens
        m.questionTokens = questionTokens
        m.generatedTokens = tokens.count
        m.prefillMs = timings.prefillSeconds * 1000
        m.ttftMs = timings.timeToFirstTokenSeconds * 1000
        m.decodeMs = timings.decodeSeconds * 1000
        m.decodeTokS = timings.decodeTokensPerSecond
        m.kvBytes = cache.byteCount + (cache.prefix?.byteCount ?? 0)
        m.kvBytesUncompressed = session.loadMetrics.kvBytesUncompressed
        m.fidelity = session.loadMetrics.fidelity
        m.achievedRatio = session.loadMetrics.achievedRatio
        m.kvBytesBefore = bytesBefore
        m.decodingCompressions = compressor?.compressions ?? 0
        m.decodingCompressMs = compression * 1000
        m.finalCacheTokens = cache.meanEntriesPerHead + (cache.prefix?.meanEntriesPerHead ?? 0)
        m.peakRssBytes = ResourceUsage.peakRSSBytes
        m.queueMs = (queueSeconds ?? 0) * 1000
        m.meanBatchSize = steps == 0 ? 0 : Double(batchSizes) / Double(steps)
        return AskReport(answer: answer, tokenIDs: tokens, finishReason: finishReason ?? .cancelled, metrics: m)
    }

    /// Whether the ask's next step is its question prompt (rather than one decoded token).
    public var isPrompting: Bool { tokens.isEmpty }

    /// Rows the ask adds to the next step.
    public var nextRows: Int { generation.input.count }

    /// Polls `shouldStop` and returns the ask's share of the next step, or `nil` when it has ended.
    func nextStep() -> BatchedSequence? {
        guard !isFinished else { return nil }
        if let reason = shouldStop() { finish(reason); return nil }
        if queueSeconds == nil { queueSeconds = created.secondsElapsed }
        do {
            try session.model.validate(generation.input, cache: cache)
        } catch {
            fail(error)
            return nil
        }
        return BatchedSequence(tokens: generation.input, cache: cache, hook: compressor, logits: .last)
    }

    /// Takes the result of the step the ask took part in: samples and streams the next token.
    func finishStep(_ result: Result<[Float], Error>, seconds: Double, batchSize: Int) {
        steps += 1
        batchSizes += batchSize
        var logits: [Float]
        switch result {
        case .failure(let error): fail(error); return
        case .success(let l): logits = l
        }
        onToken(generation.take(&logits, seconds: seconds))
        switch generation.end {
        case .stopToken: finish(.eos)
        case .maxNewTokens: finish(.maxNewTokens)
        case nil: break
        }
    }

    private func fail(_ error: Error) {
        failure = error
        session.askEnded()
    }

    private func finish(_ reason: FinishReason) {
        finishReason = reason
        let tail = generation.flush()
        if !tail.isEmpty { onToken(GeneratedPiece(tokenID: nil, text: tail)) }
        session.askEnded()
    }
}
