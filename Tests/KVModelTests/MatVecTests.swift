import XCTest
@testable import KVModel
import KVTestSupport

final class MatVecTests: XCTestCase {
    struct Case { var rows: Int; var cols: Int }

    /// Reference: dequantize every row, then a double-precision dot product with the float input.
    func reference(_ type: GGMLType, _ bytes: [UInt8], _ x: [Float], rows: Int, cols: Int) -> (y: [Double], absDot: [Double], rowsF: [[Float]]) {
        var y = [Double](), a = [Double](), rowsF = [[Float]]()
        let rb = type.rowBytes(cols)!
        bytes.withUnsafeBytes { src in
            for r in 0..<rows {
                var w = [Float](repeating: 0, count: cols)
                w.withUnsafeMutableBufferPointer { Dequantize.row(type, from: src.baseAddress! + r * rb, to: $0.baseAddress!, count: cols) }
                var s = 0.0, s2 = 0.0
                for c in 0..<cols { s += Double(w[c]) * Double(x[c]); s2 += abs(Double(w[c]) * Double(x[c])) }
                y.append(s); a.append(s2); rowsF.append(w)
            }
        }
        return (y, a, rowsF)
    }

    func run(_ m: QuantizedMatrix, _ x: [Float], pool: ThreadPool) -> [Float] {
        let q = Q8Vector(capacity: m.columns)
        var y = [Float](repeating: .nan, count: m.rows)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { m.matvec(xp.baseAddress!, into: $0.baseAddress!, scratch: q, pool: pool) }
        }
        return y
    }

    /// Every type, odd row and block counts, 1–3 threads: equals dequantize-then-dot. Float
    /// types agree to float rounding; quantized types (all integer kernels now) stay within
    /// the input's rounding bound (`KernelReference`), and threads never change the result.
    func testEveryTypeMatchesDequantizedDot() {
        var rng = TestRandom(3)
        let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2), ThreadPool(threadCount: 3)]
        for type in GGMLType.allCases {
            let cases: [Case] = type.blockSize == 256
                ? [Case(rows: 7, cols: 256), Case(rows: 33, cols: 768), Case(rows: 5, cols: 2304)]
                : [Case(rows: 1, cols: 32), Case(rows: 37, cols: 96), Case(rows: 19, cols: 576), Case(rows: 45, cols: 800), Case(rows: 5, cols: 1536)]
            for tc in cases {
                let wq = ReferenceQuantizer.quantize(type, rng.floats(tc.rows * tc.cols))
                let x = rng.floats(tc.cols, scale: 3)
                let ref = KernelReference(type, wq.bytes, rows: tc.rows, columns: tc.cols, input: x)
                let qx = Q8Vector(capacity: tc.cols)
                x.withUnsafeBufferPointer { qx.quantize($0.baseAddress!, count: tc.cols) }
                wq.bytes.withUnsafeBytes { src in
                    let m = QuantizedMatrix(type: type, rows: tc.rows, columns: tc.cols, data: src.baseAddress!)
                    XCTAssertNotEqual(m.layout, .generic, "\(type.name) has no kernel of its own")
                    var first: [Float]?
                    for pool in pools {
                        let y = run(m, x, pool: pool)
                        if let first { XCTAssertEqual(y, first, "\(type.name) \(tc): result depends on thread count") } else { first = y }
                        for r in 0..<tc.rows {
                            let tol = ref.tolerance(row: r, input: x) { type.blockSize > 1 ? qx.scales[$0] : 0 }
                            XCTAssertEqual(Double(y[r]), ref.dots[r], accuracy: tol, "\(type.name) \(tc) row \(r) threads \(pool.threadCount)")
                        }
                    }
                }
            }
        }
    }

    /// The fast paths against the exact 8-bit-input arithmetic: tight agreement, not just the bound.
    func testFastPathsMatchQuantizedInputArithmetic() {
        var rng = TestRandom(5)
        for type in [GGMLType.q4_1, .q8_0] {
            for cols in [32, 64, 96, 576, 800, 1536] {
                let rows = 9
                let wq = ReferenceQuantizer.quantize(type, rng.floats(rows * cols))
                let x = rng.floats(cols, scale: 0.5)
                let qx = Q8Vector(capacity: cols)
                x.withUnsafeBufferPointer { qx.quantize($0.baseAddress!, count: cols) }
                let ref = reference(type, wq.bytes, x, rows: rows, cols: cols)
                wq.bytes.withUnsafeBytes { src in
                    let m = QuantizedMatrix(type: type, rows: rows, columns: cols, data: src.baseAddress!)
                    var y = [Float](repeating: .nan, count: rows)
                    y.withUnsafeMutableBufferPointer { m.matvec(qx, into: $0.baseAddress!, pool: ThreadPool(threadCount: 1)) }
                    let rb = type.rowBytes(cols)!
                    for r in 0..<rows {
                        // Σ_b [ Σ_i (w_i − m_b)·d_x·q_x,i + m_b·Σ_b x ]
                        var e = 0.0, mag = 0.0
                        for c in 0..<cols {
                            let mOff: Float = type == .q4_1 ? Half.load(src.baseAddress! + r * rb + (c / 32) * 20, 2) : 0
                            let xq = Double(qx.quantizedValue(c))
                            e += Double(ref.rowsF[r][c] - mOff) * xq
                            mag += abs(Double(ref.rowsF[r][c]) * xq)
                            if c % 32 == 0 { e += Double(mOff) * Double(qx.sums[c / 32]) }
                        }
                        XCTAssertEqual(Double(y[r]), e, accuracy: 2e-5 * mag + 1e-6, "\(type.name) cols \(cols) row \(r)")
                    }
                }
            }
        }
    }

    func testBatchedJobsMatchSingleProducts() {
        var rng = TestRandom(9)
        let cols = 576
        let shapes: [(GGMLType, Int)] = [(.q4_1, 61), (.q4_1, 19), (.q8_0, 40), (.q6_K, 0)].filter { $0.1 > 0 }
        let datas = shapes.map { ReferenceQuantizer.quantize($0.0, rng.floats($0.1 * cols)).bytes }
        let x = rng.floats(cols)
        let qx = Q8Vector(capacity: cols)
        x.withUnsafeBufferPointer { qx.quantize($0.baseAddress!, count: cols) }
        let ptrs = KernelReference.heapCopies(datas)
        defer { ptrs.forEach { $0.deallocate() } }
        let mats = zip(shapes, ptrs).map { QuantizedMatrix(type: $0.0, rows: $0.1, columns: cols, data: $1) }
        let outs = mats.map { UnsafeMutablePointer<Float>.allocate(capacity: $0.rows) }
        defer { outs.forEach { $0.deallocate() } }
        QuantizedMatrix.matvec(Array(zip(mats, outs)), qx, pool: ThreadPool(threadCount: 2))
        for (m, o) in zip(mats, outs) {
            var single = [Float](repeating: 0, count: m.rows)
            single.withUnsafeMutableBufferPointer { m.matvec(qx, into: $0.baseAddress!, pool: ThreadPool(threadCount: 1)) }
            XCTAssertEqual(Array(UnsafeBufferPointer(start: o, count: m.rows)), single)
        }
    }

    func testModelMatrices() throws {
        let f = try TestModel.gguf()
        for name in ["blk.0.attn_k.weight", "blk.3.ffn_down.weight", "token_embd.weight"] {
            let info = try f.tensor(name)
            let m = QuantizedMatrix(info, in: f)
            var rng = TestRandom(UInt64(name.count))
            let x = rng.floats(m.columns)
            let y = run(m, x, pool: .shared)
            // Spot-check rows against dequantize + dot (8-bit input: relative error well under 1%).
            var row = [Float](repeating: 0, count: m.columns)
            for r in stride(from: 0, to: m.rows, by: max(1, m.rows / 17)) {
                row.withUnsafeMutableBufferPointer { m.dequantizeRow(r, into: $0.baseAddress!) }
                var s = 0.0, a = 0.0
                for c in 0..<m.columns { s += Double(row[c]) * Double(x[c]); a += abs(Double(row[c]) * Double(x[c])) }
                XCTAssertEqual(Double(y[r]), s, accuracy: 0.01 * a + 1e-6, "\(name) row \(r)")
            }
        }
    }
}
