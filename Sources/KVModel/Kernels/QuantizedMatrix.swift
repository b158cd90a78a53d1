import CKVKernels
/// A weight matrix in GGUF row layout, ready for matrix-vector and short-batch products.
///
/// Shape: `rows` outputs × `columns` inputs; GGUF row r (`shape[0] = columns` elements) is
/// output r, so `y[r] = Σ_c W[r, c]·x[c]`.
///
/// On x86_64 every quantized type has an AVX2 integer kernel reading the input as 8-bit blocks
/// (`Q8Vector`, or `Q8Batch` for several tokens): q4_0, q4_1, q5_0, q5_1 and q8_0 rows are
/// repacked once at init into the layouts of `WeightPacking` (costs a copy of the weights);
/// q4_K, q5_K and q6_K are read in place. f32, f16 and bf16 rows take SIMD float dot products
/// straight from the stored row. Only a 32-block type built with `repack: false` (or any
/// type on another architecture) dequantizes each row and takes a float dot product.
///
/// Speed (`KVD_BENCH=1 swift test -c release --filter KernelSpeed`, one thread, ~200 KB of
/// rows in L2, timed by the thread's CPU time on a loaded 2-core machine), GB/s of weights:
/// q4_0 7.1, q4_1 11.6, q5_0 6.6, q5_1 7.1, q8_0 18.0, q4_K 9.8, q5_K 10.2, q6_K 10.1,
/// f16 30, bf16 28, f32 39. A whole Qwen2.5-0.5B Q4_K_M token of mat-vecs (373 MB) took
/// 91.7 ms on one thread against 45.4 ms to stream as many bytes: the kernels run at about
/// half the single-thread memory roofline (compute-bound per thread, q5_0 the slowest).
public final class QuantizedMatrix: @unchecked Sendable {
    /// Element type of the source tensor.
    public let type: GGMLType
    /// Number of outputs (rows).
    public let rows: Int
    /// Number of inputs (elements per row).
    public let columns: Int
    /// Bytes per row in the GGUF layout.
    public let sourceRowBytes: Int
    /// The GGUF-layout data (`rows · sourceRowBytes` bytes), kept for `dequantizeRow`.
    public let source: UnsafeRawPointer

    let layout: Layout
    let packed: UnsafeMutableRawPointer?
    let packedRowBytes: Int
    private let owner: AnyObject?

    /// How the kernels read the rows.
    enum Layout { case generic, f32, f16, bf16, q4_0Packed, q4_1Packed, q5_0Packed, q5_1Packed, q8_0Packed, q4_K, q5_K, q6_K }

    /// Wraps `rows` GGUF rows of `columns` elements of `type` at `data`.
    /// - Parameters:
    ///   - data: the tensor bytes; must stay valid while the matrix lives (pass their owner as `owner`).
    ///   - owner: an object kept alive with the matrix (e.g. the `GGUFFile` whose mapping holds `data`).
    ///   - repack: use the packed fast layout where one exists (costs a copy of the weights).
    public init(type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer, owner: AnyObject? = nil,
                repack: Bool = true, pool: ThreadPool = .shared) {
        guard let rb = type.rowBytes(columns) else {
            preconditionFailure("rows of \(columns) elements are not whole \(type.name) blocks")
        }
        self.type = type
        self.rows = rows
        self.columns = columns
        self.sourceRowBytes = rb
        self.source = data
        self.owner = owner
        let layout = Self.layout(for: type, repack: repack)
        self.layout = layout
        #if arch(x86_64)
        if WeightPacking.hasPackedLayout(type) && layout != .generic {
            packedRowBytes = rb  // every packed layout keeps the byte count of a row
            let p = UnsafeMutableRawPointer.allocate(byteCount: rows &* rb &+ 64, alignment: 64)
            packed = p
            pool.parallelFor(rows, grain: 64) { range in
                for r in range { WeightPacking.pack(type, data + r &* rb, p + r &* rb, blocks: columns / 32) }
            }
            return
        }
        #endif
        packed = nil
        packedRowBytes = 0
    }

    static func layout(for type: GGMLType, repack: Bool) -> Layout {
        switch type {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        default: break
        }
        #if arch(x86_64)
        switch type {
        case .q4_K: return .q4_K
        case .q5_K: return .q5_K
        case .q6_K: return .q6_K
        case .q4_0 where repack: return .q4_0Packed
        case .q4_1 where repack: return .q4_1Packed
        case .q5_0 where repack: return .q5_0Packed
        case .q5_1 where repack: return .q5_1Packed
        case .q8_0 where repack: return .q8_0Packed
        default: return .generic
        }
        #else
        return .generic
        #endif
    }

    /// Wraps tensor `info` of `file` (rows = product of `shape[1...]`, columns = `shape[0]`).
    public convenience init(_ info: GGUFTensorInfo, in file: GGUFFile, repack: Bool = true, pool: ThreadPool = .shared) {
        self.init(type: info.type, rows: info.rowCount, columns: info.rowLength, data: file.data(of: info),
                  owner: file, repack: repack, pool: pool)
    }

    deinit { packed?.deallocate() }

    /// Dequantizes row `r` (0..<rows) into `dst` (`columns` floats), e.g. an embedding lookup.
    public func dequantizeRow(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows, "row \(r) out of 0..<\(rows)")
        Dequantize.row(type, from: source + r &* sourceRowBytes, to: dst, count: columns)
    }

    /// Dequantizes elements `first..<first+count` of row `r` into `dst` (`first` and `count`
    /// whole blocks of the type), e.g. a panel of `PanelGEMM`.
    @inline(__always)
    /// - Parameter blocks: room for the whole blocks a range that cuts through blocks touches
    ///   (`count` + 2 blocks); needed only then.
    func dequantize(row r: Int, from first: Int, count: Int, into dst: UnsafeMutablePointer<Float>,
                    blocks: UnsafeMutablePointer<Float>? = nil) {
        let bs = type.blockSize
        guard first % bs != 0 || (count % bs != 0 && first &+ count != columns) else {
            let offset = r &* sourceRowBytes &+ first / bs &* type.blockBytes
            Dequantize.row(type, from: source + offset, to: dst, count: count)
            return
        }
        // A range that cuts through blocks (OpenBLAS's input chunks of 448 in K-quants' blocks of
        // 256): the blocks it touches, then its part of them.
        let lo = first / bs &* bs, hi = min(columns, (first &+ count &+ bs &- 1) / bs &* bs)
        guard let tmp = blocks else { preconditionFailure("a range through \(type.name) blocks needs room for them") }
        Dequantize.row(type, from: source + (r &* sourceRowBytes &+ lo / bs &* type.blockBytes), to: tmp, count: hi &- lo)
        dst.update(from: tmp + (first &- lo), count: count)
    }

    /// y = W·x for an input already quantized into `x` (`x.count == columns`); `y` has `rows` floats.
    /// Rows are split over `pool`'s threads.
    public func matvec(_ x: Q8Vector, into y: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared) {
        precondition(x.count == columns, "input has \(x.count) elements, matrix has \(columns) columns")
        pool.parallelFor(rows, grain: 16) { range in self.matvecRows(range, x, y) }
    }

    /// y = W·x for a float input (`columns` floats); quantizes `x` into `scratch` first.
    public func matvec(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, scratch: Q8Vector,
                       pool: ThreadPool = .shared) {
        scratch.quantize(x, count: columns)
        matvec(scratch, into: y, pool: pool)
    }

    /// Runs several products that share one input in a single parallel region (e.g. q, k, v
    /// or gate, up), saving the per-region synchronisation. Each matrix must have `x.count` columns.
    public static func matvec(_ jobs: [(QuantizedMatrix, UnsafeMutablePointer<Float>)], _ x: Q8Vector,
                              pool: ThreadPool = .shared) {
        var total = 0
        for (m, _) in jobs {
            precondition(m.columns == x.count, "input has \(x.count) elements, matrix has \(m.columns) columns")
            total &+= m.rows
        }
        pool.parallelFor(total, grain: 16) { range in
            var start = 0
            for (m, y) in jobs {
                let lo = max(range.lowerBound, start), hi = min(range.upperBound, start &+ m.rows)
                if lo < hi { m.matvecRows((lo &- start)..<(hi &- start), x, y) }
                start &+= m.rows
            }
        }
    }

    /// Computes y[r] for r in `range` (single thread): `batchRows` with one token, so a token's
    /// result is the same alone and in a batch.
    func matvecRows(_ range: Range<Int>, _ x: Q8Vector, _ y: UnsafeMutablePointer<Float>) {
        batchRows(range, Q8Rows(x), x.values, inputStride: columns, y, outputStride: 1)
    }

    /// `y[t·outputStride + r] = Σ_c W[r, c]·x_t[c]` for r in `range` and every token t of `q`
    /// (single thread). `q` holds the tokens quantized (integer layouts read it); `x` holds them
    /// as floats, token t at `x + t·inputStride` (float and generic layouts read it).
    ///
    /// Tokens go in chunks whose activations stay in L2 (~384 KB) while the rows go by (128
    /// tokens of 4864 inputs are 1.2 MB quantized, read again for every row).
    func batchRows(_ range: Range<Int>, _ q: Q8Rows, _ x: UnsafePointer<Float>, inputStride: Int,
                   _ y: UnsafeMutablePointer<Float>, outputStride: Int) {
        let integer = layout != .generic && layout != .f32 && layout != .f16 && layout != .bf16
        let bytesPerToken = columns &* (integer ? 2 : 4)
        let chunk = max(4, (384 << 10) / max(1, bytesPerToken) & ~3)
        var t = 0
        while t < q.tokens {
            let end = min(q.tokens, t &+ chunk)
            batchRows(range, q, tokens: t..<end, x, inputStride: inputStride, y, outputStride: outputStride)
            t = end
        }
    }

    private func batchRows(_ range: Range<Int>, _ q: Q8Rows, tokens: Range<Int>, _ x: UnsafePointer<Float>, inputStride: Int,
                           _ y: UnsafeMutablePointer<Float>, outputStride: Int) {
        let nb = columns / 32
        @inline(__always) func floatRows(_ dot: (UnsafeRawPointer, UnsafePointer<Float>) -> Float) {
            for r in range {
                let row = source + r &* sourceRowBytes
                for t in tokens { y[t &* outputStride &+ r] = dot(row, x + t &* inputStride) }
            }
        }
        @inline(__always) func integerRows<F: IntegerBlockFormat>(_ f: F.Type, _ w: UnsafeRawPointer, _ rowBytes: Int) {
            IntegerDot.rows(F.self, w, rowBytes: rowBytes, blocks: nb, range, q, tokens: tokens, y, outputStride: outputStride)
        }
        #if arch(x86_64)
        func vnniRows(_ format: kvk_format) {
            var rows = kvk_q8_rows(qs: q.qs.assumingMemoryBound(to: Int8.self), residuals: q.residuals.assumingMemoryBound(to: Int8.self),
                                   scales: q.scales, sums: q.sums, interleave: q.interleave, block_stride: q.blockStride)
            kvk_avx512vnni_rows(format, packed!.assumingMemoryBound(to: UInt8.self), packedRowBytes, nb, range.lowerBound, range.upperBound,
                                &rows, tokens.lowerBound, tokens.upperBound, y, outputStride)
        }
        #endif
        switch layout {
        #if arch(x86_64)
        case .q8_0Packed where CPULevel.current == .avx512vnni: vnniRows(KVK_Q8_0)
        case .q5_0Packed where CPULevel.current == .avx512vnni: vnniRows(KVK_Q5_0)
        case .q4_1Packed where CPULevel.current == .avx512vnni: vnniRows(KVK_Q4_1)
        case .q4_0Packed: integerRows(PackedQ4_0.self, packed!, packedRowBytes)
        case .q4_1Packed:
            MatVecKernels.rowsQ4_1(packed!, rowBytes: packedRowBytes, blocks: nb, range, q, tokens: tokens, y, outputStride: outputStride)
        case .q5_0Packed: integerRows(PackedQ5_0.self, packed!, packedRowBytes)
        case .q5_1Packed: integerRows(PackedQ5_1.self, packed!, packedRowBytes)
        case .q8_0Packed: integerRows(PackedQ8_0.self, packed!, packedRowBytes)
        case .q4_K: integerRows(BlocksQ4_K.self, source, sourceRowBytes)
        case .q5_K: integerRows(BlocksQ5_K.self, source, sourceRowBytes)
        case .q6_K: integerRows(BlocksQ6_K.self, source, sourceRowBytes)
        #else
        case .q4_0Packed, .q4_1Packed, .q5_0Packed, .q5_1Packed, .q8_0Packed, .q4_K, .q5_K, .q6_K:
            preconditionFailure("integer layouts exist on x86_64 only")
        #endif
        case .f32: floatRows { VectorOps.dot($0.assumingMemoryBound(to: Float.self), $1, count: columns) }
        case .f16: floatRows { VectorOps.dotF16($0, $1, count: columns) }
        case .bf16: floatRows { VectorOps.dotBF16($0, $1, count: columns) }
        case .generic:
            // A row dequantized once serves every token.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: columns) { buf in
                let w = buf.baseAddress!
                for r in range {
                    Dequantize.row(type, from: source + r &* sourceRowBytes, to: w, count: columns)
                    for t in tokens { y[t &* outputStride &+ r] = VectorOps.dot(w, x + t &* inputStride, count: columns) }
                }
            }
        }
    }
}
