/// Attention of one new token over a layer's cache, for decoding.
///
/// Reads each stored key and value once per tile of query heads of its group (grouped-query
/// attention, `KVDot`), straight from f16/f32 storage or quantized codes. Long heads are split into
/// slices processed on both threads; each slice keeps its own running max and sum and the slices
/// are merged exactly (split-K softmax). With a sliding window only the visible entries are read.
enum DecodeAttention {
    /// Entries per slice below which one thread does the whole head.
    static let minSlice = 512

    /// - Parameters:
    ///   - query: `[H, D]` post-RoPE query of the token.
    ///   - shape: head counts, width, score scale and sliding window.
    ///   - cache: the layer's `headCountKV` heads, the token's own key/value already appended (so
    ///     each head's last entry holds the token's position, the one its window is measured from).
    ///   - prefix: heads whose entries come before `cache`'s (a tail's shared context), or `nil`.
    ///   - hidden: entries at the end of each head the token does not see (the later rows of a
    ///     short prompt attended one row at a time); its own entry is the last one before them.
    ///   - output: `[H·D]`, overwritten.
    ///   - columnSums: when given, `[H, columnSumsStride]`: row `h` receives query head `h`'s softmax
    ///     probability of every entry of its KV head (prefix entries first), 0 outside the window
    ///     (the rest of the row is left as it is). Taken from the exponentials the slices already hold, rescaled by the
    ///     merge's global max and sum, so they are exact across split-K slices (decoding presses
    ///     accumulate them).
    ///   - pool: the threads that share the slices.
    static func run(query: UnsafePointer<Float>, shape: AttentionShape, cache: [HeadKVCache], prefix: [HeadKVCache]? = nil,
                    hidingLast hidden: Int = 0, output: UnsafeMutablePointer<Float>, workspace: Workspace,
                    columnSums: UnsafeMutablePointer<Float>? = nil, columnSumsStride: Int = 0, pool: ThreadPool = .shared) {
        let D = shape.headDimension, G = shape.groupSize
        let threads = pool.threadCount
        // Tasks: (head, part, slice) over the visible entries of the prefix head, then the head's
        // own. Long parts are sliced, about twelve tasks per thread: with only a few per thread,
        // whichever thread finishes its last one first waits for the other (measured at 8000
        // tokens: two slices per head, 19 ms; eight, 15 ms for f16 and 11 → 10 ms for 4-bit codes).
        var tasks: [Slice] = []
        var firstTask: [Int] = []
        let wanted = (threads * 12 + cache.count - 1) / max(1, cache.count)
        for (g, head) in cache.enumerated() {
            firstTask.append(tasks.count)
            let n = head.count - hidden
            guard n > 0 else { continue }
            let p = head.position(n - 1)
            var parts: [(HeadKVCache, Int, Int)] = []
            if let before = prefix?[g] { parts.append((before, 0, before.count)) }
            parts.append((head, prefix?[g].count ?? 0, n))
            for (part, column, end) in parts {
                let lo = shape.firstVisible(part, position: p, end: end), m = end - lo
                guard m > 0 else { continue }
                let slices = m >= minSlice * 2 ? max(1, min(wanted, m / minSlice)) : 1
                for s in 0..<slices {
                    tasks.append(Slice(group: g, head: part, lo: lo + m * s / slices, hi: lo + m * (s + 1) / slices, column: column))
                }
            }
        }
        firstTask.append(tasks.count)
        // Per task: G partial outputs (D each) + G maxima + G sums.
        let partialStride = G * (D + 2)
        let partial = workspace.buffer(.attentionPartial, max(1, tasks.count) * partialStride)
        let scoresStride = (tasks.map { $0.hi - $0.lo }.max() ?? 0) * G
        let scores = workspace.buffer(.attentionScores, max(1, tasks.count * scoresStride))
        let gatheredQ = workspace.buffer(.attentionQuery, shape.headCount * D)

        for (g, head) in cache.enumerated() {
            for k in 0..<G {
                let q = query + (g * G + k) * D
                let dst = gatheredQ + (g * G + k) * D
                if let channels = head.keyChannels {
                    for (j, c) in channels.enumerated() { dst[j] = q[c] * shape.scale }
                } else {
                    for j in 0..<D { dst[j] = q[j] * shape.scale }
                }
            }
        }

        pool.parallelFor(tasks.count) { range in
            for i in range {
                let task = tasks[i]
                attendSlice(head: task.head, lo: task.lo, hi: task.hi, groupSize: G, D: D,
                            queries: gatheredQ + task.group * G * D,
                            scores: scores + i * scoresStride,
                            partial: partial + i * partialStride)
            }
        }

        // Merge a head's tasks: out = Σ_s e^(m_s - m) · o_s / Σ_s e^(m_s - m) · l_s.
        for g in 0..<cache.count {
            let mine = firstTask[g]..<firstTask[g + 1]
            for k in 0..<G {
                var m = -Float.infinity
                for s in mine { m = max(m, partial[s * partialStride + G * D + k]) }
                let dst = output + (g * G + k) * D
                for j in 0..<D { dst[j] = 0 }
                var total: Float = 0
                guard m > -.infinity else { continue }
                for s in mine {
                    let p = partial + s * partialStride
                    let ms = p[G * D + k]
                    guard ms > -.infinity else { continue }
                    let w = FastMath.exp(ms - m)
                    total += w * p[G * D + G + k]
                    for j in 0..<D { dst[j] += w * p[k * D + j] }
                }
                FastMath.scale(dst, D, by: 1 / total)
                if let columnSums {
                    // Task s's scores hold e^(s_j − m_s); p_j = e^(s_j − m_s) · e^(m_s − m) / total.
                    let row = columnSums + (g * G + k) * columnSumsStride
                    row.update(repeating: 0, count: (prefix?[g].count ?? 0) + cache[g].count)
                    for s in mine {
                        let task = tasks[s], width = task.hi - task.lo
                        let ms = partial[s * partialStride + G * D + k]
                        let w = ms > -.infinity ? FastMath.exp(ms - m) / total : 0
                        let src = scores + s * scoresStride + k * width
                        let dst = row + task.column + task.lo
                        for j in 0..<width { dst[j] = src[j] * w }
                    }
                }
            }
        }
    }

    /// Entries `lo..<hi` of one head, attended by query group `group`; `column` is where the head's
    /// entries start in the row of column sums (after the prefix head's, for a tail).
    struct Slice {
        let group: Int
        let head: HeadKVCache
        let lo: Int
        let hi: Int
        let column: Int
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
