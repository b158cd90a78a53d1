import KVModel

/// What a decoding press remembers about one layer while the model generates: the layer's heads,
/// the most recent queries (with their positions) and, for scorers that ask for it, the attention
/// every entry has accumulated.
///
/// Shapes: `H` query heads, `G` KV heads, `D` head width. Recent queries are post-RoPE, oldest
/// first. `accumulated[h]` has one score per entry of query head `h`'s KV head, in cache order;
/// ``keep(_:_:)`` applies the same selection to the head and to its scores, so scores follow
/// their entries through every compression.
public final class DecodingLayer {
    /// Layer and model sizes.
    public let geometry: PressGeometry
    /// The layer's KV heads.
    public let heads: [HeadKVCache]
    /// Recent queries remembered at most (the scorer's `recentQueriesRead`, at most the schedule's `query_buffer`).
    public let queryCapacity: Int
    /// Attention each entry received, summed over every query since generation began (`[H][n_g]`);
    /// empty unless the scorer observes `.columnSums`.
    public private(set) var accumulated: [[Float]]

    /// Ring of `queryCapacity` slots of `[H, D]` floats.
    private var queryRing: [Float]
    private var queryPositions: [Int]
    private var queryNext = 0
    /// Recent queries held, `≤ queryCapacity`.
    public private(set) var recentQueryCount = 0
    /// Per KV head, the newest position a threshold press (`dms`) has judged: every entry at or
    /// before it was judged once and stays.
    var judgedThrough: [Int]
    /// The hidden rows every decoding input shows: no scorer reads them, so one zeroed block,
    /// grown with the heads, serves every head and compression.
    private var zeroHidden = ZeroRows(count: 0)

    public init(geometry: PressGeometry, heads: [HeadKVCache], queryCapacity: Int, accumulates: Bool) {
        self.geometry = geometry
        self.heads = heads
        self.queryCapacity = queryCapacity
        accumulated = accumulates ? Array(repeating: [], count: geometry.headCount) : []
        queryRing = [Float](repeating: 0, count: queryCapacity * geometry.headCount * geometry.headDimension)
        queryPositions = [Int](repeating: 0, count: queryCapacity)
        judgedThrough = [Int](repeating: .min, count: heads.count)
    }

    /// Takes in one forward call's tokens: remembers their queries, grows the accumulated scores
    /// to the heads' new lengths and adds the call's attention column sums.
    public func record(_ o: AttentionObservation) {
        let H = geometry.headCount, D = geometry.headDimension, group = geometry.groupSize
        if !accumulated.isEmpty {
            for h in 0..<H {
                let n = heads[h / group].count
                if accumulated[h].count < n { accumulated[h].append(contentsOf: repeatElement(0, count: n - accumulated[h].count)) }
                if let sums = o.columnSums {
                    let row = sums + h * o.columnSumsStride
                    accumulated[h].withUnsafeMutableBufferPointer { acc in
                        for j in 0..<n { acc[j] += row[j] }
                    }
                }
            }
        }
        guard queryCapacity > 0 else { return }
        for t in max(0, o.tokenCount - queryCapacity)..<o.tokenCount {
            let slot = queryNext
            queryRing.withUnsafeMutableBufferPointer { ring in
                for h in 0..<H {
                    (ring.baseAddress! + (slot * H + h) * D).update(from: o.queries + (h * o.tokenCount + t) * D, count: D)
                }
            }
            queryPositions[slot] = o.firstPosition + t
            queryNext = (queryNext + 1) % queryCapacity
            recentQueryCount = min(recentQueryCount + 1, queryCapacity)
        }
    }

    /// What a scorer press sees of KV head `g`: a one-KV-head ``PressInput`` whose rows are the
    /// head's entries in cache order, at their positions; keys (dropped ThinK channels as 0) and
    /// values read through the head's storage; the head's accumulated attention as column sums;
    /// and the recent queries of the group's query heads on the last rows, as many as line up
    /// with the newest entries (earlier rows' queries are 0, ``PressInput/queryRowCount``).
    public func input(head g: Int) -> PressInput {
        let head = heads[g], n = head.count, D = geometry.headDimension, group = geometry.groupSize
        let d = geometry.embeddingLength
        let positions = head.positions
        var one = geometry
        one.headCount = group
        one.headCountKV = 1
        one.firstHeadKV = g
        if zeroHidden.count < n * d { zeroHidden = ZeroRows(count: n * d) }
        let store = DecodingRows(rows: n, queryHeads: group, width: D, hidden: zeroHidden,
                                 columnSums: accumulated.isEmpty ? 0 : group * n)
        let kd = head.keyDimension
        var narrow = [Float](repeating: 0, count: kd)
        for j in 0..<n {
            let k = store.keys.pointer + j * D
            if let channels = head.keyChannels {
                narrow.withUnsafeMutableBufferPointer { head.copyKey(j, into: $0.baseAddress!) }
                for (i, c) in channels.enumerated() { k[c] = narrow[i] }
            } else {
                head.copyKey(j, into: k)
            }
            head.copyValue(j, into: store.values.pointer + j * D)
        }
        // Recent queries, newest last, on the rows of the entries they belong to.
        var known = 0
        queryRing.withUnsafeBufferPointer { ring in
            while known < min(recentQueryCount, n) {
                let slot = (queryNext - 1 - known + 2 * queryCapacity) % queryCapacity
                let row = n - 1 - known
                guard queryPositions[slot] == positions[row] else { break }
                for k in 0..<group {
                    (store.queries.pointer + (k * n + row) * D).update(from: ring.baseAddress! + (slot * geometry.headCount + g * group + k) * D,
                                                               count: D)
                }
                known += 1
            }
        }
        if let sums = store.columnSums?.pointer {
            for k in 0..<group {
                let acc = accumulated[g * group + k]
                for j in 0..<min(n, acc.count) { sums[k * n + j] = acc[j] }
            }
        }
        return PressInput(geometry: one, tokenCount: n, firstPosition: positions.first ?? 0, hidden: store.hidden,
                          queries: store.queries.pointer, keys: store.keys.pointer, values: store.values.pointer, cache: [head], model: nil,
                          owner: store, columnSums: store.columnSums.map { UnsafePointer($0.pointer) },
                          rowPositions: positions, queryRowCount: known)
    }

    /// Keeps entries `indices` (ascending) of KV head `g`, and the same entries of its accumulated scores.
    public func keep(_ g: Int, _ indices: [Int]) {
        heads[g].keep(indices)
        guard !accumulated.isEmpty else { return }
        let group = geometry.groupSize
        for h in (g * group)..<((g + 1) * group) {
            let old = accumulated[h]
            accumulated[h] = indices.map { $0 < old.count ? old[$0] : 0 }
        }
    }
}

/// `count` zeroed floats.
private final class ZeroRows {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }
    deinit { pointer.deallocate() }
}

/// Owns the rows of a decoding ``PressInput`` (zeroed: queries a row has none of stay 0); the
/// hidden rows are the layer's shared zeros, kept alive here.
private final class DecodingRows {
    let hiddenRows: ZeroRows
    let queries, keys, values: ZeroRows
    let columnSums: ZeroRows?
    var hidden: UnsafeMutablePointer<Float> { hiddenRows.pointer }
    init(rows n: Int, queryHeads: Int, width D: Int, hidden: ZeroRows, columnSums: Int) {
        hiddenRows = hidden
        queries = ZeroRows(count: queryHeads * n * D)
        keys = ZeroRows(count: n * D)
        values = ZeroRows(count: n * D)
        self.columnSums = columnSums > 0 ? ZeroRows(count: columnSums) : nil
    }
}
