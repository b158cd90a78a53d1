import Foundation
import KVModel

/// Head-wise budgets from a retrieval-head profile (KVCache-Factory `HeadKVCluster`).
///
/// Each query head's share of the layer-summed budget follows its profile score (HeadKV's
/// retrieval-reasoning heads): with `B = n_kept − window_size`, `n_kept = Int(T·(1 − compression_ratio))`,
/// query head `(l, h)` gets `round(s[l][h]/Σs · ⌊B/beta⌋·L·H + B − ⌊B/beta⌋)` entries besides the
/// window (KVCache-Factory's `run_longbench.py`); a KV head takes the rounded mean of its group,
/// clamped to `[0, T − window_size]`. It keeps the window plus its budget of the best keys by
/// window attention: the last `window_size` queries' attention averaged over rows, combined over
/// the group by `gqa_score_agg`, then max-pooled (`kernel_size`). Heads really keep different
/// lengths; the total is `n_kept` per head on average up to rounding and clamping.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on HeadKV, https://arxiv.org/abs/2410.19258.
public final class HeadKVPress: Press, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let profilePath: String
    public let profile: HeadProfile
    public let windowSize: Int
    public let kernelSize: Int
    public let beta: Double
    public let aggregation: GQAScoreAggregation

    /// - Throws: `PressError.badFile` when the profile is missing or malformed.
    public init(_ arguments: PressArguments) throws {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        profilePath = arguments[.profile]
        profile = profilePath == "default" ? try HeadProfile.bundledDefault() : try HeadProfile(contentsOf: profilePath)
        windowSize = arguments[.windowSize]
        kernelSize = arguments[.kernelSize]
        beta = arguments[.beta]
        aggregation = arguments[.gqaScoreAgg]
    }

    /// Entries each KV head of `layer` keeps besides the window, for a context of `T` tokens.
    ///
    /// KVCache-Factory's budgets, averaged over each GQA group; a head cannot keep more than the
    /// `T − window_size` entries there are, so budgets beyond that are clamped and the excess is
    /// handed to the other heads in proportion to their budgets (one scale factor for all heads,
    /// found by bisection), keeping the model-wide total at `L·G·(n_kept − window_size)`.
    public func headBudgets(layer: Int, layerCount L: Int, headCount H: Int, headCountKV G: Int, tokens T: Int) -> [Int] {
        let w = min(windowSize, T)
        let B = max(0, Int(Double(T) * (1 - compressionRatio)) - w)
        let s = profile.scores
        let total = s.joined().reduce(0, +)
        let pool = (Double(B) / beta).rounded(.down)
        let minimum = Double(B) - pool
        let group = H / G
        var desired = [[Double]](repeating: [Double](repeating: 0, count: G), count: L)
        for l in 0..<L {
            for g in 0..<G {
                var sum = 0.0
                for h in (g * group)..<((g + 1) * group) {
                    let share = total > 0 ? s[l][h] / total : 1 / Double(L * H)
                    sum += (share * pool * Double(L * H) + minimum).rounded()
                }
                desired[l][g] = sum / Double(group)
            }
        }
        let cap = Double(T - w), target = Double(L * G * B)
        func spent(_ scale: Double) -> Double { desired.joined().reduce(0) { $0 + min($1 * scale, cap) } }
        var lo = 1.0, hi = 1.0
        if spent(1) < target {
            while spent(hi) < target && hi < 1e9 { hi *= 2 }
            for _ in 0..<60 { let mid = (lo + hi) / 2; if spent(mid) < target { lo = mid } else { hi = mid } }
        }
        return desired[layer].map { min(max(0, Int(($0 * hi).rounded())), T - w) }
    }

    public func compress(_ input: PressInput) throws {
        guard compressionRatio > 0 else { return }
        let T = input.tokenCount, H = input.headCount, G = input.headCountKV, w = windowSize
        guard T > w else { throw PressError.contextTooShort(press: name, tokens: T, needed: w + 1) }
        guard profile.layerCount == input.geometry.layerCount, profile.headCount == H else {
            throw PressError.badFile(press: name, path: profilePath,
                                     reason: "the profile has \(profile.layerCount)×\(profile.headCount) heads, the model \(input.geometry.layerCount)×\(H)")
        }
        let n = T - w
        let sums = WindowAttention.windowColumnSums(input, window: w)
        var past = [Float](repeating: 0, count: H * n)
        for h in 0..<H { for j in 0..<n { past[h * n + j] = sums[h * T + j] / Float(w) } }
        let scores = Self.maxPool(aggregation.aggregate(past, headCount: H, headCountKV: G, count: n), rows: G, count: n, kernel: kernelSize)
        let budgets = headBudgets(layer: input.layer, layerCount: input.geometry.layerCount, headCount: H, headCountKV: G, tokens: T)
        let top = TopK.perHead(scores, heads: G, count: n, keep: budgets)
        input.keep(top.map { $0 + Array(n..<T) })
    }

    /// `F.max_pool1d(x, kernel, stride=1, padding=kernel/2)` per row (same length for odd kernels).
    static func maxPool(_ x: [Float], rows: Int, count n: Int, kernel: Int) -> [Float] {
        guard kernel > 1 else { return x }
        let pad = kernel / 2
        var out = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for i in 0..<n {
                var m = -Float.infinity
                for j in max(0, i - pad)...min(n - 1, i - pad + kernel - 1) { m = max(m, x[r * n + j]) }
                out[r * n + i] = m
            }
        }
        return out
    }
}
