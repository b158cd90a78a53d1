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
/// - Parameters:
///   - compression_ratio: fraction of KV pairs removed, `[0, 1)`; default `0.0`.
///   - window_size: recent queries scoring the context, always kept, `≥ 1`; default `64`.
///   - start_budget_ratio: leading share of the context never merged, `[0, 1]`; default `0.1`.
///   - seed: seed of the merge draws, or `none`; default `none`.
///   - gqa_score_agg: `mean`, `max` or `sum`; default `mean`.
///
/// Based on CaM (ICML 2024), https://proceedings.mlr.press/v235/zhang24n.html.
public final class CAMPress: Press {
    public let name = "cam"
    public var compressionRatio: Double
    public var windowSize: Int
    public var startBudgetRatio: Double
    public var seed: Int?
    public var aggregation: GQAScoreAggregation

    public init(compressionRatio: Double = 0.0, windowSize: Int = 64, startBudgetRatio: Double = 0.1, seed: Int? = nil,
                aggregation: GQAScoreAggregation = .mean) throws {
        try Validate.ratio(compressionRatio, press: "cam")
        try Validate.atLeast(windowSize, 1, "window_size", press: "cam")
        guard (0...1).contains(startBudgetRatio) else {
            throw PressError.invalidValue(press: "cam", parameter: "start_budget_ratio", value: String(startBudgetRatio), expected: "a number in [0, 1]")
        }
        self.compressionRatio = compressionRatio
        self.windowSize = windowSize
        self.startBudgetRatio = startBudgetRatio
        self.seed = seed
        self.aggregation = aggregation
    }

    public var parameterValues: [(String, String)] {
        [("compression_ratio", String(compressionRatio)), ("window_size", String(windowSize)),
         ("start_budget_ratio", String(startBudgetRatio)), ("seed", seed.map(String.init) ?? "none"),
         ("gqa_score_agg", aggregation.rawValue)]
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

    static let descriptor = PressDescriptor(
        name: "cam", summary: "merges values forward by attention-driven Bernoulli draws, then keeps SnapKV-style",
        reference: "https://proceedings.mlr.press/v235/zhang24n.html",
        parameters: [
            PressParameter("compression_ratio", "0.0", "fraction of KV pairs removed, [0, 1)"),
            PressParameter("window_size", "64", "recent queries scoring the context, always kept, ≥ 1"),
            PressParameter("start_budget_ratio", "0.1", "leading share of the context never merged, [0, 1]"),
            PressParameter("seed", "none", "seed of the merge draws (integer), or none"),
            PressParameter("gqa_score_agg", "mean", "mean, max or sum over the query heads of a KV head"),
        ]
    ) { args, _ in
        try CAMPress(compressionRatio: args.ratio(), windowSize: args.int("window_size", minimum: 1),
                     startBudgetRatio: args.double("start_budget_ratio", in: 0...1), seed: args.optionalInt("seed"),
                     aggregation: args.aggregation())
    }
}
