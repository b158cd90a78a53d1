/// Linear layers on T tokens: the one place that chooses how `y = W·x` runs.
///
/// Three paths, all splitting output rows over the pool's threads:
/// - `.matvec`: one token at a time (`Q8Vector` + the mat-vec kernels); for T = 1.
/// - `.batched`: the T tokens quantized once (`Q8Batch`), each weight block unpacked once per
///   tile of up to four tokens (`IntegerDot`); float layouts read each row once for all tokens.
/// - `.dense`: f32 FMA on the tokens with the weights dequantized a small panel at a time
///   (`PanelGEMM`): no f32 copy of the matrix, nothing cached between calls.
///
/// `.batched` beats `.dense` below a crossover T that depends on the type (how much a weight
/// block costs to unpack, how fast the type dequantizes) and somewhat on the shape; it is
/// `crossover(_:)`, measured with
/// `KVD_BENCH=1 swift test -c release --filter KernelSpeedTests/testLinearPaths`
/// (Qwen2.5-0.5B Q4_K_M tensors, synthetic rows for the types the file lacks; one thread
/// timed by its CPU time, medians of 7 interleaved runs; every path splits rows over the
/// threads the same way). T where dense first beats batched, T ∈ {1,2,3,4,6,8,12,16,24,32,48,64,96,128}:
///
///     matrix                         type   crossover   batched / dense ms at T = 16, 128
///     attn_q 896→896                 q5_0   96–128       1.10 / 1.61    10.1 / 8.5
///     ffn_up 896→4864                q5_0   > 128        4.69 / 12.4    40.1 / 43.9
///     ffn_down 4864→896              q6_K   96–128       6.27 / 12.8    51.2 / 47.6
///     ffn_down 4864→896              q4_K   96–128       5.43 / 9.80    65.6 / 58.4
///     output 896→151936              q8_0   > 128         197 / 489     1628 / 2229
///     synthetic 896→4864             q4_0   > 128        5.98 / 16.3    51.8 / 77.5
///     synthetic 896→4864             q4_1   > 128        6.23 / 14.6    53.2 / 77.3
///     synthetic 896→4864             q5_1   > 128        7.17 / 18.0    59.0 / 70.5
///     synthetic 4864→896             q5_K   > 128        8.42 / 58.2     103 / 106
///     synthetic 896→4864             f16    ~128         7.24 / 13.1    62.0 / 63.5
///     synthetic 896→4864             bf16   64           8.49 / 14.0    52.4 / 48.6
///     synthetic 896→4864             f32    24           6.09 / 6.66    50.5 / 47.6
///
/// (f32 dense needs no dequantization; q5_K's dequantizer is slow.) For the questions kvd
/// answers (8–100 tokens) batched is 1.5–2.7× faster than dense at T = 16 for the quantized
/// types (q5_K 6.9×, f32 1.1×); against T mat-vecs it saves 1.05–1.7× with the weights in
/// cache and, when they stream from memory as in a real forward, 2.5× (the 144 MB output
/// matrix: 197 against 493 ms at T = 16). The
/// dense path also needs rows × columns × 4 bytes of scratch (544 MB for that matrix).
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

    /// The smallest T for which `.apply` takes `.dense` for matrices of `type` (see the table
    /// above: q4_K and q6_K midway between their measured 96 and 128; types measured past 128
    /// at 128, as dense also costs a float copy of the weights).
    public static func crossover(_ type: GGMLType) -> Int {
        switch type {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q5_K, .f16: return 128
        case .q4_K, .q6_K: return 112
        case .bf16: return 64
        case .f32: return 24
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
            let packedCount = PanelGEMM.packedCount(tokens: T, columns: columns)
            let parts = 2 &* pool.threadCount, panelCount = PanelGEMM.panelCount(columns: columns)
            if denseCapacity < packedCount &+ parts &* panelCount {
                dense.deallocate()
                denseCapacity = packedCount &+ parts &* panelCount
                dense = .allocate(capacity: denseCapacity)
            }
            let packed = dense, panels = dense + packedCount
            PanelGEMM.pack(x, stride: inputStride, tokens: T, columns: columns, into: packed, pool: pool)
            // Each part: a contiguous run of whole row panels, its own panel scratch.
            let tiles = (total &+ PanelGEMM.rowTile &- 1) / PanelGEMM.rowTile
            pool.parallelFor(min(parts, tiles)) { range in
                let n = min(parts, tiles)
                for p in range {
                    let lo = tiles &* p / n &* PanelGEMM.rowTile, hi = min(total, tiles &* (p &+ 1) / n &* PanelGEMM.rowTile)
                    var start = 0
                    for m in matrices {
                        let a = max(lo, start), b = min(hi, start &+ m.rows)
                        if a < b {
                            PanelGEMM.rows(m, (a &- start)..<(b &- start), packed: packed, tokens: T, y + start, outputStride: outputStride,
                                           panel: panels + p &* panelCount)
                        }
                        start &+= m.rows
                    }
                }
            }
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
