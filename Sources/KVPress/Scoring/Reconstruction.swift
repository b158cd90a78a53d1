import KVModel

/// What the model's attention says about every context entry while it repeats the context
/// (KVzip's reconstruction passes), for the presses that decide after the prefill.
///
/// For each chunk of `chunkSize` context tokens, one extra forward pass runs over
/// `"\n\nRepeat the previous context exactly."` (later chunks: `"…, starting with"` plus the
/// previous chunk's last 8 tokens), the template's end of user turn and assistant opening, then
/// the chunk itself, on top of the full context cache. In every global layer each query of that
/// pass attends (causally, softmax over the keys below only) to the first `nSink` context entries,
/// the chunk's own context entries and the pass's tokens. Two figures per entry and KV head:
/// - `scores`: the MAX attention the entry receives over the pass's queries and the query heads of
///   its KV head (KVzip's score; the first `nSink` entries score 1, the template prefix 0);
/// - `mass`: the SUM of that attention, so `Σ mass` over kept entries / `Σ mass` over all entries
///   is the share of the reconstruction's attention on the chunk being repeated that a compressed
///   cache still holds: its fidelity (``fidelity(of:)``).
///
/// A window-attention fidelity (what the context's last queries attend to) was tried first and
/// rejected: on RULER-style documents it read 0.95 for sessions that had lost every fact.
///
/// The extra passes are rolled back: the cache ends as it started.
/// Cost: about as many tokens as the context, each attending to the whole context, plus the
/// scoring attention — roughly one to two more prefills.
public struct Reconstruction {
    /// `[L][G·T]`: KVzip's max-attention scores (zero in local layers).
    public var scores: [[Float]]
    /// `[L][G·T]`: attention summed over the pass's queries and the group's query heads.
    public var mass: [[Float]]
    /// The global (not sliding-window) layers, the only ones scored.
    public let layers: [Int]
    /// Context tokens, `T`.
    public let tokenCount: Int

    /// Figures computed elsewhere (tests).
    init(scores: [[Float]], mass: [[Float]], layers: [Int], tokenCount: Int) {
        self.scores = scores
        self.mass = mass
        self.layers = layers
        self.tokenCount = tokenCount
    }

    /// Runs the passes over `cache`, which holds exactly the uncompressed context `contextIDs`.
    /// - Throws: `ModelError` from the forward passes.
    public init(contextIDs: [Int], cache: KVCache, model: Model, nSink: Int, chunkSize: Int) throws {
        let T = contextIDs.count, c = model.config
        let L = c.layerCount, G = c.headCountKV
        let tokenizer = model.tokenizer
        var prefixLength = 0
        var suffix = tokenizer.encode("\n")
        if let affixes = try? model.promptFormat().userTurnAffixes() {
            prefixLength = min(tokenizer.encode(affixes.prefix).count, T)
            suffix = tokenizer.encode(affixes.suffix)
        }
        layers = (0..<L).filter { !c.isLocalLayer($0) }
        tokenCount = T
        let hook = ReconstructionHook(contextLength: T, layers: L, headsKV: G)
        for l in layers { for g in 0..<G { for j in 0..<min(nSink, T) { hook.scores[l][g * T + j] = 1 } } }
        let checkpoint = cache.checkpoint()
        defer { cache.rollback(to: checkpoint) }
        var start = prefixLength
        var previous: ArraySlice<Int> = []
        while start < T {
            let end = min(start + chunkSize, T)
            let chunk = contextIDs[start..<end]
            var prompt = previous.isEmpty
                ? tokenizer.encode("\n\nRepeat the previous context exactly.")
                : tokenizer.encode("\n\nRepeat the part of the previous context exactly, starting with") + previous.suffix(8)
            prompt += suffix
            hook.chunk = start..<end
            hook.sinks = min(nSink, start)
            _ = try model.forward(prompt + Array(chunk), cache: cache, hook: hook, logits: .none)
            cache.rollback(to: checkpoint)
            previous = chunk
            start = end
        }
        scores = hook.scores
        mass = hook.mass
    }

    /// The fidelity of `cache` once compressed, in `[0, 1]`: the share of `mass` (over the scored
    /// layers and heads) that its heads' kept positions hold; 1 when nothing was lost.
    public func fidelity(of cache: KVCache) -> Double {
        fidelity { l, g in cache.layers[l][g].positions }
    }

    /// The fidelity of keeping, in layer `l` and KV head `g`, the context positions `kept(l, g)`.
    public func fidelity(keeping kept: (Int, Int) -> [Int]) -> Double {
        let T = tokenCount, G = mass.first.map { $0.count / max(T, 1) } ?? 0
        var held = 0.0, total = 0.0
        for l in layers {
            for g in 0..<G {
                for j in 0..<T { total += Double(mass[l][g * T + j]) }
                for p in kept(l, g) where p >= 0 && p < T { held += Double(mass[l][g * T + p]) }
            }
        }
        return total > 0 ? min(held / total, 1) : 1
    }
}

/// Scores one chunk during a repeat pass: attention of the pass's queries on the chunk's entries.
private final class ReconstructionHook: LayerHook {
    var chunk = 0..<0
    var sinks = 0
    let contextLength: Int
    var scores: [[Float]]
    var mass: [[Float]]

    init(contextLength: Int, layers: Int, headsKV: Int) {
        self.contextLength = contextLength
        scores = [[Float]](repeating: [Float](repeating: 0, count: headsKV * contextLength), count: layers)
        mass = scores
    }

    func afterAttention(_ o: AttentionObservation) throws {
        guard !o.config.isLocalLayer(o.layer) else { return }
        let group = o.config.groupSize, T = contextLength, G = o.cache.count, n = chunk.count
        // Per query head: the max and the sum of each chunk entry's attention over the pass's queries,
        // which see the sinks, the chunk's entries and the pass's own tokens.
        let visible: [Int] = Array(0..<sinks) + Array(chunk)
        let scale: Float = 1 / Float(o.config.headDimension).squareRoot()
        let (best, sum) = PassAttention.reduce(o, visible: visible, columns: sinks..<(sinks + n), scale: scale)
        for g in 0..<G {
            for (i, j) in chunk.enumerated() {
                var top: Float = 0, total: Float = 0
                for h in (g * group)..<((g + 1) * group) {
                    top = max(top, best[h * n + i])
                    total += sum[h * n + i]
                }
                scores[o.layer][g * T + j] = top
                mass[o.layer][g * T + j] = total
            }
        }
    }
}
