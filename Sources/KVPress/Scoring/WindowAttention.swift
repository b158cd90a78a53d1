import COpenBLAS
import KVModel

/// Softmax attention of the last `window` queries over all keys, with causal masking — what
/// kvpress's `SnapKVPress.compute_window_attention` computes.
enum WindowAttention {
    /// Attention weights `[H, window, T]`: row `i` is query `T - window + i` of each query head
    /// over keys `0..<T` (entries after the query are 0), scaled by `1/√D`.
    /// - Complexity: `H · window · T · D` multiply-adds through `cblas_sgemm`; `H · window · T` floats.
    static func weights(_ input: PressInput, window w: Int) -> [Float] {
        let T = input.tokenCount
        var out = logits(input, window: w)
        out.withUnsafeMutableBufferPointer { buf in
            for r in 0..<(input.headCount * w) {
                let row = buf.baseAddress! + r * T
                let valid = T - w + r % w + 1
                FastMath.softmax(row, valid)
                for j in valid..<T { row[j] = 0 }
            }
        }
        return out
    }

    /// Scaled logits `q·k/√D` `[H, window, T]` of the same queries, `-inf` after each query's row.
    static func logits(_ input: PressInput, window w: Int) -> [Float] {
        let T = input.tokenCount, D = input.headDimension, H = input.headCount, group = input.groupSize
        var out = [Float](repeating: 0, count: H * w * T)
        let scale = 1 / Float(D).squareRoot()
        out.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            // Query heads are independent (each owns its slice of `out`): one per thread.
            ThreadPool.shared.parallelFor(H) { heads in
                for h in heads {
                    let c = base + h * w * T
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(w), Int32(T), Int32(D), scale,
                                input.query(h, T - w), Int32(D), input.key(h / group, 0), Int32(D), 0, c, Int32(T))
                    for i in 0..<w { for j in (T - w + i + 1)..<T { c[i * T + j] = -.infinity } }
                }
            }
        }
        return out
    }

    /// Column sums of full causal attention per query head, `[H, T]`:
    /// `out[h, j] = Σ_{i ≥ j} softmax_i(q_i · k / √D)[j]` (eager attention summed over queries).
    /// Reads `input.columnSums` when the model accumulated them during the prefill (free);
    /// otherwise recomputes, queries in blocks so memory stays `block × T`.
    static func causalColumnSums(_ input: PressInput, block: Int = 256) -> [Float] {
        let T = input.tokenCount, D = input.headDimension, H = input.headCount, group = input.groupSize
        if let sums = input.columnSums { return Array(UnsafeBufferPointer(start: sums, count: H * T)) }
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
                        let m = FastMath.max(row, len)
                        let total = FastMath.expShiftedSum(row, len, shift: m)
                        Vectorised.add(row, scaledBy: 1 / total, into: acc, len)
                    }
                    start += n
                }
            }
        }
        return out
    }
}

/// Small SIMD loops shared by the scorers.
enum Vectorised {
    /// `acc[i] += x[i]` for `n` floats.
    @inline(__always)
    static func add(_ x: UnsafePointer<Float>, into acc: UnsafeMutablePointer<Float>, _ n: Int) {
        let rx = UnsafeRawPointer(x), ra = UnsafeMutableRawPointer(acc)
        var i = 0
        while i + 8 <= n {
            let s = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) + rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            ra.storeBytes(of: s, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { acc[i] += x[i]; i += 1 }
    }

    /// `acc[i] = max(acc[i], x[i])` for `n` floats.
    @inline(__always)
    static func maximum(_ x: UnsafePointer<Float>, into acc: UnsafeMutablePointer<Float>, _ n: Int) {
        let rx = UnsafeRawPointer(x), ra = UnsafeMutableRawPointer(acc)
        var i = 0
        while i + 8 <= n {
            let a = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let b = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            ra.storeBytes(of: pointwiseMax(a, b), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { acc[i] = Swift.max(acc[i], x[i]); i += 1 }
    }

    /// `acc[i] += x[i] · factor` for `n` floats.
    @inline(__always)
    static func add(_ x: UnsafePointer<Float>, scaledBy factor: Float, into acc: UnsafeMutablePointer<Float>, _ n: Int) {
        let rx = UnsafeRawPointer(x), ra = UnsafeMutableRawPointer(acc)
        var i = 0
        while i + 8 <= n {
            let s = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                + rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * factor
            ra.storeBytes(of: s, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { acc[i] += x[i] * factor; i += 1 }
    }

    /// `Σ |x[i]|` for `n` floats.
    @inline(__always)
    static func l1(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let rx = UnsafeRawPointer(x)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            let a = rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let b = rx.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
            s0 += a.replacing(with: -a, where: a .< 0)
            s1 += b.replacing(with: -b, where: b .< 0)
            i += 16
        }
        var s = (s0 + s1).sum()
        while i < n { s += abs(x[i]); i += 1 }
        return s
    }
}
