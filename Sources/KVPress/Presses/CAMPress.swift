import Foundation
import KVModel

/// Cache merging: before eviction, values are merged forward into their successors with a
/// probability set by their attention, then SnapKV-style window attention picks what stays
/// (KVCache-Factory `CAMKVCluster`, KV-head granularity).
///
/// Attention rows of the last `window_size` queries (causal), combined over the GQA group by
/// `gqa_score_agg`, give per key `A[j]` (mean over the rows) and the selection score (their sum).
/// Walking `p` from `⌈start_budget_ratio·T⌉` to `T − window_size − 1`, token `p`'s value is merged
/// with probability `A[p] / max(A[0..<start], A[p..<p+window_size])` (a seeded Bernoulli draw):
/// `v[p]/window_size` is added to each of `v[p+1…p+window_size]` (the merged value itself may have
/// received earlier merges). Then the last `window_size` tokens stay and the rest of the budget
/// `Int(T·(1 − compression_ratio))` goes to the highest scores; kept entries store the merged values.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on CaM (ICML 2024), https://proceedings.mlr.press/v235/zhang24n.html.
public final class CAMPress: Press, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let windowSize: Int
    public let startBudgetRatio: Double
    public let seed: Int?
    public let aggregation: GQAScoreAggregation

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        windowSize = arguments[.windowSize]
        startBudgetRatio = arguments[.startBudgetRatio]
        seed = arguments[.seed]
        aggregation = arguments[.gqaScoreAgg]
    }

    public func compress(_ input: PressInput) throws {
        guard compressionRatio > 0 else { return }
        let T = input.tokenCount, G = input.headCountKV, D = input.headDimension, w = windowSize
        guard T > w else { throw PressError.contextTooShort(press: name, tokens: T, needed: w + 1) }
        let sums = aggregation.aggregate(WindowAttention.windowColumnSums(input, window: w), headCount: input.headCount,
                                         headCountKV: G, count: T)
        let start = Int((startBudgetRatio * Double(T)).rounded(.up))
        let budget = Int(Double(T) * (1 - compressionRatio))
        var kept: [[Int]] = []
        var merged: [[Float]] = []
        for g in 0..<G {
            let A = (0..<T).map { sums[g * T + $0] / Float(w) }
            var v = [Float](repeating: 0, count: T * D)
            v.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: input.value(g, 0), count: T * D) }
            var changed = [Bool](repeating: false, count: T)
            var rng = SplitMix64(seed: seed.map { UInt64(bitPattern: Int64($0)) &+ UInt64(input.layer * 64 + g) &* 0x9E37_79B9_7F4A_7C15 }
                                 ?? UInt64.random(in: .min ... .max))
            let startMax = A[0..<min(start, T)].max() ?? -.infinity
            if start < T - w {
                for p in start..<(T - w) {
                    let m = max(startMax, A[p..<(p + w)].max()!)
                    var prob = A[p] / m
                    if prob.isNaN { prob = 0 }
                    if prob.isInfinite { prob = 1 }
                    guard rng.nextUnitFloat() < min(max(prob, 0), 1) else { continue }
                    let share = 1 / Float(w)
                    v.withUnsafeMutableBufferPointer { buf in
                        let base = buf.baseAddress!
                        for r in (p + 1)...(p + w) { Vectorised.add(base + p * D, scaledBy: share, into: base + r * D, D) }
                    }
                    for r in (p + 1)...(p + w) { changed[r] = true }
                }
            }
            let past = Array(sums[(g * T)..<(g * T + T - w)])
            let top = past.withUnsafeBufferPointer { TopK.indices($0.baseAddress!, count: T - w, keep: max(0, budget - w)) }
            let rows = budget >= w ? top + Array((T - w)..<T) : Array((T - budget)..<T)
            kept.append(rows)
            merged.append(rows.contains { changed[$0] } ? v : [])
        }
        input.keep(kept)
        for g in 0..<G where !merged[g].isEmpty {
            merged[g].withUnsafeBufferPointer { v in
                for (i, t) in kept[g].enumerated() { input.cache[g].setValue(i, v.baseAddress! + t * D) }
            }
        }
    }
}
