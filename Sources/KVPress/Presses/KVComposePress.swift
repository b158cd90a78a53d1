import KVModel

/// KVCompose (kvpress `KVComposePress`): attention-guided eviction whose per-layer budgets come
/// from composite tokens aligned across heads.
///
/// After the context is prefilled, one extra forward pass re-reads the whole context on top of it
/// (positions `T…2T−1`, rolled back afterwards). In every global layer, each query head's
/// attention on the `T` context entries is reduced over the pass's queries (`agg_task`: max or
/// mean; each query's softmax also covers the re-read's own earlier tokens, as in kvpress), then
/// over the query heads of each KV head (`agg_group`). `add_v_norm` multiplies an entry's score by
/// its value's L2 norm; `add_mean_across_heads` adds the layer's mean score over KV heads. Each
/// head ranks its entries by that score.
///
/// **Composite tokens** (`structured=true`). The `j`-th composite token of a layer is the tuple of
/// every KV head's `j`-th best entry; its score is `agg_head` over those heads' `j`-th best scores.
/// The first `keep_token_lower_bound` composite tokens of every layer get +1e9, and the first
/// scored layer's scores are raised to the maximum over layers (kvpress: "ensures first layer is the
/// largest"). The `Int(L·T·(1 − compression_ratio))` best composite tokens over all `L` scored
/// layers (ties: earlier layer, then better rank) give each layer its count `n_l`, and every head of
/// layer `l` keeps its own `n_l` best entries (ties: lower position). With `structured=false` the
/// heads' ranked scores compete directly (`Int(L·G·T·(1 − compression_ratio))` over all layers and
/// heads, the first `keep_token_lower_bound` of each head favoured), giving a count per head. As in
/// kvpress main, no count has a floor: at high ratios a layer (or head) can keep nothing.
///
/// **How a composite token maps onto kvd's cache.** kvpress rebuilds each layer as a dense
/// `[G, n_l, D]` tensor whose slot `i` holds, in head `g`, that head's `i`-th kept entry in position
/// order: different original tokens per head, each key still rotated at its own original position.
/// kvd's heads are ragged and record each entry's original position, so nothing is rewritten:
/// every head keeps (`HeadKVCache.keep`) its chosen entries with keys, values and positions
/// untouched, all heads of a layer hold `n_l` entries, and entry `i` across the heads is composite
/// token `i`. Later tokens continue after the original context length, as with every press. The
/// unstructured variant, which kvpress only simulates by masking, is a real per-head cache here.
///
/// **Differences from kvpress main** (`8bb29b9`): the local layers of an interleaved
/// sliding-window model (Gemma 3) are neither scored nor counted, as with every kvd press (kvpress
/// scores every layer); the re-read's entries always leave the cache (kvpress main leaves them
/// there with `structured=false`); `add_v_norm` uses the context's value norms (kvpress main
/// multiplies by the norms of all `2T` cached values, a shape error). A context that cannot be
/// re-read after itself within the model's window (or a sliding window) is refused.
///
/// Cost: one more prefill over the context, attending to twice its length, plus the scoring
/// attention (`PassAttention`) — about two to three prefills in all.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on KVCompose, https://arxiv.org/abs/2509.05165.
public final class KVComposePress: ContextPress, CatalogPress {
    public let arguments: PressArguments
    public let structured: Bool
    public var compressionRatio: Double
    public let taskAggregation: GQAScoreAggregation
    public let groupAggregation: GQAScoreAggregation
    public let headAggregation: GQAScoreAggregation
    public let addValueNorm: Bool
    public let addMeanAcrossHeads: Bool
    public let keepTokenLowerBound: Int

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        structured = arguments[.structured]
        compressionRatio = arguments[.compressionRatio]
        taskAggregation = arguments[.aggTask]
        groupAggregation = arguments[.aggGroup]
        headAggregation = arguments[.aggHead]
        addValueNorm = arguments[.addVNorm]
        addMeanAcrossHeads = arguments[.addMeanAcrossHeads]
        keepTokenLowerBound = arguments[.keepTokenLowerBound]
    }

    /// Keeps everything during the prefill; the work happens in `compress(contextIDs:cache:model:)`.
    public func compress(_ input: PressInput) throws {}

    public func compress(contextIDs: [Int], cache: KVCache, model: Model) throws -> Double? {
        guard compressionRatio > 0 else { return nil }
        let T = contextIDs.count, c = model.config, G = c.headCountKV
        let layers = (0..<c.layerCount).filter { !c.isLocalLayer($0) }
        if let error = rereadError(c, tokens: T, nextPosition: cache.nextPosition) { throw error }
        var scores = try passScores(contextIDs: contextIDs, cache: cache, model: model, layers: layers)
        for (i, l) in layers.enumerated() {
            if addValueNorm { Self.multiplyByValueNorms(&scores[i], heads: cache.layers[l], tokens: T) }
            if addMeanAcrossHeads { Self.addMeanAcrossHeads(&scores[i], headsKV: G, tokens: T) }
        }
        let kept = keptEntries(scores, headsKV: G, tokens: T)
        for (i, l) in layers.enumerated() {
            for g in 0..<G { cache.layers[l][g].keep(kept[i][g]) }
        }
        return nil
    }

    /// Why a model with `config` cannot re-read a context of `T` tokens (ending before
    /// `nextPosition`) after itself, seeing all of it from every global layer; `nil` when it can.
    func rereadError(_ c: ModelConfig, tokens T: Int, nextPosition: Int) -> PressError? {
        if nextPosition + T > c.contextLength {
            return .contextTooLong(press: name, tokens: T, limit: (c.contextLength - nextPosition + T) / 2)
        }
        let global = (0..<c.layerCount).filter { !c.isLocalLayer($0) }
        if let l = global.first(where: { (c.window(layer: $0) ?? .max) < nextPosition + T }) {
            return .unsupportedModel(press: name, reason: "layer \(l) attends through a window of "
                + "\(c.window(layer: l)!) positions, too few to re-read a context of \(T) tokens after itself")
        }
        return nil
    }

    /// Per scored layer, `[G, T]`: the attention each context entry gets during the re-read,
    /// reduced over the pass's queries (`agg_task`) and the query heads of its KV head (`agg_group`).
    func passScores(contextIDs: [Int], cache: KVCache, model: Model, layers: [Int]) throws -> [[Float]] {
        let hook = RereadHook(contextLength: contextIDs.count, task: taskAggregation, group: groupAggregation)
        let checkpoint = cache.checkpoint()
        defer { cache.rollback(to: checkpoint) }
        _ = try model.forward(contextIDs, cache: cache, hook: hook, logits: .none)
        return layers.map { hook.scores[$0] ?? [] }
    }

    /// Per scored layer (`scores[i]`, `[G, T]`, enhanced) and KV head, the entries kept, ascending.
    func keptEntries(_ scores: [[Float]], headsKV G: Int, tokens T: Int) -> [[[Int]]] {
        let counts = keptCounts(scores, headsKV: G, tokens: T)
        return scores.indices.map { TopK.perHead(scores[$0], heads: G, count: T, keep: counts[$0]) }
    }

    /// Per scored layer and KV head, how many entries it keeps (equal over a layer's heads when `structured`).
    func keptCounts(_ scores: [[Float]], headsKV G: Int, tokens T: Int) -> [[Int]] {
        let bound = min(keepTokenLowerBound, T)
        // Per layer, each head's scores in descending order: rank j of head g is the head's part of composite token j.
        let ranked = scores.map { layer in (0..<G).flatMap { g in layer[(g * T)..<((g + 1) * T)].sorted(by: >) } }
        if !structured {
            var rows = ranked.flatMap { layer in (0..<G).map { g in Array(layer[(g * T)..<((g + 1) * T)]) } }
            for r in rows.indices { for j in 0..<bound { rows[r][j] += 1e9 } }
            let counts = Self.bestCounts(rows, keep: Int(Double(scores.count * G * T) * (1 - compressionRatio)))
            return scores.indices.map { Array(counts[($0 * G)..<(($0 + 1) * G)]) }
        }
        var composite = ranked.map { headAggregation.aggregate($0, headCount: G, headCountKV: 1, count: T) }
        for l in composite.indices { for j in 0..<bound { composite[l][j] += 1e9 } }
        for l in composite.indices.dropFirst() { for j in 0..<T { composite[0][j] = max(composite[0][j], composite[l][j]) } }
        let counts = Self.bestCounts(composite, keep: Int(Double(scores.count * T) * (1 - compressionRatio)))
        return counts.map { [Int](repeating: $0, count: G) }
    }

    /// How many of the `keep` highest values over all `rows` each row holds (ties: earlier row,
    /// then earlier index, as a flattened top-k).
    static func bestCounts(_ rows: [[Float]], keep: Int) -> [Int] {
        var all: [(value: Float, row: Int, index: Int)] = []
        all.reserveCapacity(rows.reduce(0) { $0 + $1.count })
        for (r, row) in rows.enumerated() { for (i, v) in row.enumerated() { all.append((v, r, i)) } }
        all.sort { $0.value != $1.value ? $0.value > $1.value : ($0.row, $0.index) < ($1.row, $1.index) }
        var counts = [Int](repeating: 0, count: rows.count)
        for e in all.prefix(max(keep, 0)) { counts[e.row] += 1 }
        return counts
    }

    /// Multiplies every entry's score (`[G, T]`) by the L2 norm of its value in `heads`.
    static func multiplyByValueNorms(_ scores: inout [Float], heads: [HeadKVCache], tokens T: Int) {
        var v = [Float](repeating: 0, count: heads.first?.valueDimension ?? 0)
        for (g, head) in heads.enumerated() {
            for j in 0..<T {
                v.withUnsafeMutableBufferPointer { head.copyValue(j, into: $0.baseAddress!) }
                scores[g * T + j] *= v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            }
        }
    }

    /// Adds to every entry's score (`[G, T]`) the mean over the KV heads of that entry's scores.
    static func addMeanAcrossHeads(_ scores: inout [Float], headsKV G: Int, tokens T: Int) {
        for j in 0..<T {
            let mean = (0..<G).reduce(Float(0)) { $0 + scores[$1 * T + j] } / Float(G)
            for g in 0..<G { scores[g * T + j] += mean }
        }
    }
}

/// Records, during the re-read, each global layer's attention on the context entries.
private final class RereadHook: LayerHook {
    let contextLength: Int
    let task: GQAScoreAggregation
    let group: GQAScoreAggregation
    /// Per layer, `[G, T]`; `nil` for local layers.
    var scores: [[Float]?]

    init(contextLength: Int, task: GQAScoreAggregation, group: GQAScoreAggregation) {
        self.contextLength = contextLength
        self.task = task
        self.group = group
        scores = []
    }

    func afterAttention(_ o: AttentionObservation) throws {
        if scores.isEmpty { scores = Array(repeating: nil, count: o.config.layerCount) }
        guard !o.config.isLocalLayer(o.layer) else { return }
        let T = contextLength, G = o.cache.count, H = G * o.config.groupSize
        let (best, sum) = PassAttention.reduce(o, visible: Array(0..<T), columns: 0..<T, scale: o.config.attentionScale)
        let perQueryHead = task == .max ? best : sum.map { $0 / Float(o.tokenCount) }
        scores[o.layer] = group.aggregate(perQueryHead, headCount: H, headCountKV: G, count: T)
    }
}
