/// Selection of the highest-scoring entries, as `torch.topk` followed by a sort of the indices.
enum TopK {
    /// The `keep` indices of `scores[0..<n]` with the highest values, ascending.
    /// Ties go to the lower index; NaN counts as lowest.
    static func indices(_ scores: UnsafePointer<Float>, count n: Int, keep k: Int) -> [Int] {
        let k = max(0, min(k, n))
        if k == n { return Array(0..<n) }
        if k == 0 { return [] }
        var order = Array(0..<n)
        order.sort { a, b in
            let x = scores[a], y = scores[b]
            if x == y || (x.isNaN && y.isNaN) { return a < b }
            if x.isNaN { return false }
            if y.isNaN { return true }
            return x > y
        }
        var kept = Array(order[0..<k])
        kept.sort()
        return kept
    }

    /// Per KV head: the `keep` best of each row of `[heads, n]` scores, ascending.
    static func perHead(_ scores: [Float], heads: Int, count n: Int, keep k: Int) -> [[Int]] {
        scores.withUnsafeBufferPointer { p in
            (0..<heads).map { g in indices(p.baseAddress! + g * n, count: n, keep: k) }
        }
    }

    /// Per KV head with its own budget `keep[g]`.
    static func perHead(_ scores: [Float], heads: Int, count n: Int, keep: [Int]) -> [[Int]] {
        scores.withUnsafeBufferPointer { p in
            (0..<heads).map { g in indices(p.baseAddress! + g * n, count: n, keep: keep[g]) }
        }
    }
}
