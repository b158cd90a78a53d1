/// Attention of one new token over a layer's cache, for decoding.
///
/// Reads each stored key and value once for all query heads of its group (grouped-query attention),
/// straight from f16/f32 storage. Long heads are split into slices processed on both threads; each
/// slice keeps its own running max and sum and the slices are merged exactly (split-K softmax).
enum DecodeAttention {
    /// Entries per slice below which one thread does the whole head.
    static let minSlice = 512

    /// - Parameters:
    ///   - query: `[H, D]` post-RoPE query of the token.
    ///   - cache: the layer's heads (the token's own key/value already appended).
    ///   - output: `[H·D]`, overwritten.
    ///   - columnSums: when given, `[H, columnSumsStride]`: row `h` receives query head `h`'s softmax
    ///     probability of every entry of its KV head (the rest of the row is left as it is). Taken
    ///     from the exponentials the slices already hold, rescaled by the merge's global max and
    ///     sum, so they are exact across split-K slices (decoding presses accumulate them).
    static func run(query: UnsafePointer<Float>, config: ModelConfig, cache: [HeadKVCache],
                    output: UnsafeMutablePointer<Float>, workspace: Workspace,
                    columnSums: UnsafeMutablePointer<Float>? = nil, columnSumsStride: Int = 0) {
        let D = config.headDimension, G = config.groupSize
        let threads = ThreadPool.shared.threadCount
        // Tasks: (head, slice), about twelve per thread: with only a few per thread, whichever
        // thread finishes its last one first waits for the other (measured at 8000 tokens: two
        // slices per head, 19 ms; eight, 15 ms for f16 and 11 → 10 ms for 4-bit codes).
        let maxCount = cache.map(\.count).max() ?? 0
        let wanted = (threads * 12 + cache.count - 1) / max(1, cache.count)
        let slices = maxCount >= minSlice * 2 ? max(1, min(wanted, maxCount / minSlice)) : 1
        let tasks = cache.count * slices
        // Per task: G partial outputs (D each) + G maxima + G sums.
        let partialStride = G * (D + 2)
        let partial = workspace.buffer(.attentionPartial, tasks * partialStride)
        let scoresStride = (maxCount / slices + 1) * G
        let scores = workspace.buffer(.attentionScores, tasks * scoresStride)
        let gatheredQ = workspace.buffer(.attentionQuery, config.headCount * D)
        let scale = 1 / Float(D).squareRoot()

        for (g, head) in cache.enumerated() {
            for k in 0..<G {
                let q = query + (g * G + k) * D
                let dst = gatheredQ + (g * G + k) * D
                if let channels = head.keyChannels {
                    for (j, c) in channels.enumerated() { dst[j] = q[c] * scale }
                } else {
                    for j in 0..<D { dst[j] = q[j] * scale }
                }
            }
        }

        ThreadPool.shared.parallelFor(tasks) { range in
            for task in range {
                let g = task / slices, s = task % slices
                let head = cache[g]
                let n = head.count
                let lo = n * s / slices, hi = n * (s + 1) / slices
                attendSlice(head: head, lo: lo, hi: hi, groupSize: G, D: D,
                            queries: gatheredQ + g * G * D,
                            scores: scores + task * scoresStride,
                            partial: partial + task * partialStride)
            }
        }

        // Merge slices: out = Σ_s e^(m_s - m) · o_s / Σ_s e^(m_s - m) · l_s.
        for g in 0..<cache.count {
            for k in 0..<G {
                var m = -Float.infinity
                for s in 0..<slices { m = max(m, partial[(g * slices + s) * partialStride + G * D + k]) }
                let dst = output + (g * G + k) * D
                for j in 0..<D { dst[j] = 0 }
                var total: Float = 0
                guard m > -.infinity else { continue }
                for s in 0..<slices {
                    let p = partial + (g * slices + s) * partialStride
                    let ms = p[G * D + k]
                    guard ms > -.infinity else { continue }
                    let w = FastMath.exp(ms - m)
                    total += w * p[G * D + G + k]
                    for j in 0..<D { dst[j] += w * p[k * D + j] }
                }
                FastMath.scale(dst, D, by: 1 / total)
                if let columnSums {
                    // Slice s's scores hold e^(s_j − m_s); p_j = e^(s_j − m_s) · e^(m_s − m) / total.
                    let row = columnSums + (g * G + k) * columnSumsStride
                    let n = cache[g].count
                    for s in 0..<slices {
                        let lo = n * s / slices, hi = n * (s + 1) / slices
                        let ms = partial[(g * slices + s) * partialStride + G * D + k]
                        let w = ms > -.infinity ? FastMath.exp(ms - m) / total : 0
                        let src = scores + (g * slices + s) * scoresStride + k * (hi - lo)
                        for j in 0..<(hi - lo) { row[lo + j] = src[j] * w }
                    }
                }
            }
        }
    }

    /// Unnormalised attention of the group's queries over entries `lo..<hi` of one head.
    /// Writes, per query k: `partial[k·D..]` = Σ e^(s-m) v, `partial[G·D + k]` = m, `partial[G·D + G + k]` = Σ e^(s-m).
    @inline(__always)
    static func attendSlice(head: HeadKVCache, lo: Int, hi: Int, groupSize G: Int, D: Int,
                            queries: UnsafePointer<Float>, scores: UnsafeMutablePointer<Float>,
                            partial: UnsafeMutablePointer<Float>) {
        let n = hi - lo
        for k in 0..<G {
            partial[G * D + k] = -.infinity
            partial[G * D + G + k] = 0
            for j in 0..<D { partial[k * D + j] = 0 }
        }
        guard n > 0 else { return }
        let kd = head.keyDimension
        // Scores, laid out [G, n].
        KVDot.scores(head: head, lo: lo, hi: hi, queries: queries, queryStride: D, keyDimension: kd,
                     groupSize: G, scores: scores, scoreStride: n)
        for k in 0..<G {
            let row = scores + k * n
            let m = FastMath.max(row, n)
            let sum = FastMath.expShiftedSum(row, n, shift: m)
            partial[G * D + k] = m
            partial[G * D + G + k] = sum
        }
        KVDot.weightedValues(head: head, lo: lo, hi: hi, weights: scores, weightStride: n, groupSize: G,
                             output: partial, outputStride: D)
    }
}
