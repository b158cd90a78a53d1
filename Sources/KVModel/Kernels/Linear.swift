/// Linear layers on T tokens: the one place that chooses how `y = W·x` runs.
///
/// Four paths, all splitting output rows over the pool's threads:
/// - `.matvec`: one token at a time (`Q8Vector` + the mat-vec kernels); for T = 1.
/// - `.batched`: the T tokens quantized once (`Q8Batch`), each weight block unpacked once per
///   tile of up to four tokens (`IntegerDot`); float layouts read each row once for all tokens.
/// - `.dense`: f32 FMA on the tokens with the weights dequantized a small panel at a time
///   (`PanelGEMM`): no f32 copy of the matrix, nothing cached between calls.
/// - `.longDense`: `.dense` with the inputs cut as OpenBLAS's SkylakeX sgemm cuts them
///   (`PanelGEMM.InputChunks.openBLAS`), for batches from `sgemmCrossover` at the AVX-512 VNNI level.
/// - `.sgemm`: the weights dequantized to f32 (every call) and one `BLAS.parallelSgemm`; only
///   when OpenBLAS runs a vector kernel (`BLAS.hasVectorKernel`) and T ≥ `sgemmCrossover`.
///
/// `.batched` beats `.dense` below a crossover T that depends on the type (how much a weight
/// block costs to unpack, how fast the type dequantizes into a panel) and somewhat on the shape;
/// it is `crossover(_:)`, measured with
/// `KVD_BENCH=1 swift test -c release --filter IntegerKernelSpeedTests/testLinearPaths`
/// (Qwen2.5-0.5B Q4_K_M tensors, synthetic rows for the types the file lacks; one thread
/// timed by its CPU time, medians of 7 interleaved runs; every path splits rows over the
/// threads the same way). T where dense first beats batched, T ∈ {1,2,3,4,6,8,12,16,24,32,48,64,96,128}:
///
///     matrix                         type   crossover   batched / dense ms at T = 8, 16, 128
///     attn_q 896→896                 q5_0   12          0.46 / 0.61   0.95 / 0.64   8.6 / 3.3
///     ffn_up 896→4864                q5_0   16          2.21 / 3.85   4.11 / 3.58  40.9 / 17.8
///     ffn_down 4864→896              q6_K   32          3.00 / 7.45   6.21 / 7.73  53.4 / 22.5
///     ffn_down 4864→896              q4_K   12          2.62 / 3.08   5.55 / 3.28  48.6 / 17.9
///     output 896→151936              q8_0   16          86.9 / 116    159 / 134    1426 / 574
///     synthetic 896→4864             q4_0   16          2.81 / 3.29   7.18 / 5.70  37.0 / 16.9
///     synthetic 896→4864             q4_1   16          2.14 / 3.27   4.04 / 3.11  48.2 / 22.7
///     synthetic 896→4864             q5_1   16          4.09 / 7.03   7.74 / 6.20  40.3 / 17.0
///     synthetic 4864→896             q5_K   > 128       2.65 / 38.7   5.21 / 36.3  45.8 / 51.9
///     synthetic 896→4864             f16    8           2.50 / 2.35   5.67 / 2.32  45.4 / 14.9
///     synthetic 896→4864             bf16   8           2.66 / 2.26   5.85 / 2.33  47.7 / 15.0
///     synthetic 896→4864             f32    12          2.32 / 2.47   5.86 / 2.49  60.9 / 20.0
///
/// Where OpenBLAS runs its Haswell kernel (`OPENBLAS_CORETYPE=Haswell`, same command), sgemm
/// beats dense from T = 256 on attn_q and ffn_up (q5_0), 192 on q4_K ffn_down and at every T
/// on q6_K (whose panel dequantizer is slow), by 5–25% at T = 512 (ffn_up 63 against 72 ms,
/// q4_K down 71 against 95): `sgemmCrossover` = 256. OpenBLAS's SSE3 fallback is 2.5–3× slower
/// than dense, so without a vector kernel long batches stay on dense.
///
/// Dense costs the same for 1 to 16 tokens (`PanelGEMM`'s 16-token tile), so batched wins the
/// shortest batches and dense everything past one or two tiles; q6_K's and q5_K's dequantizers
/// are the slow ones. Against T mat-vecs, batched saves up to 3× when the weights stream from
/// memory (the 144 MB output matrix: 87 against 259 ms at T = 8).
///
/// A `Linear` owns its scratch (quantized activations, the packed tokens and weight panels), grown
/// on demand and never shrunk: no allocation per call once sized. Not thread-safe: one per
/// forward pass in flight.
public final class Linear: @unchecked Sendable {
    /// How a call runs (see the type's documentation).
    public enum Path: Equatable, Sendable { case matvec, batched, dense, longDense, sgemm }

    /// The threads every path splits output rows over.
    public let pool: ThreadPool
    private var vector: Q8Vector
    private var batch = Q8Batch()
    private var dense: UnsafeMutablePointer<Float>
    private var denseCapacity = 0

    /// A `Linear` with empty scratch that splits output rows over `pool`.
    public init(pool: ThreadPool = .shared) {
        self.pool = pool
        vector = Q8Vector(capacity: 32)
        dense = .allocate(capacity: 1)
    }

    deinit { dense.deallocate() }

    /// Gives back the scratch (it grows again on the next call): after a long prefill it holds
    /// the whole batch quantized and the dense path's packed tokens.
    public func releaseScratch() {
        dense.deallocate()
        dense = .allocate(capacity: 1)
        denseCapacity = 0
        batch = Q8Batch()
        vector = Q8Vector(capacity: 32)
    }

    /// The float scratch of the dense and sgemm paths, grown to at least `count` (never shrunk).
    private func scratch(_ count: Int) -> UnsafeMutablePointer<Float> {
        if denseCapacity < count {
            dense.deallocate()
            dense = .allocate(capacity: count)
            denseCapacity = count
        }
        return dense
    }

    /// The smallest T for which `.apply` takes `.dense` for matrices of `type` (the table above;
    /// q5_K, measured past 128, at 128).
    ///
    /// At the AVX-512 VNNI level (`CPULevel`) both sides change: q8_0, q5_0 and q4_1 batch on the
    /// VNNI kernels, and dense runs its tile in AVX-512 (`kvk_avx512_panel`). Same command on an AMD
    /// EPYC (Zen 5): dense first beats batched at T = 24 for q5_0 (attn_q 0.40/0.36 ms, ffn_up
    /// 2.15/1.96 at T = 24), 32 for q8_0 (output 95.5/95.3 at T = 32) and q6_K, 12 for q4_K, 16 for
    /// q4_0/q4_1/q5_1, 8 for f16/bf16/f32; the other types as above.
    public static func crossover(_ type: GGMLType) -> Int {
        if CPULevel.current == .avx512vnni {
            switch type {
            case .q5_0: return 24
            case .q8_0: return 32
            case .f32: return 8
            default: break
            }
        }
        switch type {
        case .f16, .bf16: return 8
        case .q4_K, .f32: return 12
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 16
        case .q6_K: return 32
        case .q5_K: return 128
        }
    }

    /// The smallest T for which `.apply` takes `.sgemm` over `.dense` when OpenBLAS runs a vector
    /// kernel (see the table above). At the AVX-512 VNNI level long batches take `.longDense` instead,
    /// its AVX-512 tile cutting the inputs as OpenBLAS's SkylakeX sgemm does
    /// (`PanelGEMM.InputChunks.openBLAS`): faster (ffn_up q5_0 at T = 512: 19.2 against 33.9 ms for
    /// sgemm's Haswell kernel) and summed in an order the goldens pass with. Summed in one chain
    /// over each whole row instead, a long prefill flipped the default model's near-tie first
    /// answer token on the golden needle document (":" for " \"", `GoldenPressTests.testUncompressedAnswer`).
    public static let sgemmCrossover = 256

    /// The path `apply` takes for `matrices` (sharing one input) on `T` tokens: decided by the
    /// matrix with the most weight bytes.
    public static func path(for matrices: [QuantizedMatrix], tokens T: Int) -> Path {
        if T <= 1 { return .matvec }
        guard let main = matrices.max(by: { $0.rows &* $0.sourceRowBytes < $1.rows &* $1.sourceRowBytes }) else { return .matvec }
        if T < crossover(main.type) { return .batched }
        guard T >= sgemmCrossover else { return .dense }
        if CPULevel.current == .avx512vnni { return .longDense }
        return BLAS.hasVectorKernel ? .sgemm : .dense
    }

    /// `apply` over a step of several sequences, `segments` giving their row counts in order:
    /// each sequence's rows take the path they would take alone, so a sequence's outputs are the
    /// same bits whatever else is in the step (a greedy answer does not change because another
    /// client asked at the same moment).
    ///
    /// That holds because no path mixes tokens: `.matvec` and `.batched` run the same per-token
    /// arithmetic (the batched kernels are the mat-vec kernels with a weight block reused across
    /// tokens), `.dense` and `.longDense` accumulate each (row, token) in one register lane in
    /// input order, each cutting the inputs its own way, and `.sgemm` runs once per sequence. Consecutive sequences on the same path share one call
    /// (one read of the weights); sort sequences by row count to make those runs long.
    public func apply(_ matrices: [QuantizedMatrix], _ x: UnsafePointer<Float>, inputStride: Int,
                      _ y: UnsafeMutablePointer<Float>, outputStride: Int, segments: [Int]) {
        @inline(__always) func family(_ p: Path) -> Path { p == .matvec ? .batched : p }
        var first = 0, i = 0
        while i < segments.count {
            let path = family(Self.path(for: matrices, tokens: segments[i]))
            var rows = segments[i], j = i &+ 1
            if path != .sgemm {
                while j < segments.count, family(Self.path(for: matrices, tokens: segments[j])) == path {
                    rows &+= segments[j]
                    j &+= 1
                }
            }
            if rows > 0 {
                apply(matrices, x + first &* inputStride, inputStride: inputStride, y + first &* outputStride,
                      outputStride: outputStride, rows: rows, path: path == .batched && rows == 1 ? .matvec : path)
            }
            first &+= rows
            i = j
        }
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
        let path = path ?? Self.path(for: matrices, tokens: T)
        switch path {
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
        case .sgemm:
            let weights: UnsafePointer<Float>
            if matrices.count == 1 && first.type == .f32 {
                weights = first.source.assumingMemoryBound(to: Float.self)  // already the f32 matrix
            } else {
                let copy = scratch(total &* columns)
                var row = 0
                for m in matrices {
                    Dequantize.tensor(m.type, from: m.source, to: copy + row &* columns, rows: m.rows, rowLength: columns, pool: pool)
                    row &+= m.rows
                }
                weights = UnsafePointer(copy)
            }
            BLAS.parallelSgemm(m: T, n: total, k: columns, a: x, lda: inputStride, b: weights, c: y, ldc: outputStride, pool: pool)
        case .dense, .longDense:
            // Long batches at the VNNI level (in place of sgemm) are cut as OpenBLAS's SkylakeX
            // sgemm; a path of their own, so that a sequence's cut never depends on its step.
            let chunks: PanelGEMM.InputChunks = path == .longDense ? .openBLAS : .panel
            let packedCount = PanelGEMM.packedCount(tokens: T, columns: columns)
            let parts = 2 &* pool.threadCount, panelCount = PanelGEMM.panelCount(columns: columns)
            let packed = scratch(packedCount &+ parts &* panelCount), panels = packed + packedCount
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
                                           panel: panels + p &* panelCount, chunks: chunks)
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
