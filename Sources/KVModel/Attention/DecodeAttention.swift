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
    ///   - query: `[H, R, D]` post-RoPE queries of the `R` new tokens (`[H, D]` for one).
    ///   - rows: `R`, the new tokens (a short prompt, e.g. a question, over a long cache): each stored
    ///     entry is read once for all of them. Several rows need full attention (no window) and no
    ///     column sums.
    ///   - shape: head counts, width, score scale and sliding window.
    ///   - cache: the layer's `headCountKV` heads, the token's own key/value already appended (so
    ///     each head's last entry holds the token's position, the one its window is measured from).
    ///   - prefix: heads whose entries come before `cache`'s (a tail's shared context), or `nil`.
    ///   - output: `[R, H·D]`, overwritten.
    ///   - columnSums: when given, `[H, columnSumsStride]`: row `h` receives query head `h`'s softmax
    ///     probability of every entry of its KV head (prefix entries first), 0 outside the window
    ///     (the rest of the row is left as it is). Taken from the exponentials the slices already hold, rescaled by the
    ///     merge's global max and sum, so they are exact across split-K slices (decoding presses
    ///     accumulate them).
    ///   - pool: the threads that share the slices.
    static func run(query: UnsafePointer<Float>, rows R: Int = 1, shape: AttentionShape, cache: [HeadKVCache],
                    prefix: [HeadKVCache]? = nil, output: UnsafeMutablePointer<Float>, workspace: Workspace,
                    columnSums: UnsafeMutablePointer<Float>? = nil, columnSumsStride: Int = 0, pool: ThreadPool = .shared) {
        precondition(R == 1 || (shape.window == nil && columnSums == nil), "several rows: no window, no column sums")
        let D = shape.headDimension, G = shape.groupSize, Q = G * R
        let threads = pool.threadCount
        // Tasks: (head, part, slice) over the visible entries of the prefix head, then the head's
        // own. Long parts are sliced, about twelve tasks per thread: with only a few per thread,
        // whichever thread finishes its last one first waits for the other (measured at 8000
        // tokens: two slices per head, 19 ms; eight, 15 ms for f16 and 11 → 10 ms for 4-bit codes).
        // With several rows, slices are also kept short enough for their scores to stay in cache.
        var tasks: [Slice] = []
        var firstTask: [Int] = []
        let shortest = R == 1 ? minSlice : max(64, minSlice / R)
        for (g, head) in cache.enumerated() {
            firstTask.append(tasks.count)
            let n = head.count
            guard n > 0 else { continue }
            let p = head.position(n - 1)
            var parts: [(HeadKVCache, Int, Bool)] = []
            if let before = prefix?[g] { parts.append((before, 0, false)) }
            // The rows' own entries: row t sees its own and those before it (causal), so with
            // several rows the part is one task that masks.
            parts.append((head, prefix?[g].count ?? 0, R > 1))
            for (part, column, causal) in parts {
                let lo = shape.firstVisible(part, position: p, end: part.count), m = part.count - lo
                guard m > 0 else { continue }
                let slices = causal ? 1 : sliceCount(m, heads: cache.count, threads: threads, shortest: shortest)
                for s in 0..<slices {
                    tasks.append(Slice(group: g, head: part, lo: lo + m * s / slices, hi: lo + m * (s + 1) / slices,
                                       column: column, causalRows: causal ? R : 0))
                }
            }
        }
        firstTask.append(tasks.count)
        // Per task: Q partial outputs (D each) + Q maxima + Q sums.
        let partialStride = Q * (D + 2)
        let partial = workspace.buffer(.attentionPartial, max(1, tasks.count) * partialStride)
        let scoresStride = (tasks.map { $0.hi - $0.lo }.max() ?? 0) * Q
        let scores = workspace.buffer(.attentionScores, max(1, tasks.count * scoresStride))
        // Queries [H, R, D]: KV head g's G·R queries are contiguous, query k·R + t is head g·G + k, row t.
        let gatheredQ = workspace.buffer(.attentionQuery, shape.headCount * R * D)
        for (g, head) in cache.enumerated() {
            for i in 0..<Q {
                let q = query + (g * Q + i) * D
                let dst = gatheredQ + (g * Q + i) * D
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
                attendSlice(head: task.head, lo: task.lo, hi: task.hi, groupSize: Q, D: D,
                            queries: gatheredQ + task.group * Q * D,
                            scores: scores + i * scoresStride,
                            partial: partial + i * partialStride, causalRows: task.causalRows)
            }
        }

        // Merge a head's tasks: out = Σ_s e^(m_s - m) · o_s / Σ_s e^(m_s - m) · l_s.
        for g in 0..<cache.count {
            let mine = firstTask[g]..<firstTask[g + 1]
            for i in 0..<Q {
                let k = i / R, t = i % R
                let dst = output + t * shape.headCount * D + (g * G + k) * D
                let (m, total) = merge(parts: mine.count, D: D, into: dst) { (partial + (mine.lowerBound + $0) * partialStride, Q, i) }
                guard m > -.infinity else { continue }
                if let columnSums {
                    // Task s's scores hold e^(s_j − m_s); p_j = e^(s_j − m_s) · e^(m_s − m) / total.
                    let row = columnSums + (g * G + k) * columnSumsStride
                    row.update(repeating: 0, count: (prefix?[g].count ?? 0) + cache[g].count)
                    for s in mine {
                        let task = tasks[s], width = task.hi - task.lo
                        let ms = partial[s * partialStride + Q * D + i]
                        let w = ms > -.infinity ? FastMath.exp(ms - m) / total : 0
                        let src = scores + s * scoresStride + i * width
                        let dst = row + task.column + task.lo
                        for j in 0..<width { dst[j] = src[j] * w }
                    }
                }
            }
        }
    }

    /// How many slices the `m` visible entries of a part are cut into: about twelve tasks per
    /// thread over the `heads` KV heads, none shorter than `shortest`. Depends on nothing else, so
    /// a row's slices are the same whatever shares its step (`SharedPrefixAttention`).
    static func sliceCount(_ m: Int, heads: Int, threads: Int, shortest: Int) -> Int {
        let wanted = (threads * 12 + heads - 1) / max(1, heads)
        return m >= shortest * 2 ? max(1, min(max(wanted, m / (shortest * 4)), m / shortest)) : 1
    }

    /// One query's output from its slices' partials, in the order given: `dst` (`D` floats) =
    /// Σ_s e^(m_s − m)·o_s / Σ_s e^(m_s − m)·l_s. `part(s)` is slice s's partial block, the number of
    /// queries in it and this query's index there (`attendSlice`'s layout).
    /// - Returns: the global max `m` (−∞ when nothing is visible: `dst` is then 0) and the sum.
    @inline(__always)
    static func merge(parts: Int, D: Int, into dst: UnsafeMutablePointer<Float>,
                      _ part: (Int) -> (UnsafeMutablePointer<Float>, Int, Int)) -> (max: Float, total: Float) {
        var m = -Float.infinity
        for s in 0..<parts {
            let (p, Q, i) = part(s)
            m = max(m, p[Q * D + i])
        }
        for j in 0..<D { dst[j] = 0 }
        guard m > -.infinity else { return (m, 0) }
        var total: Float = 0
        for s in 0..<parts {
            let (p, Q, i) = part(s)
            let ms = p[Q * D + i]
            guard ms > -.infinity else { continue }
            let w = FastMath.exp(ms - m)
            total += w * p[Q * D + Q + i]
            for j in 0..<D { dst[j] += w * p[i * D + j] }
        }
        FastMath.scale(dst, D, by: 1 / total)
        return (m, total)
    }

    /// Entries `lo..<hi` of one head, attended by query group `group`; `column` is where the head's
    /// entries start in the row of column sums (after the prefix head's, for a tail). With
    /// `causalRows` R > 0 they are the rows' own entries, the last R being the rows': row t sees
    /// all but the last R − 1 − t.
    struct Slice {
        let group: Int
        let head: HeadKVCache
        let lo: Int
        let hi: Int
        let column: Int
        let causalRows: Int
    }

    /// Unnormalised attention of the group's queries over entries `lo..<hi` of one head (with
    /// `causalRows` R > 0, query k is row k mod R of R and does not see the last R − 1 − (k mod R)).
    /// Writes, per query k: `partial[k·D..]` = Σ e^(s-m) v, `partial[G·D + k]` = m, `partial[G·D + G + k]` = Σ e^(s-m).
    @inline(__always)
    static func attendSlice(head: HeadKVCache, lo: Int, hi: Int, groupSize G: Int, D: Int,
                            queries: UnsafePointer<Float>, scores: UnsafeMutablePointer<Float>,
                            partial: UnsafeMutablePointer<Float>, causalRows R: Int = 0) {
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
        if R > 0 {
            // Query k·R + t (row t) does not see the entries of the rows after it.
            for k in 0..<G {
                let hidden = R - 1 - k % R, row = scores + k * n
                for j in max(0, n - hidden)..<n { row[j] = -.infinity }
            }
        }
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
