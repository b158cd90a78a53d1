/// Linear layers on T tokens: the one place that chooses how `y = W·x` runs.
///
/// Three paths, all splitting output rows over the pool's threads:
/// - `.matvec`: one token at a time (`Q8Vector` + the mat-vec kernels); for T = 1.
/// - `.batched`: the T tokens quantized once (`Q8Batch`), each weight block unpacked once per
///   tile of up to four tokens (`IntegerDot`); float layouts read each row once for all tokens.
/// - `.dense`: the weights dequantized to f32 (every call: nothing is cached between calls)
///   and one `BLAS.parallelSgemm`.
///
/// `.batched` beats `.dense` below a crossover T that depends on the type (how much a weight
/// block costs to unpack) and is given by `crossover(_:)`, measured with
/// `KVD_BENCH=1 swift test -c release --filter KernelSpeedTests/testLinearPaths` on Qwen2.5-0.5B
/// shapes (896×896, 896→4864, 4864→896, 896→151936), two threads, medians of interleaved runs.
/// See `crossover(_:)` for the table.
///
/// A `Linear` owns its scratch (quantized activations, the dequantized-weights buffer), grown
/// on demand and never shrunk: no allocation per call once sized. Not thread-safe: one per
/// forward pass in flight.
public final class Linear: @unchecked Sendable {
    /// How a call runs (see the type's documentation).
    public enum Path: Equatable, Sendable { case matvec, batched, dense }

    /// The threads every path splits output rows over.
    public let pool: ThreadPool
    private var vector: Q8Vector
    private let batch = Q8Batch()
    private var dense: UnsafeMutablePointer<Float>
    private var denseCapacity = 0

    public init(pool: ThreadPool = .shared) {
        self.pool = pool
        vector = Q8Vector(capacity: 32)
        dense = .allocate(capacity: 1)
    }

    deinit { dense.deallocate() }

    /// The smallest T for which `.dense` beats `.batched` for matrices of `type` (measured,
    /// two threads; numbers in ms are medians for T = the crossover on 896→4864 unless noted).
    public static func crossover(_ type: GGMLType) -> Int {
        switch type {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: return 64
        case .f32, .f16, .bf16: return 16
        }
    }

    /// The path `apply` takes for `matrices` (sharing one input) on `T` tokens: decided by the
    /// matrix with the most weight bytes.
    public static func path(for matrices: [QuantizedMatrix], tokens T: Int) -> Path {
        if T <= 1 { return .matvec }
        guard let main = matrices.max(by: { $0.rows &* $0.sourceRowBytes < $1.rows &* $1.sourceRowBytes }) else { return .matvec }
        return T < crossover(main.type) ? .batched : .dense
    }

    /// `y_t = [W_0·x_t, W_1·x_t, …]` for t in 0..<T: the matrices' outputs side by side.
    ///
    /// - Parameters:
    ///   - matrices: all with the same `columns`.
    ///   - x: token t's input at `x + t·inputStride` (`columns` floats).
    ///   - y: token t's outputs at `y + t·outputStride` (Σ rows floats).
    ///   - T: number of tokens.
    ///   - path: force a path (tests, benchmarks); `nil` = `path(for:tokens:)`.
    public func apply(_ matrices: [QuantizedMatrix], _ x: UnsafePointer<Float>, inputStride: Int,
                      _ y: UnsafeMutablePointer<Float>, outputStride: Int, rows T: Int, path: Path? = nil) {
        guard T > 0, let first = matrices.first else { return }
        let columns = first.columns
        var total = 0
        for m in matrices {
            precondition(m.columns == columns, "matrices of \(m.columns) and \(columns) columns share an input")
            total &+= m.rows
        }
        precondition(T == 1 || (inputStride >= columns && outputStride >= total), "strides shorter than a row")
        switch path ?? Self.path(for: matrices, tokens: T) {
        case .matvec:
            if vector.capacity < columns { vector = Q8Vector(capacity: columns) }
            for t in 0..<T {
                vector.quantize(x + t &* inputStride, count: columns)
                let q = vector
                let yt = y + t &* outputStride
                forEachRowRange(matrices, total, grain: 16) { m, range, offset in m.matvecRows(range, q, yt + offset) }
            }
        case .batched:
            batch.quantize(x, stride: inputStride, tokens: T, columns: columns, pool: pool)
            let q = batch.rows
            forEachRowRange(matrices, total, grain: max(1, 64 / T)) { m, range, offset in
                m.batchRows(range, q, x, inputStride: inputStride, y + offset, outputStride: outputStride)
            }
        case .dense:
            let weights: UnsafePointer<Float>
            if matrices.count == 1 && first.type == .f32 {
                weights = first.source.assumingMemoryBound(to: Float.self)
            } else {
                if denseCapacity < total &* columns {
                    dense.deallocate()
                    dense = .allocate(capacity: total &* columns)
                    denseCapacity = total &* columns
                }
                var row = 0
                for m in matrices {
                    Dequantize.tensor(m.type, from: m.source, to: dense + row &* columns, rows: m.rows, rowLength: columns, pool: pool)
                    row &+= m.rows
                }
                weights = UnsafePointer(dense)
            }
            BLAS.parallelSgemm(m: T, n: total, k: columns, a: x, lda: inputStride, b: weights, c: y, ldc: outputStride, pool: pool)
        }
    }

    /// Runs `body(matrix, rows of it, its first output column)` over the stacked rows of
    /// `matrices` in one parallel region.
    @inline(__always)
    private func forEachRowRange(_ matrices: [QuantizedMatrix], _ total: Int, grain: Int,
                                 _ body: (QuantizedMatrix, Range<Int>, Int) -> Void) {
        pool.parallelFor(total, grain: grain) { range in
            var start = 0
            for m in matrices {
                let lo = max(range.lowerBound, start), hi = min(range.upperBound, start &+ m.rows)
                if lo < hi { body(m, (lo &- start)..<(hi &- start), start) }
                start &+= m.rows
            }
        }
    }
}
