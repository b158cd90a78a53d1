import COpenBLAS
import KVModel

/// Softmax attention of the last `window` queries over all keys, with causal masking — what
/// kvpress's `SnapKVPress.compute_window_attention` computes.
enum WindowAttention {
    /// Attention weights `[H, window, T]`: row `i` is query `T - window + i` of each query head
    /// over keys `0..<T` (entries after the query are 0), scaled by `1/√D`.
    /// - Complexity: `H · window · T · D` multiply-adds through `cblas_sgemm`; `H · window · T` floats.
    static func weights(_ input: PressInput, window w: Int) -> [Float] {
        let T = input.tokenCount, D = input.headDimension, H = input.headCount, group = input.groupSize
        var out = [Float](repeating: 0, count: H * w * T)
        let scale = 1 / Float(D).squareRoot()
        out.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            for h in 0..<H {
                let c = base + h * w * T
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(w), Int32(T), Int32(D), scale,
                            input.query(h, T - w), Int32(D), input.key(h / group, 0), Int32(D), 0, c, Int32(T))
                for i in 0..<w {
                    let valid = T - w + i + 1
                    let row = c + i * T
                    FastMath.softmax(row, valid)
                    for j in valid..<T { row[j] = 0 }
                }
            }
        }
        return out
    }

    /// Column sums of full causal attention per query head, `[H, T]`:
    /// `out[h, j] = Σ_{i ≥ j} softmax_i(q_i · k / √D)[j]` (eager attention summed over queries).
    /// Queries run in blocks so memory stays `block × T`.
    static func causalColumnSums(_ input: PressInput, block: Int = 256) -> [Float] {
        let T = input.tokenCount, D = input.headDimension, H = input.headCount, group = input.groupSize
        var out = [Float](repeating: 0, count: H * T)
        let scale = 1 / Float(D).squareRoot()
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: block * T)
        defer { rows.deallocate() }
        out.withUnsafeMutableBufferPointer { buf in
            for h in 0..<H {
                let acc = buf.baseAddress! + h * T
                var start = 0
                while start < T {
                    let n = min(block, T - start)
                    let valid = start + n  // keys any query of the block can see
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(valid), Int32(D), scale,
                                input.query(h, start), Int32(D), input.key(h / group, 0), Int32(D), 0, rows, Int32(valid))
                    for i in 0..<n {
                        let row = rows + i * valid
                        let len = start + i + 1
                        FastMath.softmax(row, len)
                        for j in 0..<len { acc[j] += row[j] }
                    }
                    start += n
                }
            }
        }
        return out
    }
}
