/// A weight matrix in GGUF row layout, ready for decode-time matrix-vector products.
///
/// Shape: `rows` outputs × `columns` inputs; GGUF row r (`shape[0] = columns` elements) is
/// output r, so `y[r] = Σ_c W[r, c]·x[c]`.
///
/// On x86_64, q4_1 and q8_0 matrices are repacked once at init into a layout the AVX2
/// integer kernels read with aligned-free full-width loads (see `MatVecKernels`); the input is
/// then used as a `Q8Vector` (8-bit blocks). Every other type (and any type on other
/// architectures) dequantizes each row and takes a float dot product — exact, but slower.
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

    enum Layout { case generic, q4_1Packed, q8_0Packed }

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
        var layout = Layout.generic
        #if arch(x86_64)
        if repack && type == .q4_1 { layout = .q4_1Packed }
        if repack && type == .q8_0 { layout = .q8_0Packed }
        #endif
        self.layout = layout
        if layout == .generic {
            packed = nil
            packedRowBytes = 0
        } else {
            packedRowBytes = rb  // both packed layouts keep the byte count of a row
            let p = UnsafeMutableRawPointer.allocate(byteCount: rows &* rb &+ 64, alignment: 64)
            packed = p
            pool.parallelFor(rows, grain: 64) { range in
                for r in range {
                    let s = data + r &* rb, d = p + r &* rb
                    if layout == .q4_1Packed { MatVecKernels.packQ4_1(s, d, blocks: columns / 32) }
                    else { MatVecKernels.packQ8_0(s, d, blocks: columns / 32) }
                }
            }
        }
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

    /// Computes y[r] for r in `range` (single thread).
    func matvecRows(_ range: Range<Int>, _ x: Q8Vector, _ y: UnsafeMutablePointer<Float>) {
        switch layout {
        case .q4_1Packed:
            let nb = columns / 32
            var r = range.lowerBound
            while r &+ 2 <= range.upperBound {
                let p = packed! + r &* packedRowBytes
                (y[r], y[r &+ 1]) = MatVecKernels.dotQ4_1x2(p, p + packedRowBytes, x, blocks: nb)
                r &+= 2
            }
            if r < range.upperBound { y[r] = MatVecKernels.dotQ4_1(packed! + r &* packedRowBytes, x, blocks: nb) }
        case .q8_0Packed:
            let nb = columns / 32
            var r = range.lowerBound
            while r &+ 2 <= range.upperBound {
                let p = packed! + r &* packedRowBytes
                (y[r], y[r &+ 1]) = MatVecKernels.dotQ8_0x2(p, p + packedRowBytes, x, blocks: nb)
                r &+= 2
            }
            if r < range.upperBound { y[r] = MatVecKernels.dotQ8_0(packed! + r &* packedRowBytes, x, blocks: nb) }
        case .generic:
            if type == .f32 {
                for r in range {
                    y[r] = VectorOps.dot(source.assumingMemoryBound(to: Float.self) + r &* columns, x.values, count: columns)
                }
                return
            }
            if type == .f16 {
                for r in range { y[r] = VectorOps.dotF16(source + r &* sourceRowBytes, x.values, count: columns) }
                return
            }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: columns) { buf in
                let row = buf.baseAddress!
                for r in range {
                    Dequantize.row(type, from: source + r &* sourceRowBytes, to: row, count: columns)
                    y[r] = VectorOps.dot(row, x.values, count: columns)
                }
            }
        }
    }
}
