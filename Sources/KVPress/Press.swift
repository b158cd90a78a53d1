import KVModel

/// A KV cache compression method, applied to each layer during the context prefill.
///
/// `compress` decides, for every KV head of one layer, which context entries the cache keeps
/// (and may narrow keys or merge values). The question is never seen by a press. Names,
/// parameters and defaults follow NVIDIA kvpress 0.5.5; `description` is the press's spec string
/// with every parameter (`snapkv:compression_ratio=0.5,window_size=64,kernel_size=5`), which
/// `PressSpec.parse` reads back.
public protocol Press: AnyObject, CustomStringConvertible {
    /// The registry name (`snapkv`, `adakv`, …).
    var name: String { get }
    /// Inner presses of a wrapper, in spec order (empty for a plain press).
    var innerPresses: [Press] { get }
    /// Every parameter's current value as spec text, in catalog order.
    var parameterValues: [(String, String)] { get }
    /// Nominal fraction of the context's KV pairs removed.
    var compressionRatio: Double { get }
    /// What the press reads from the attention besides Q, K, V (e.g. `.columnSums`); by default
    /// the union over its inner presses. ``PressHook`` asks the model for it.
    var observes: AttentionOutputs { get }
    /// Compresses one layer's cache (`input.cache`) in place.
    /// - Throws: `PressError` when the context does not suit the press (e.g. shorter than its window).
    func compress(_ input: PressInput) throws
}

extension Press {
    public var innerPresses: [Press] { [] }
    public var observes: AttentionOutputs { innerPresses.reduce([]) { $0.union($1.observes) } }

    /// The spec string: `name(inner,…):key=value,…`.
    public var description: String {
        var s = name
        let inner = innerPresses
        if !inner.isEmpty { s += "(" + inner.map(\.description).joined(separator: ",") + ")" }
        let params = parameterValues
        if !params.isEmpty { s += ":" + params.map { "\($0.0)=\($0.1)" }.joined(separator: ",") }
        return s
    }
}

/// A press that scores every context entry per KV head and keeps the best.
///
/// Conformers give only `score`; the default `compress` keeps, per KV head, the
/// `Int(Double(T) * (1 - compressionRatio))` entries with the highest scores (kvpress's rule),
/// in ascending order, and frees the rest.
public protocol ScorerPress: Press {
    /// Fraction of the context's KV pairs removed, in `[0, 1)`.
    var compressionRatio: Double { get set }
    /// Importance of every entry: `[G, T]` row-major, higher = keep.
    func score(_ input: PressInput) throws -> [Float]
    /// How many recent queries it reads when it scores while generating (``DecodingLayer``
    /// remembers that many): `nil` for as many as the schedule's `query_buffer`, 0 for none.
    var recentQueriesRead: Int? { get }
}

extension ScorerPress {
    public var recentQueriesRead: Int? { nil }

    public func compress(_ input: PressInput) throws {
        guard compressionRatio > 0 else { return }
        let scores = try score(input)
        input.keep(TopK.perHead(scores, heads: input.headCountKV, count: input.tokenCount,
                                keep: keptCount(input.tokenCount)))
    }

    /// Entries kept per head out of `tokens`: `Int(Double(tokens) * (1 - compressionRatio))`.
    public func keptCount(_ tokens: Int) -> Int { Int(Double(tokens) * (1 - compressionRatio)) }
}

/// A press that decides only once the whole context is prefilled, over all layers at once
/// (`kvzip` runs extra forward passes that re-read the context).
///
/// During the prefill its per-layer `compress` keeps everything; ``PressHook/finish(_:contextIDs:)``
/// then calls `compress(contextIDs:cache:model:)` on the full cache.
public protocol ContextPress: Press {
    /// Compresses `cache`, which holds exactly the uncompressed context `contextIDs`.
    /// - Returns: the result's fidelity when the press measured it (``Reconstruction/fidelity(of:)``).
    /// - Throws: `PressError`, or `ModelError` from extra forward passes.
    func compress(contextIDs: [Int], cache: KVCache, model: Model) throws -> Double?
}
