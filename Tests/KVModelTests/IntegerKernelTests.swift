import XCTest
@testable import KVModel

/// The integer kernels of every quantized type against dequantize + dot (`KernelReference`,
/// whose tolerance is the activation quantization's bound), and the batched path against
/// one mat-vec per token.
final class IntegerKernelTests: XCTestCase {
    /// Shapes with odd block counts (3 and 25 blocks of 32, 3 and 9 super-blocks) and odd rows.
    static func shapes(_ type: GGMLType) -> [(rows: Int, cols: Int)] {
        type.blockSize == 256
            ? [(7, 256), (33, 768), (5, 2304)]
            : [(1, 32), (37, 96), (19, 576), (45, 800), (5, 1536)]
    }

    /// `body(matrix, x, reference)` for every quantized type and shape, on random weights.
    func forEachMatrix(seed: UInt64, types: [GGMLType] = GGMLType.quantizedCases, inputScale: Float = 3,
                       _ body: (QuantizedMatrix, [Float], KernelReference) -> Void) {
        var rng = TestRandom(seed)
        for type in types {
            for (rows, cols) in Self.shapes(type) {
                let wq = ReferenceQuantizer.quantize(type, rng.floats(rows * cols))
                let x = rng.floats(cols, scale: inputScale)
                let ref = KernelReference(type, wq.bytes, rows: rows, columns: cols, input: x)
                wq.bytes.withUnsafeBytes { src in
                    body(QuantizedMatrix(type: type, rows: rows, columns: cols, data: src.baseAddress!), x, ref)
                }
            }
        }
    }

    /// The bound is not loose: a kernel that dropped a block's offset or a scale lane would be
    /// off by far more. Here the error is compared with the bound's size on a typical row.
    func testErrorIsWellInsideTheBound() {
        forEachMatrix(seed: 12, inputScale: 1) { m, x, ref in
            let q = Q8Vector(capacity: m.columns)
            x.withUnsafeBufferPointer { q.quantize($0.baseAddress!, count: m.columns) }
            var y = [Float](repeating: .nan, count: m.rows)
            y.withUnsafeMutableBufferPointer { m.matvec(q, into: $0.baseAddress!, pool: ThreadPool(threadCount: 1)) }
            var worst = 0.0, scale = 0.0
            for r in 0..<m.rows {
                worst = max(worst, abs(Double(y[r]) - ref.dots[r]))
                scale = max(scale, ref.rows[r].map { Double(abs($0)) }.reduce(0, +) / Double(m.columns))
            }
            // ~16-bit input: the error stays below 1e-3 of a mean |w| times the row length.
            XCTAssertLessThan(worst, 1e-3 * scale * Double(m.columns), "\(m.type.name) \(m.rows)x\(m.columns)")
        }
    }

    /// T tokens through the batched kernel equal T mat-vecs: bit for bit where both use the
    /// generic integer kernel (same operations per token in the same order), within the
    /// activation bound for q4_1/q8_0, whose mat-vec keeps its own two-row kernels.
    func testBatchedEqualsMatvecs() {
        var rng = TestRandom(13)
        let pool = ThreadPool(threadCount: 2)
        for type in GGMLType.allCases {
            let (rows, cols) = type.blockSize == 256 ? (21, 768) : (21, 800)
            let wq = ReferenceQuantizer.quantize(type, rng.floats(rows * cols))
            for T in [1, 2, 7, 8, 33, 100] {
                let stride = cols + 5  // rows of the input are not packed
                let x = rng.floats(T * stride, scale: 2)
                let batch = Q8Batch()
                wq.bytes.withUnsafeBytes { src in
                    let m = QuantizedMatrix(type: type, rows: rows, columns: cols, data: src.baseAddress!)
                    var yb = [Float](repeating: .nan, count: T * (rows + 3))
                    x.withUnsafeBufferPointer { xp in
                        batch.quantize(xp.baseAddress!, stride: stride, tokens: T, columns: cols, pool: pool)
                        yb.withUnsafeMutableBufferPointer { yp in
                            pool.parallelFor(rows, grain: 4) { range in
                                m.batchRows(range, batch.rows, xp.baseAddress!, inputStride: stride, yp.baseAddress!, outputStride: rows + 3)
                            }
                        }
                    }
                    let q = Q8Vector(capacity: cols)
                    for t in 0..<T {
                        let xt = Array(x[(t * stride)..<(t * stride + cols)])
                        xt.withUnsafeBufferPointer { q.quantize($0.baseAddress!, count: cols) }
                        var y = [Float](repeating: .nan, count: rows)
                        y.withUnsafeMutableBufferPointer { m.matvec(q, into: $0.baseAddress!, pool: pool) }
                        let got = Array(yb[(t * (rows + 3))..<(t * (rows + 3) + rows)])
                        if type == .q4_1 || type == .q8_0 {
                            let ref = KernelReference(type, wq.bytes, rows: rows, columns: cols, input: xt)
                            for r in 0..<rows {
                                let tol = 2 * ref.tolerance(row: r, input: xt) { q.scales[$0] }
                                XCTAssertEqual(got[r], y[r], accuracy: Float(tol), "\(type.name) T=\(T) token \(t) row \(r)")
                            }
                        } else {
                            XCTAssertEqual(got, y, "\(type.name) T=\(T) token \(t)")
                        }
                    }
                }
            }
        }
    }

    /// Wide rows split the tokens into chunks (4864 inputs: 40 tokens a chunk for integer
    /// layouts, 20 for float ones); every token still equals its own mat-vec.
    func testBatchedTokenChunksEqualMatvecs() {
        var rng = TestRandom(15)
        let pool = ThreadPool(threadCount: 2)
        let rows = 6, cols = 4864, T = 100
        for type in [GGMLType.q6_K, .q5_0, .f16] {
            let wq = ReferenceQuantizer.quantize(type, rng.floats(rows * cols))
            let x = rng.floats(T * cols)
            let batch = Q8Batch()
            wq.bytes.withUnsafeBytes { src in
                let m = QuantizedMatrix(type: type, rows: rows, columns: cols, data: src.baseAddress!)
                var yb = [Float](repeating: .nan, count: T * rows)
                x.withUnsafeBufferPointer { xp in
                    batch.quantize(xp.baseAddress!, stride: cols, tokens: T, columns: cols, pool: pool)
                    yb.withUnsafeMutableBufferPointer { m.batchRows(0..<rows, batch.rows, xp.baseAddress!, inputStride: cols, $0.baseAddress!, outputStride: rows) }
                }
                let q = Q8Vector(capacity: cols)
                for t in 0..<T {
                    var y = [Float](repeating: .nan, count: rows)
                    x.withUnsafeBufferPointer { q.quantize($0.baseAddress! + t * cols, count: cols) }
                    y.withUnsafeMutableBufferPointer { m.matvec(q, into: $0.baseAddress!, pool: pool) }
                    XCTAssertEqual(Array(yb[(t * rows)..<(t * rows + rows)]), y, "\(type.name) token \(t)")
                }
            }
        }
    }

    /// `Q8Batch` holds exactly the blocks `Q8Vector` makes, token by token.
    func testBatchQuantizationMatchesVector() {
        var rng = TestRandom(14)
        let cols = 200, T = 5  // a partial last block
        let x = rng.floats(T * cols, scale: 4)
        let batch = Q8Batch()
        x.withUnsafeBufferPointer { batch.quantize($0.baseAddress!, stride: cols, tokens: T, columns: cols, pool: ThreadPool(threadCount: 2)) }
        let q = Q8Vector(capacity: cols)
        for t in 0..<T {
            x.withUnsafeBufferPointer { q.quantize($0.baseAddress! + t * cols, count: cols) }
            for i in 0..<cols { XCTAssertEqual(batch.quantizedValue(token: t, i), q.quantizedValue(i), "token \(t) element \(i)") }
        }
    }
}
