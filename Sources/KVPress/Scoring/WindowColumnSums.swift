import COpenBLAS
import Foundation
import KVModel

extension WindowAttention {
    /// Per query head, the (optionally decayed) sum of the attention rows of the last `window`
    /// queries, `[H, T]`: `out[h, j] = Σ_i decay^(window−1−i) · softmax_i(q_i · k / √D)[j]`, query
    /// `i` being context row `T − window + i` (causal: it sees keys `0...T − window + i`).
    /// - Complexity: `H · window · T · D` multiply-adds through `cblas_sgemm`; `window × T` floats of scratch.
    static func windowColumnSums(_ input: PressInput, window w: Int, decay: Float = 1) -> [Float] {
        let T = input.tokenCount, D = input.headDimension, H = input.headCount, group = input.groupSize
        let w = min(w, T)
        var out = [Float](repeating: 0, count: H * T)
        let scale = 1 / Float(D).squareRoot()
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: max(w * T, 1))
        defer { rows.deallocate() }
        out.withUnsafeMutableBufferPointer { buf in
            for h in 0..<H {
                let acc = buf.baseAddress! + h * T
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(w), Int32(T), Int32(D), scale,
                            input.query(h, T - w), Int32(D), input.key(h / group, 0), Int32(D), 0, rows, Int32(T))
                var weight: Float = 1
                for i in stride(from: w - 1, through: 0, by: -1) {
                    let row = rows + i * T
                    let len = T - w + i + 1
                    let m = FastMath.max(row, len)
                    let total = FastMath.expShiftedSum(row, len, shift: m)
                    Vectorised.add(row, scaledBy: weight / total, into: acc, len)
                    weight *= decay
                }
            }
        }
        return out
    }
}

/// Weighted sampling without replacement (as `torch.multinomial(weights, k, replacement=False)`),
/// by Efraimidis–Spirakis keys `log(u) / w`: the `k` largest keys win.
enum WeightedSample {
    /// `k` distinct items of `candidates`, drawn with probabilities proportional to `weights`
    /// (same order as `candidates`; non-positive weights are drawn last).
    static func draw<R: RandomNumberGenerator>(_ candidates: [Int], weights: [Float], count k: Int, using rng: inout R) -> [Int] {
        let k = min(k, candidates.count)
        guard k > 0 else { return [] }
        var keyed = [(key: Double, index: Int)]()
        keyed.reserveCapacity(candidates.count)
        for (i, c) in candidates.enumerated() {
            let u = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-300)
            let w = Double(weights[i])
            keyed.append((w > 0 ? log(u) / w : -Double.greatestFiniteMagnitude + log(u), c))
        }
        keyed.sort { $0.key > $1.key }
        return keyed[0..<k].map(\.index)
    }

    /// `softmax(scores / temperature)` (uniform when `temperature ≤ 0` or the result is degenerate).
    static func softmaxWeights(_ scores: [Float], temperature: Float) -> [Float] {
        guard temperature > 0, let m = scores.max(), m.isFinite else { return [Float](repeating: 1, count: scores.count) }
        var w = scores.map { FastMath.exp(($0 - m) / temperature) }
        let s = w.reduce(0, +)
        if !(s > 0) || !s.isFinite { return [Float](repeating: 1, count: scores.count) }
        for i in w.indices { w[i] /= s }
        return w
    }
}
