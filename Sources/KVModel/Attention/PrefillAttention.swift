import COpenBLAS

/// Causal attention of a batch of new tokens over a layer's cache, for prefill.
///
/// Query heads run in parallel on the pool. For each head, query rows are processed in blocks
/// of `blockRows`: scores against the keys the block can see come from one single-threaded
/// `sgemm` (`OrderedGEMM` at the VNNI level), are masked and soft-maxed row by row, and a second
/// product weighs the values. Memory
/// is `O(heads × blockRows × visible)`, never `O(T²)`.
///
/// With a sliding window a row at position `p` sees entries `lo(p)..<` its own (`AttentionShape`);
/// a block computes scores only over the union of its rows' ranges (at most `window + blockRows − 1`
/// entries), so a long prefill costs about `window` per row, and only the entries some row can
/// see are converted to floats.
struct PrefillAttention {
    static let blockRows = 128

    /// - Parameters:
    ///   - queries: `[H, T, D]` post-RoPE queries.
    ///   - shape: head counts, width, score scale and sliding window.
    ///   - cache: the layer's heads; each holds its earlier entries followed by the `T` new ones
    ///     (whose positions are the queries' positions).
    ///   - prefix: heads whose entries come before `cache`'s (a tail's shared context), or `nil`.
    ///   - output: `[T, H·D]`, overwritten.
    ///   - workspace: scratch buffers.
    ///   - columnSums: when given, `[H, columnSumsStride]`, overwritten with each query head's
    ///     attention column sums over the `T` query rows (zero outside every row's window and past
    ///     its head's length).
    static func run(queries: UnsafePointer<Float>, tokenCount T: Int, shape: AttentionShape,
                    cache: [HeadKVCache], prefix: [HeadKVCache]? = nil, output: UnsafeMutablePointer<Float>,
                    workspace: Workspace, columnSums: UnsafeMutablePointer<Float>? = nil, columnSumsStride: Int = 0) {
        let D = shape.headDimension, H = shape.headCount, G = shape.groupSize
        var ones: UnsafeMutablePointer<Float>?
        if let columnSums {
            columnSums.update(repeating: 0, count: H * columnSumsStride)
            let o = workspace.buffer(.attentionOnes, blockRows)
            o.update(repeating: 1, count: blockRows)
            ones = o
        }
        // The entries each KV head's first new row can see onwards, as contiguous floats:
        // [firsts[g]..<M_g] × D per head (heads may differ in length).
        // Entry indices run over the prefix head's entries, then the head's own.
        let joined = cache.indices.map { JoinedHead(prefix: prefix?[$0], own: cache[$0]) }
        var firsts: [Int] = [], offsets: [Int] = []
        var total = 0, maxM = 0
        for head in joined {
            let first = head.firstVisible(shape, fromRow: head.count - T)
            firsts.append(first)
            offsets.append(total)
            total += (head.count - first) * D
            maxM = max(maxM, head.count - first)
        }
        let keys = workspace.buffer(.attentionKeys, total)
        let values = workspace.buffer(.attentionValues, total)
        ThreadPool.shared.parallelFor(cache.count) { range in
            for g in range {
                joined[g].convert(from: firsts[g], keys: keys + offsets[g], values: values + offsets[g])
            }
        }
        // A block's rows see at most `window + blockRows − 1` entries (positions are distinct).
        let maxVisible = shape.window.map { min(maxM, $0 + blockRows) } ?? maxM
        let scoresPerHead = blockRows * maxVisible
        let scores = workspace.buffer(.attentionScores, H * scoresPerHead)
        let gathered = workspace.buffer(.attentionQuery, H * T * D)
        // At the VNNI level, in the order of the long products beside it (`OrderedGEMM`).
        let ordered = CPULevel.current == .avx512vnni

        ThreadPool.shared.parallelFor(H) { heads in
            for h in heads {
                let g = h / G
                let head = joined[g]
                let M = head.count, kd = head.own.keyDimension, prior = M - T, first = firsts[g]
                let headKeys = keys + offsets[g], headValues = values + offsets[g]
                let s = scores + h * scoresPerHead
                var q = queries + h * T * D
                if let channels = head.own.keyChannels {
                    let dst = gathered + h * T * D
                    for t in 0..<T { for (j, c) in channels.enumerated() { dst[t * kd + j] = q[t * D + c] } }
                    q = UnsafePointer(dst)
                }
                // lo: first entry visible to the current row; rows advance it monotonically.
                var lo = first
                @inline(__always) func advance(toRow t: Int) {
                    guard let window = shape.window else { return }
                    let p = head.position(prior + t)
                    while head.position(lo) <= p - window { lo += 1 }
                }
                var i0 = 0
                while i0 < T {
                    let rows = min(blockRows, T - i0)
                    advance(toRow: i0)
                    // The block computes columns L..<R: the union of its rows' visible ranges.
                    let L = lo, R = prior + i0 + rows, width = R - L
                    if ordered {
                        OrderedGEMM.abT(m: rows, n: width, k: kd, alpha: shape.scale, a: q + i0 * kd, lda: kd,
                                        b: headKeys + (L - first) * kd, ldb: kd, c: s, ldc: width)
                    } else {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(width), Int32(kd),
                                    shape.scale, q + i0 * kd, Int32(kd), headKeys + (L - first) * kd, Int32(kd),
                                    0, s, Int32(width))
                    }
                    for r in 0..<rows {
                        advance(toRow: i0 + r)
                        let row = s + r * width
                        let a = lo - L, b = prior + i0 + r + 1 - L
                        if a > 0 { row.update(repeating: 0, count: a) }
                        FastMath.softmax(row + a, b - a)
                        if b < width { (row + b).update(repeating: 0, count: width - b) }
                    }
                    if let columnSums, let ones {
                        // Σ over the block's rows of the probabilities: scoresᵀ · 1 (each head owns its row).
                        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(rows), Int32(width), 1, s, Int32(width),
                                    ones, 1, 1, columnSums + h * columnSumsStride + L, 1)
                    }
                    if ordered {
                        OrderedGEMM.ab(m: rows, n: D, k: width, a: s, lda: width, b: headValues + (L - first) * D, ldb: D,
                                       c: output + i0 * H * D + h * D, ldc: H * D)
                    } else {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(D), Int32(width),
                                    1, s, Int32(width), headValues + (L - first) * D, Int32(D),
                                    0, output + i0 * H * D + h * D, Int32(H * D))
                    }
                    i0 += rows
                }
            }
        }
    }
}

/// One KV head as attention reads it: a tail's prefix head (when there is one) followed by its own entries.
struct JoinedHead {
    let prefix: HeadKVCache?
    let own: HeadKVCache

    /// Entries of both parts.
    var count: Int { (prefix?.count ?? 0) + own.count }

    /// The original position of entry `i` (prefix entries first).
    @inline(__always)
    func position(_ i: Int) -> Int {
        let p = prefix?.count ?? 0
        return i < p ? prefix!.position(i) : own.position(i - p)
    }

    /// The first entry the row at entry `row` (a new token's own entry) can see.
    func firstVisible(_ shape: AttentionShape, fromRow row: Int) -> Int {
        let p = position(row), before = prefix?.count ?? 0
        if let prefix {
            let first = shape.firstVisible(prefix, position: p, end: before)
            if first < before { return first }
        }
        return before + shape.firstVisible(own, position: p, end: row - before + 1)
    }

    /// Keys and values of entries `start..<count` as contiguous floats.
    func convert(from start: Int, keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>) {
        let before = prefix?.count ?? 0
        var done = 0
        if let prefix, start < before {
            KVConvert.keys(prefix, from: start, into: keys)
            KVConvert.values(prefix, from: start, into: values)
            done = before - start
        }
        let from = max(0, start - before)
        KVConvert.keys(own, from: from, into: keys + done * own.keyDimension)
        KVConvert.values(own, from: from, into: values + done * own.valueDimension)
    }
}
