import COpenBLAS
import Foundation
import KVSystem

/// A loaded language model: its GGUF file, hyperparameters and forward pass.
///
/// Weights stay in the memory-mapped file. `forward(_:cache:hook:logits:)` calls are serialised
/// (they share one `ForwardScratch`); `forward(batch:scratch:)` runs on the caller's scratch, so a
/// batch of asks can run between the layers of a long prefill (`layerBoundary`). A `KVCache`
/// belongs to whoever created it.
public final class Model: @unchecked Sendable {
    /// The GGUF file the weights are mapped from.
    public let gguf: GGUFFile
    /// Hyperparameters.
    public let config: ModelConfig
    /// The vocabulary and its tokenization.
    public let tokenizer: Tokenizer
    /// The chat template from `tokenizer.chat_template`, or the reason it cannot be used.
    public let chatTemplate: Result<ChatTemplate, ChatTemplateError>
    /// Seconds spent opening and validating the model.
    public let loadSeconds: Double

    /// Called on the calling thread after each layer of every `forward(_:cache:hook:logits:)`
    /// (a long prefill, kvzip's scoring passes): a server steps its asks here, on their own
    /// scratch, so they keep streaming while a document loads. What it throws abandons the pass.
    /// Set it only around work on the thread that runs those forward calls.
    public var layerBoundary: (() throws -> Void)?

    private let decoder: Decoder
    private let scratch = ForwardScratch()
    private let lock = NSLock()

    /// Opens the model at `path`.
    /// - Throws: `GGUFError` naming the file and the problem.
    public init(path: String) throws {
        let start = ContinuousClock.now
        gguf = try GGUFFile(path: path)
        config = try ModelConfig(gguf: gguf)
        guard let family = Architecture.named(config.architecture) else {
            throw GGUFError(path: path, .unsupportedArchitecture(config.architecture))
        }
        decoder = try Decoder(gguf: gguf, config: config, architecture: family)
        tokenizer = try Tokenizer(gguf: gguf)
        do {
            chatTemplate = .success(try ChatTemplate(gguf: gguf))
        } catch let error as ChatTemplateError {
            chatTemplate = .failure(error)
        }
        BLAS.setThreadCount(1)  // kvd's pool splits the work; OpenBLAS's spinning threads would fight it
        loadSeconds = start.secondsElapsed
    }

    /// How kvpress's split builds context and question text: the chat template, or raw text for a
    /// base model without one. Throws when the model has a template kvd does not recognise.
    public func promptFormat() throws -> PromptFormat {
        switch chatTemplate {
        case .success(let template):
            return .chat(template)
        case .failure(.missingTemplate):
            return .raw(bos: tokenizer.addsBOS ? tokenizer.bosID.flatMap(tokenizer.tokenString) ?? "" : "")
        case .failure(let error):
            throw error
        }
    }

    /// Tokens that end an assistant turn: the tokenizer's end-of-sequence and end-of-turn tokens.
    public var stopTokens: Set<Int> { tokenizer.eotIDs.union(tokenizer.eosID.map { [$0] } ?? []) }

    /// The path the model was loaded from.
    public var path: String { gguf.path }

    /// An empty cache shaped for this model.
    /// - Parameter positions: how many positions the cache will hold at most (document, question
    ///   and answer); nil for the model's whole window. Decides LongRoPE's factors (Phi-3 128k).
    public func makeCache(storage: KVStorageType = .f16, positions: Int? = nil) -> KVCache {
        let cache = KVCache(layerCount: config.layerCount, headCountKV: config.headCountKV,
                            headDimension: config.headDimension, storage: storage)
        cache.longRoPE = config.usesLongRoPE(tokens: positions ?? config.contextLength)
        return cache
    }

    /// Drops from every sliding-window layer the entries no later token can attend to: all but
    /// those at the last `window − 1` positions before `cache.nextPosition`. After a context is
    /// loaded this is what Gemma 3's local layers need to keep; attention masks by position, so
    /// the answers do not change. Call it between forward passes, not inside a checkpointed ask
    /// (a rollback restores only appended entries).
    public func dropEntriesOutsideWindows(_ cache: KVCache) {
        for (l, heads) in cache.layers.enumerated() {
            guard let window = config.window(layer: l) else { continue }
            let oldest = cache.nextPosition - (window - 1)
            for head in heads {
                let first = (0..<head.count).first { head.position($0) >= oldest } ?? head.count
                guard first > 0 else { continue }
                head.keep(Array(first..<head.count))
                head.shrinkToFit()
            }
        }
    }

    /// Runs `tokens` through the model at positions `cache.nextPosition...`, appending their keys and values.
    ///
    /// - Parameters:
    ///   - tokens: token ids.
    ///   - cache: the cache to attend over and append to.
    ///   - hook: called after each layer's attention (see `LayerHook`).
    ///   - logits: which logits to return.
    /// - Returns: `[]`, the last token's `[V]` logits, or all `[T, V]`.
    /// - Throws: `ModelError` for empty input, unknown ids or a full context window; errors thrown by the hook.
    public func forward(_ tokens: [Int], cache: KVCache, hook: LayerHook? = nil, logits: LogitsRequest = .last) throws -> [Float] {
        lock.lock()
        defer { lock.unlock() }
        return try decoder.forward(tokens, cache: cache, hook: hook, logits: logits, scratch: scratch, betweenLayers: layerBoundary)
    }

    /// Bytes one decode token reads over `cache`: the weights (`Decoder.weightBytesPerToken`) and
    /// the keys and values its attention visits (on a sliding-window layer, only the window).
    /// Divided by the time of a token, the memory bandwidth a decode uses.
    public func bytesReadPerDecodeToken(cache: KVCache) -> Int {
        var kv = 0
        for (l, heads) in cache.layers.enumerated() {
            for head in heads where head.count > 0 {
                let visible = min(head.count, config.window(layer: l) ?? head.count)
                // Both layers of a merged pair read the shared directions of their merged entries.
                let shared = head.merged.map { $0.count * 2 * $0.directions.width * $0.directions.storage.elementBytes } ?? 0
                kv += (head.byteCount + shared) * visible / head.count
            }
        }
        return decoder.weightBytesPerToken + kv
    }

    /// Frees the scratch of `forward(_:cache:hook:logits:)`, which a long prefill grew to its
    /// size (hundreds of MB for thousands of tokens); the next call grows it again.
    public func releaseScratch() {
        lock.lock()
        defer { lock.unlock() }
        scratch.release()
    }

    /// Throws what makes `tokens` impossible to run on `cache` (`ModelError`): no tokens, an
    /// unknown id, or more than the context window holds.
    public func validate(_ tokens: [Int], cache: KVCache) throws {
        try decoder.validate(tokens, cache: cache)
    }

    /// Runs several sequences, each on its own cache, as one forward pass: each weight is read
    /// once for all the batch's rows; attention and hooks run per sequence on its own cache (a
    /// tail attends over its prefix too). Every sequence must pass `validate` first.
    ///
    /// - Parameter scratch: memory for the pass, which must not be in use by another call in flight
    ///   (this call is then not serialised with others); `nil` for the model's own, serialised
    ///   with `forward(_:cache:hook:logits:)`.
    /// - Returns: per sequence, its logits (as its `LogitsRequest` asks) or the error its hook threw;
    ///   a failing hook leaves the other sequences untouched.
    public func forward(batch: [BatchedSequence], scratch: ForwardScratch? = nil) throws -> [Result<[Float], Error>] {
        guard !batch.isEmpty else { return [] }
        if let scratch { return try decoder.forward(batch, scratch: scratch) }
        lock.lock()
        defer { lock.unlock() }
        return try decoder.forward(batch, scratch: self.scratch)
    }
}
