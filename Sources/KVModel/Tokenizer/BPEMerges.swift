import HeapModule

/// The merge table of a byte-level BPE vocabulary and the merge loop over one word.
///
/// A word starts as one token per byte; the adjacent pair with the lowest merge rank is merged
/// (leftmost first among equal ranks) until no pair has a merge — the rule of GPT-2 and of
/// Hugging Face `tokenizers`.
struct BPEMerges: Sendable {
    /// `(left << 32 | right)` → `(rank << 32 | merged id)`.
    private let table: [UInt64: UInt64]

    /// Number of usable merges.
    var count: Int { table.count }

    /// Builds the table from `tokenizer.ggml.merges` (`"left right"` strings in rank order).
    /// Merges whose parts or result are not in the vocabulary are skipped and counted in `skipped`.
    init(merges: [String], index: VocabularyIndex) {
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
        var skipped = 0
        for (rank, merge) in merges.enumerated() {
            guard let space = merge.utf8.firstIndex(of: 0x20) else { skipped += 1; continue }
            let left = String(merge[merge.startIndex..<space])
            let right = String(merge[merge.index(after: space)...])
            guard let l = index.id(of: left), let r = index.id(of: right), let m = index.id(of: left + right) else {
                skipped += 1
                continue
            }
            let key = UInt64(l) << 32 | UInt64(r)
            if table[key] == nil { table[key] = UInt64(rank) << 32 | UInt64(m) }
        }
        self.table = table
        self.skipped = skipped
    }

    /// How many merges could not be used (parts or result missing from the vocabulary).
    let skipped: Int

    @inline(__always) private func lookup(_ l: Int32, _ r: Int32) -> UInt64? {
        table[UInt64(UInt32(bitPattern: l)) << 32 | UInt64(UInt32(bitPattern: r))]
    }

    /// Merges `ids` (initially one token per byte) in place.
    func apply(_ ids: inout [Int32]) {
        if ids.count < 2 { return }
        if ids.count <= 24 { applySmall(&ids) } else { applyLarge(&ids) }
    }

    /// Quadratic loop: fastest for ordinary words.
    private func applySmall(_ ids: inout [Int32]) {
        while ids.count >= 2 {
            var bestRank = UInt64.max
            var bestPos = -1
            var bestID: Int32 = 0
            for p in 0..<(ids.count - 1) {
                if let v = lookup(ids[p], ids[p + 1]), v >> 32 < bestRank {
                    bestRank = v >> 32
                    bestPos = p
                    bestID = Int32(truncatingIfNeeded: v & 0xFFFF_FFFF)
                }
            }
            if bestPos < 0 { return }
            ids[bestPos] = bestID
            ids.remove(at: bestPos + 1)
        }
    }

    /// Linked list plus a min-heap keyed by (rank, position): O(n log n) for long words.
    private func applyLarge(_ ids: inout [Int32]) {
        let n = ids.count
        var next = [Int](0..<n).map { $0 + 1 }
        var prev = [Int](0..<n).map { $0 - 1 }
        next[n - 1] = -1
        var alive = [Bool](repeating: true, count: n)
        var heap = Heap<MergeCandidate>()
        for p in 0..<(n - 1) {
            if let v = lookup(ids[p], ids[p + 1]) {
                heap.insert(MergeCandidate(key: (v >> 32) << 32 | UInt64(p), left: Int32(p), leftID: ids[p], rightID: ids[p + 1],
                                merged: Int32(truncatingIfNeeded: v & 0xFFFF_FFFF)))
            }
        }
        while let e = heap.popMin() {
            let l = Int(e.left)
            guard alive[l], ids[l] == e.leftID else { continue }
            let r = next[l]
            guard r >= 0, ids[r] == e.rightID else { continue }
            ids[l] = e.merged
            alive[r] = false
            next[l] = next[r]
            if next[r] >= 0 { prev[next[r]] = l }
            let pl = prev[l]
            if pl >= 0, let v = lookup(ids[pl], ids[l]) {
                heap.insert(MergeCandidate(key: (v >> 32) << 32 | UInt64(pl), left: Int32(pl), leftID: ids[pl], rightID: ids[l],
                                merged: Int32(truncatingIfNeeded: v & 0xFFFF_FFFF)))
            }
            let nl = next[l]
            if nl >= 0, let v = lookup(ids[l], ids[nl]) {
                heap.insert(MergeCandidate(key: (v >> 32) << 32 | UInt64(l), left: Int32(l), leftID: ids[l], rightID: ids[nl],
                                merged: Int32(truncatingIfNeeded: v & 0xFFFF_FFFF)))
            }
        }
        var out: [Int32] = []
        out.reserveCapacity(n)
        var p = 0
        while p >= 0 { out.append(ids[p]); p = next[p] }
        ids = out
    }
}

/// A queued merge in the heap path: `key` is `rank << 32 | position`, so equal ranks merge leftmost
/// first. Only `key` orders candidates: two with the same key are the same merge.
private struct MergeCandidate: Comparable {
    var key: UInt64
    var left: Int32
    var leftID: Int32
    var rightID: Int32
    var merged: Int32

    static func < (a: MergeCandidate, b: MergeCandidate) -> Bool { a.key < b.key }
    static func == (a: MergeCandidate, b: MergeCandidate) -> Bool { a.key == b.key }
}
