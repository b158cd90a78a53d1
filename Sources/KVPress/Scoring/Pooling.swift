import KVModel

/// 1-D pooling and normalisation over the token axis, as `torch.nn.functional` does them.
enum Pooling {
    /// `F.avg_pool1d(x, kernel, stride=1, padding=kernel/2)` on each of `rows` rows of length `n`,
    /// with zero padding counted in the average (`count_include_pad=True`).
    static func average(_ x: [Float], rows: Int, count n: Int, kernel: Int) -> [Float] {
        guard kernel > 1 else { return x }
        let pad = kernel / 2
        let outLength = n + 2 * pad - kernel + 1
        var out = [Float](repeating: 0, count: rows * outLength)
        for r in 0..<rows {
            for i in 0..<outLength {
                var s: Float = 0
                for j in (i - pad)..<(i - pad + kernel) where j >= 0 && j < n { s += x[r * n + j] }
                out[r * outLength + i] = s / Float(kernel)
            }
        }
        return out
    }

    /// Mean and unbiased standard deviation of all of `x` (`torch.mean`, `torch.std`).
    static func meanStd(_ x: [Float]) -> (mean: Float, std: Float) {
        guard !x.isEmpty else { return (0, 0) }
        var s = 0.0
        for v in x { s += Double(v) }
        let mean = s / Double(x.count)
        var q = 0.0
        for v in x { q += (Double(v) - mean) * (Double(v) - mean) }
        let std = x.count > 1 ? (q / Double(x.count - 1)).squareRoot() : 0
        return (Float(mean), Float(std))
    }

    /// `(x - mean) / max(std, 1e-6)` over the whole tensor (kvpress's z-normalisation).
    static func zScore(_ x: [Float]) -> [Float] {
        let (m, s) = meanStd(x)
        let denom = Swift.max(s, 1e-6)
        return x.map { ($0 - m) / denom }
    }

    /// Pads each of `rows` rows of `[rows, n]` with `left` and `right` copies of `value`.
    static func pad(_ x: [Float], rows: Int, count n: Int, left: Int, right: Int, value: Float) -> [Float] {
        let m = n + left + right
        var out = [Float](repeating: value, count: rows * m)
        for r in 0..<rows {
            for j in 0..<n { out[r * m + left + j] = x[r * n + j] }
        }
        return out
    }

    /// The largest finite element (`-inf` when empty).
    static func max(_ x: [Float]) -> Float { x.reduce(-Float.infinity) { Swift.max($0, $1) } }

    /// Softmax of each of `rows` rows of `[rows, n]` over its first `count` columns, in place;
    /// the remaining columns become 0, and a row with no finite logit becomes all 0.
    static func softmaxRows(_ x: inout [Float], rows: Int, stride n: Int, count: Int) {
        x.withUnsafeMutableBufferPointer { buf in
            for r in 0..<rows {
                let row = buf.baseAddress! + r * n
                let m = FastMath.max(row, count)
                if m == -.infinity {
                    for j in 0..<n { row[j] = 0 }
                    continue
                }
                let total = FastMath.expShiftedSum(row, count, shift: m)
                FastMath.scale(row, count, by: 1 / total)
                for j in count..<n { row[j] = 0 }
            }
        }
    }
}
