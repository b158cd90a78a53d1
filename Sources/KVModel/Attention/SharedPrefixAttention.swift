/// Decode attention of several asks over one shared context: each context entry is read once for
/// every ask's queries, each ask's own tail (question and answer so far) separately, and the parts
/// merged per query with the usual max and sum rescale.
///
/// Bit for bit what `DecodeAttention.run` gives each ask alone: the context is cut into the same
/// slices (they depend on its length and the threads only), the dot products and weighted sums of
/// one query do not depend on which other queries share its tile (`KVDot`), and each query merges
/// its context slices and then its tail slices in the same order. So an answer does not change
/// because other asks on its session decode beside it (the reliability promise), while a step of
/// A asks reads the context once instead of A times.
enum SharedPrefixAttention {
    /// One ask's decode row.
    struct Ask {
        /// `[H, D]` post-RoPE queries of its new token.
        let query: UnsafePointer<Float>
        /// Its tail: the layer's `headCountKV` heads, its token's key/value already appended.
        let cache: [HeadKVCache]
        /// `[H·D]`, overwritten.
        let output: UnsafeMutablePointer<Float>
    }

    /// - Parameters:
    ///   - asks: two or more decode rows whose caches are tails of `prefix`.
    ///   - shape: head counts, width and score scale; no sliding window (the visible part of the
    ///     context would differ between asks).
    ///   - prefix: the shared context's heads for this layer.
    static func run(_ asks: [Ask], shape: AttentionShape, prefix: [HeadKVCache], workspace: Workspace,
                    pool: ThreadPool = .shared) {
        precondition(shape.window == nil, "shared context attention needs full attention")
        let D = shape.headDimension, G = shape.groupSize, A = asks.count, KV = prefix.count
        let threads = pool.threadCount
        // The same cut as `DecodeAttention.run` for one row.
        func slices(_ m: Int) -> Int {
            DecodeAttention.sliceCount(m, heads: KV, threads: threads, shortest: DecodeAttention.minSlice)
        }

        // Tasks: every context slice of every KV head (all asks' queries), then every tail slice
        // of every ask.
        struct Task {
            let slice: DecodeAttention.Slice
            /// The ask whose tail it is; nil for a context slice.
            let ask: Int?
        }
        var tasks: [Task] = []
        var contextTasks: [Range<Int>] = []
        for g in 0..<KV {
            let head = prefix[g], m = head.count, start = tasks.count
            let n = slices(m)
            for s in 0..<(m > 0 ? n : 0) {
                tasks.append(Task(slice: DecodeAttention.Slice(group: g, head: head, lo: m * s / n, hi: m * (s + 1) / n,
                                                              column: 0, causalRows: 0), ask: nil))
            }
            contextTasks.append(start..<tasks.count)
        }
        var tailTasks: [[Range<Int>]] = []
        for (a, ask) in asks.enumerated() {
            var mine: [Range<Int>] = []
            for g in 0..<KV {
                let head = ask.cache[g], m = head.count, start = tasks.count
                let n = slices(m)
                for s in 0..<(m > 0 ? n : 0) {
                    tasks.append(Task(slice: DecodeAttention.Slice(group: g, head: head, lo: m * s / n, hi: m * (s + 1) / n,
                                                                  column: prefix[g].count, causalRows: 0), ask: a))
                }
                mine.append(start..<tasks.count)
            }
            tailTasks.append(mine)
        }

        // Queries [KV, A, G, D]: a context task reads its KV head's A·G queries at once.
        let gathered = workspace.buffer(.attentionQuery, KV * A * G * D)
        for g in 0..<KV {
            for (a, ask) in asks.enumerated() {
                for k in 0..<G {
                    let q = ask.query + (g * G + k) * D
                    let dst = gathered + ((g * A + a) * G + k) * D
                    if let channels = ask.cache[g].keyChannels {
                        for (j, c) in channels.enumerated() { dst[j] = q[c] * shape.scale }
                    } else {
                        for j in 0..<D { dst[j] = q[j] * shape.scale }
                    }
                }
            }
        }
        // Every task gets room for A·G queries (a tail task uses its ask's G).
        let partialStride = A * G * (D + 2)
        let partial = workspace.buffer(.attentionPartial, max(1, tasks.count) * partialStride)
        let scoresStride = (tasks.map { $0.slice.hi - $0.slice.lo }.max() ?? 0) * A * G
        let scores = workspace.buffer(.attentionScores, max(1, tasks.count * scoresStride))

        pool.parallelFor(tasks.count) { range in
            for i in range {
                let task = tasks[i], s = task.slice
                let queries = gathered + (s.group * A + (task.ask ?? 0)) * G * D
                DecodeAttention.attendSlice(head: s.head, lo: s.lo, hi: s.hi, groupSize: task.ask == nil ? A * G : G, D: D,
                                            queries: queries, scores: scores + i * scoresStride,
                                            partial: partial + i * partialStride)
            }
        }

        // Merge each query's parts, context slices first, as `DecodeAttention.run` does.
        for (a, ask) in asks.enumerated() {
            for g in 0..<KV {
                for k in 0..<G {
                    // Context slices (all asks' queries), then this ask's tail slices.
                    let context = contextTasks[g], tail = tailTasks[a][g]
                    _ = DecodeAttention.merge(parts: context.count + tail.count, D: D, into: ask.output + (g * G + k) * D) { s in
                        s < context.count ? (partial + (context.lowerBound + s) * partialStride, A * G, a * G + k)
                            : (partial + (tail.lowerBound + s - context.count) * partialStride, G, k)
                    }
                }
            }
        }
    }
}
