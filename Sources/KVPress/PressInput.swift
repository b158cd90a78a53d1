import KVModel

/// Sizes a press needs to read one layer's tensors.
public struct PressGeometry: Sendable, Equatable {
    /// Index of the layer being compressed (0-based).
    public var layer: Int
    /// Number of layers of the model.
    public var layerCount: Int
    /// Query heads, `H`.
    public var headCount: Int
    /// KV heads, `G`.
    public var headCountKV: Int
    /// Width of one head, `D`.
    public var headDimension: Int
    /// Width of the residual stream, `d`.
    public var embeddingLength: Int
    /// The layer's rotary embedding (its channel-pair layout, base, scale).
    public var rope: RoPE
    /// Index in the layer of this input's first KV head: 0, except for the one-head inputs a
    /// decoding press scores (so seeded scorers draw differently per head).
    public var firstHeadKV = 0

    public init(layer: Int, layerCount: Int, headCount: Int, headCountKV: Int, headDimension: Int,
                embeddingLength: Int, ropeFrequencyBase: Float = 10_000, ropeDimensionCount: Int? = nil, ropeScale: Float = 1,
                ropeStyle: RoPE.Style = .interleaved) {
        self.layer = layer
        self.layerCount = layerCount
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.headDimension = headDimension
        self.embeddingLength = embeddingLength
        rope = RoPE(headDimension: headDimension, dimensionCount: ropeDimensionCount ?? headDimension,
                    base: ropeFrequencyBase, scale: ropeScale, style: ropeStyle)
    }

    /// The geometry of `layer` of a model with `config`.
    public init(config c: ModelConfig, layer: Int) {
        self.init(layer: layer, layerCount: c.layerCount, headCount: c.headCount, headCountKV: c.headCountKV,
                  headDimension: c.headDimension, embeddingLength: c.embeddingLength)
        rope = c.rope(layer: layer)
    }

    /// Query heads per KV head.
    public var groupSize: Int { headCount / headCountKV }

    /// Leading channels of each head that RoPE rotates.
    public var ropeDimensionCount: Int { rope.dimensionCount }
}

/// What a press sees of one layer during the context prefill.
///
/// Shapes (`T = tokenCount`, `d = embeddingLength`, `H = headCount`, `G = headCountKV`, `D = headDimension`):
/// `hidden` `[T, d]` (attention input after RMSNorm), `queries` `[H, T, D]` and `keys` `[G, T, D]` after RoPE,
/// `values` `[G, T, D]`. Row `t` is the token at position `firstPosition + t`. Queries and keys use the
/// GGUF channel layout (for the llama architecture RoPE on adjacent pairs, which differs from
/// Hugging Face's by a fixed permutation inside each head, so every score a press computes is the same). In a view of
/// consecutive rows (`rows(_:)` with a range) the heads sit `headRows` rows apart instead of `T`:
/// read rows through `query`, `key` and `value`.
///
/// `cache[g]` is the layer's KV head `g`, holding exactly these `T` entries; a press shrinks it with
/// `HeadKVCache.keep`. Buffers are valid only during `Press.compress`.
public final class PressInput {
    /// Layer and model sizes.
    public let geometry: PressGeometry
    /// Number of tokens, `T`.
    public let tokenCount: Int
    /// Position of row 0.
    public let firstPosition: Int
    /// `[T, d]`.
    public let hidden: UnsafePointer<Float>
    /// `[H, T, D]`, after RoPE.
    public let queries: UnsafePointer<Float>
    /// `[G, T, D]`, after RoPE.
    public let keys: UnsafePointer<Float>
    /// `[G, T, D]`.
    public let values: UnsafePointer<Float>
    /// Rows between consecutive heads in `queries`, `keys` and `values`: `tokenCount`, except in a
    /// view of consecutive rows (`rows(_:)` with a range), whose heads sit inside the parent's.
    /// Head `h`'s rows are contiguous from `queries + h · headRows · D`.
    public let headRows: Int
    /// The layer's heads.
    public let cache: [HeadKVCache]
    /// The model, for presses that read weights (`criticalkv`); `nil` in synthetic tests.
    public let model: Model?
    /// Causal attention column sums `[H, T]` the model accumulated during this prefill
    /// (`AttentionObservation.columnSums`), when the hook asked for them and the prefill started
    /// on an empty cache; `nil` otherwise (sub-inputs, synthetic inputs), and scorers recompute.
    public let columnSums: UnsafePointer<Float>?
    /// Positions of the rows when they are not `firstPosition + t`: a decoding input holds the
    /// entries a head kept, wherever they were. Read positions through ``position(_:)``.
    public let rowPositions: [Int]?
    /// Rows, at the end, whose queries are known: every row in a prefill; while decoding only the
    /// most recent tokens' (earlier rows' queries are zero), as kvpress's `DecodingPress` hands a
    /// scorer only the hidden states of recent steps. Read the range through ``queryRows``.
    public let queryRowCount: Int

    private let owner: AnyObject?

    /// Wraps raw buffers (synthetic inputs, tests). The caller keeps the buffers alive.
    public convenience init(geometry: PressGeometry, tokenCount: Int, firstPosition: Int = 0,
                hidden: UnsafePointer<Float>, queries: UnsafePointer<Float>, keys: UnsafePointer<Float>,
                values: UnsafePointer<Float>, cache: [HeadKVCache], model: Model? = nil) {
        self.init(geometry: geometry, tokenCount: tokenCount, firstPosition: firstPosition, hidden: hidden,
                  queries: queries, keys: keys, values: values, cache: cache, model: model, owner: nil)
    }

    /// Raw buffers plus precomputed causal column sums `[H, T]` (tests of the fast path).
    public convenience init(geometry: PressGeometry, tokenCount: Int, firstPosition: Int = 0,
                            hidden: UnsafePointer<Float>, queries: UnsafePointer<Float>, keys: UnsafePointer<Float>,
                            values: UnsafePointer<Float>, cache: [HeadKVCache], model: Model? = nil,
                            columnSums: UnsafePointer<Float>) {
        self.init(geometry: geometry, tokenCount: tokenCount, firstPosition: firstPosition, hidden: hidden,
                  queries: queries, keys: keys, values: values, cache: cache, model: model, owner: nil,
                  columnSums: columnSums)
    }

    /// What a layer hook observed; `cache` replaces the observation's heads when given.
    public convenience init(_ o: AttentionObservation, cache: [HeadKVCache]? = nil, model: Model? = nil) {
        // Column sums are the context's own only when the prefill started on an empty cache.
        let sums = o.columnSumsStride == o.tokenCount ? o.columnSums : nil
        self.init(geometry: PressGeometry(config: o.config, layer: o.layer), tokenCount: o.tokenCount,
                  firstPosition: o.firstPosition, hidden: o.hidden, queries: o.queries, keys: o.keys,
                  values: o.values, cache: cache ?? o.cache, model: model, owner: nil, columnSums: sums)
    }

    init(geometry: PressGeometry, tokenCount: Int, firstPosition: Int, hidden: UnsafePointer<Float>,
         queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
         cache: [HeadKVCache], model: Model?, owner: AnyObject?, columnSums: UnsafePointer<Float>? = nil,
         headRows: Int? = nil, rowPositions: [Int]? = nil, queryRowCount: Int? = nil) {
        self.geometry = geometry
        self.tokenCount = tokenCount
        self.headRows = headRows ?? tokenCount
        self.firstPosition = firstPosition
        self.hidden = hidden
        self.queries = queries
        self.keys = keys
        self.values = values
        self.cache = cache
        self.model = model
        self.owner = owner
        self.columnSums = columnSums
        self.rowPositions = rowPositions
        self.queryRowCount = queryRowCount ?? tokenCount
    }

    /// Query heads, `H`.
    public var headCount: Int { geometry.headCount }
    /// KV heads, `G`.
    public var headCountKV: Int { geometry.headCountKV }
    /// Head width, `D`.
    public var headDimension: Int { geometry.headDimension }
    /// Query heads per KV head.
    public var groupSize: Int { geometry.groupSize }
    /// Layer index.
    public var layer: Int { geometry.layer }

    /// Position of row `t`.
    @inline(__always) public func position(_ t: Int) -> Int { rowPositions?[t] ?? firstPosition + t }
    /// Positions of `rows`.
    public func positions(_ rows: Range<Int>) -> [Int] { rows.map(position) }
    /// The rows whose queries are known (all of them in a prefill).
    public var queryRows: Range<Int> { (tokenCount - queryRowCount)..<tokenCount }

    /// How many of `rows` (ascending row indices of this input) have known queries.
    private func knownQueries<C: Collection>(among rows: C) -> Int where C.Element == Int {
        queryRowCount == tokenCount ? rows.count : rows.filter { $0 >= tokenCount - queryRowCount }.count
    }

    /// Query row `t` of query head `h` (`D` floats).
    @inline(__always) public func query(_ h: Int, _ t: Int) -> UnsafePointer<Float> { queries + (h * headRows + t) * headDimension }
    /// Key row `t` of KV head `g`.
    @inline(__always) public func key(_ g: Int, _ t: Int) -> UnsafePointer<Float> { keys + (g * headRows + t) * headDimension }
    /// Value row `t` of KV head `g`.
    @inline(__always) public func value(_ g: Int, _ t: Int) -> UnsafePointer<Float> { values + (g * headRows + t) * headDimension }

    /// The rows `rows` of every tensor, as an input of their own (copies; positions keep their
    /// original rotation). Its `cache` is empty: a sub-input is for scoring only.
    public func rows(_ rows: [Int]) -> PressInput {
        let n = rows.count, d = geometry.embeddingLength, D = headDimension, H = headCount, G = headCountKV
        let store = RowStore(hidden: n * d, queries: H * n * D, keys: G * n * D, values: G * n * D)
        for (i, t) in rows.enumerated() {
            (store.hidden + i * d).update(from: hidden + t * d, count: d)
            for h in 0..<H { (store.queries + (h * n + i) * D).update(from: query(h, t), count: D) }
            for g in 0..<G {
                (store.keys + (g * n + i) * D).update(from: key(g, t), count: D)
                (store.values + (g * n + i) * D).update(from: value(g, t), count: D)
            }
        }
        return PressInput(geometry: geometry, tokenCount: n, firstPosition: firstPosition, hidden: store.hidden,
                          queries: store.queries, keys: store.keys, values: store.values, cache: [],
                          model: model, owner: store, rowPositions: rowPositions.map { p in rows.map { p[$0] } },
                          queryRowCount: knownQueries(among: rows))
    }

    /// A sub-input where KV head `g` (and the query heads of its group) takes rows `perHead[g]`;
    /// `hidden` takes the rows of head 0. All lists must have the same length. Key channels a head
    /// no longer stores (`HeadKVCache.keyChannels`) read as 0, as kvpress's ThinK leaves them.
    /// Its `cache` is `cache` (the heads holding exactly those rows, in order).
    public func rows(perHead: [[Int]], cache: [HeadKVCache]) -> PressInput {
        let n = perHead.first?.count ?? 0
        let d = geometry.embeddingLength, D = headDimension, H = headCount, G = headCountKV
        let store = RowStore(hidden: n * d, queries: H * n * D, keys: G * n * D, values: G * n * D)
        for (i, t) in perHead[0].enumerated() { (store.hidden + i * d).update(from: hidden + t * d, count: d) }
        for g in 0..<G {
            let channels = g < cache.count ? cache[g].keyChannels : nil
            for (i, t) in perHead[g].enumerated() {
                let k = store.keys + (g * n + i) * D
                k.update(from: key(g, t), count: D)
                if let channels {
                    var keep = [Bool](repeating: false, count: D)
                    for c in channels { keep[c] = true }
                    for c in 0..<D where !keep[c] { k[c] = 0 }
                }
                (store.values + (g * n + i) * D).update(from: value(g, t), count: D)
                for h in (g * groupSize)..<((g + 1) * groupSize) {
                    (store.queries + (h * n + i) * D).update(from: query(h, t), count: D)
                }
            }
        }
        return PressInput(geometry: geometry, tokenCount: n, firstPosition: firstPosition, hidden: store.hidden,
                          queries: store.queries, keys: store.keys, values: store.values, cache: cache,
                          model: model, owner: store, rowPositions: rowPositions.map { p in perHead[0].map { p[$0] } },
                          queryRowCount: knownQueries(among: perHead[0]))
    }

    /// Consecutive rows `range` as a view of the same buffers (no copy): row `i` of the view is
    /// row `range.lowerBound + i` here, at position `firstPosition + range.lowerBound + i`. Its
    /// `cache` is empty and it has no column sums: a view is for scoring only.
    public func rows(_ range: Range<Int>) -> PressInput {
        precondition(range.lowerBound >= 0 && range.upperBound <= tokenCount, "rows out of range")
        let r = range.lowerBound, D = headDimension
        return PressInput(geometry: geometry, tokenCount: range.count, firstPosition: firstPosition + r,
                          hidden: hidden + r * geometry.embeddingLength, queries: queries + r * D, keys: keys + r * D,
                          values: values + r * D, cache: [], model: model, owner: self, headRows: headRows,
                          rowPositions: rowPositions.map { Array($0[range]) }, queryRowCount: knownQueries(among: range))
    }

    /// The per-head row indices to keep after scoring, ascending: `keep[g]`.
    /// Applies them to the cache (really compacting memory).
    public func keep(_ indices: [[Int]]) {
        for (g, head) in cache.enumerated() where g < indices.count { head.keep(indices[g]) }
    }
}

/// Owns copied rows for `PressInput.rows(_:)`.
private final class RowStore {
    let hidden, queries, keys, values: UnsafeMutablePointer<Float>
    init(hidden h: Int, queries q: Int, keys k: Int, values v: Int) {
        hidden = .allocate(capacity: max(h, 1))
        queries = .allocate(capacity: max(q, 1))
        keys = .allocate(capacity: max(k, 1))
        values = .allocate(capacity: max(v, 1))
    }
    deinit {
        hidden.deallocate(); queries.deallocate(); keys.deallocate(); values.deallocate()
    }
}
