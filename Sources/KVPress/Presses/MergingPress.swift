import COpenBLAS
import KVModel

/// Evicts like its inner scorer, but first folds each evicted value into the kept entry whose key
/// is most cosine-similar (kvpress `MergingPress`). Keys are untouched (RoPE-safe).
///
/// For an evicted entry `e` with best kept match `k` (similarity `s ≥ similarity_threshold`), the
/// weight is `max(s, 0)·‖v_e‖/(‖v_e‖ + ‖v_k‖ + 1e-6)`; every kept value becomes
/// `(v_k + Σ w_e v_e)/(1 + Σ w_e)` over the entries merged into it. With `merge_fraction < 1` only
/// the evicted entries with the highest similarities (above that quantile) merge.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Inspired by Token Merging (https://arxiv.org/abs/2210.09461) and D2O (https://arxiv.org/abs/2406.13035).
public final class MergingPress: Press, CatalogPress {
    public let arguments: PressArguments
    public let press: ScorerPress
    public let similarityThreshold: Double
    public let mergeFraction: Double

    public init(_ arguments: PressArguments, press: ScorerPress) {
        self.arguments = arguments
        self.press = press
        similarityThreshold = arguments[.similarityThreshold]
        mergeFraction = arguments[.mergeFraction]
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double { press.compressionRatio }

    public func compress(_ input: PressInput) throws {
        guard press.compressionRatio > 0 else { return }
        let T = input.tokenCount, G = input.headCountKV
        let kept = TopK.perHead(try press.score(input), heads: G, count: T, keep: press.keptCount(T))
        // Heads are independent (each writes only its own values): run them on kvd's pool, since
        // OpenBLAS is single-threaded.
        ThreadPool.shared.parallelFor(G) { heads in
            for g in heads { self.merge(head: g, keep: kept[g], input) }
        }
        input.keep(kept)
    }

    /// Folds head `g`'s evicted values into their most similar entries of `keep`.
    private func merge(head g: Int, keep: [Int], _ input: PressInput) {
        let T = input.tokenCount, D = input.headDimension
        let eps: Float = 1e-6
        guard !keep.isEmpty, keep.count < T else { return }
        var isKept = [Bool](repeating: false, count: T)
        for j in keep { isKept[j] = true }
        let evicted = (0..<T).filter { !isKept[$0] }
        let keyNorms = Norms.l2(input.key(g, 0), rows: T, width: D).map { max($0, eps) }
        let valueNorms = Norms.l2(input.value(g, 0), rows: T, width: D)
        // Cosine similarities [evicted, kept] through one sgemm on unit keys.
        func unit(_ rows: [Int]) -> [Float] {
            var out = [Float](repeating: 0, count: rows.count * D)
            for (i, t) in rows.enumerated() { let k = input.key(g, t); for c in 0..<D { out[i * D + c] = k[c] / keyNorms[t] } }
            return out
        }
        let ue = unit(evicted), uk = unit(keep)
        var sims = [Float](repeating: 0, count: evicted.count * keep.count)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(evicted.count), Int32(keep.count), Int32(D), 1,
                    ue, Int32(D), uk, Int32(D), 0, &sims, Int32(keep.count))
        var best = [Float](repeating: -.infinity, count: evicted.count)
        var target = [Int](repeating: 0, count: evicted.count)
        let n = keep.count
        sims.withUnsafeBufferPointer { s in
            for e in 0..<evicted.count {
                let row = s.baseAddress! + e * n
                var top = -Float.infinity, at = 0
                for i in 0..<n where row[i] > top { top = row[i]; at = i }
                best[e] = top
                target[e] = at
            }
        }
        var ok = best.map { $0 >= Float(similarityThreshold) }
        if mergeFraction < 1, ok.contains(true) {
            let q = Self.quantile(zip(best, ok).map { $1 ? $0 : -.infinity }, 1 - mergeFraction)
            for e in 0..<ok.count { ok[e] = ok[e] && best[e] >= q }
        }
        var accum = [Float](repeating: 0, count: keep.count * D), weight = [Float](repeating: 0, count: keep.count)
        for (e, t) in evicted.enumerated() where ok[e] {
            let i = target[e]
            let w = max(best[e], 0) * valueNorms[t] / (valueNorms[t] + valueNorms[keep[i]] + eps)
            let v = input.value(g, t)
            for c in 0..<D { accum[i * D + c] += w * v[c] }
            weight[i] += w
        }
        let head = input.cache[g]
        var merged = [Float](repeating: 0, count: D)
        for (i, k) in keep.enumerated() where weight[i] > 0 {
            let v = input.value(g, k)
            for c in 0..<D { merged[c] = (v[c] + accum[i * D + c]) / (1 + weight[i]) }
            head.setValue(k, merged)
        }
    }

    /// `torch.quantile` with linear interpolation.
    static func quantile(_ x: [Float], _ q: Double) -> Float {
        let s = x.sorted()
        let pos = q * Double(s.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, s.count - 1)
        let f = Float(pos - Double(lo))
        return s[lo] + (s[hi] - s[lo]) * f
    }
}
