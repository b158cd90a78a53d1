import XCTest
@testable import KVModel

final class LinearTests: XCTestCase {
    func testPathChoice() {
        let data = [UInt8](repeating: 0, count: 64 * 144)
        data.withUnsafeBytes { src in
            let m = QuantizedMatrix(type: .q4_K, rows: 64, columns: 256, data: src.baseAddress!)
            let c = Linear.crossover(.q4_K)
            XCTAssertEqual(Linear.path(for: [m], tokens: 1), .matvec)
            XCTAssertEqual(Linear.path(for: [m], tokens: 2), .batched)
            XCTAssertEqual(Linear.path(for: [m], tokens: c - 1), .batched)
            XCTAssertEqual(Linear.path(for: [m], tokens: c), .dense)
            XCTAssertEqual(Linear.path(for: [m], tokens: 4 * c), .dense)
            XCTAssertEqual(Linear.path(for: [m], tokens: Linear.sgemmCrossover - 1), .dense)
            // OpenBLAS's SSE3 fallback is slower than PanelGEMM: long batches use sgemm only
            // when OpenBLAS runs a vector kernel, and not at the VNNI level (its AVX-512 tile is faster).
            XCTAssertEqual(Linear.path(for: [m], tokens: Linear.sgemmCrossover),
                           CPULevel.current == .avx512vnni ? .longDense : BLAS.hasVectorKernel ? .sgemm : .dense)
        }
    }

    /// Three matrices of different types sharing one input, outputs side by side, strided rows:
    /// every path (forced, and the one `path(for:tokens:)` picks) against dequantize + dot.
    func testEveryPathMatchesReference() {
        checkEveryPath(columns: 512, tokenCounts: [1, 2, 7, 8, 33, 100])
    }

    /// Inputs wider than one panel chunk (PanelGEMM accumulates over 512-column chunks) and more
    /// tokens than one packed-token chunk.
    func testDensePathChunksMatchReference() {
        checkEveryPath(columns: 1536, tokenCounts: [130, 700], paths: [.dense, .longDense, .sgemm, nil])
    }

    private func checkEveryPath(columns cols: Int, tokenCounts: [Int],
                                paths: [Linear.Path?] = [.matvec, .batched, .dense, .longDense, .sgemm, nil]) {
        var rng = TestRandom(21)
        let specs: [(GGMLType, Int)] = [(.q5_0, 40), (.q6_K, 24), (.q4_K, 9), (.q8_0, 16), (.f16, 5)]
        let datas = specs.map { ReferenceQuantizer.quantize($0.0, rng.floats($0.1 * cols)).bytes }
        let ptrs = KernelReference.heapCopies(datas)
        defer { ptrs.forEach { $0.deallocate() } }
        let mats = zip(specs, ptrs).map { QuantizedMatrix(type: $0.0, rows: $0.1, columns: cols, data: $1) }
        let total = specs.reduce(0) { $0 + $1.1 }
        let linear = Linear(pool: ThreadPool(threadCount: 2))
        for T in tokenCounts {
            let inStride = cols + 3, outStride = total + 2
            let x = rng.floats(T * inStride, scale: 2)
            for path in paths {
                var y = [Float](repeating: .nan, count: T * outStride)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        linear.apply(mats, xp.baseAddress!, inputStride: inStride, yp.baseAddress!, outputStride: outStride, rows: T, path: path)
                    }
                }
                let q = Q8Vector(capacity: cols)
                for t in [0, T / 2, T - 1] {
                    let xt = Array(x[(t * inStride)..<(t * inStride + cols)])
                    xt.withUnsafeBufferPointer { q.quantize($0.baseAddress!, count: cols) }
                    var col = 0
                    for (k, (type, rows)) in specs.enumerated() {
                        let ref = KernelReference(type, datas[k], rows: rows, columns: cols, input: xt)
                        for r in 0..<rows {
                            // Dense and sgemm are float arithmetic; the others quantize the input.
                            let taken = path ?? Linear.path(for: mats, tokens: T)
                            let integer = (taken == .matvec || taken == .batched) && type.blockSize > 1
                            let tol = ref.tolerance(row: r, input: xt) { integer ? q.scales[$0] : 0 }
                            XCTAssertEqual(Double(y[t * outStride + col + r]), ref.dots[r], accuracy: tol,
                                           "\(String(describing: path)) T=\(T) token \(t) \(type.name) row \(r)")
                        }
                        col += rows
                    }
                }
            }
        }
    }

    /// OpenBLAS's SkylakeX sgemm cut: 448 while two chunks remain, then two halves rounded to 16.
    func testOpenBLASChunks() {
        func sizes(_ K: Int) -> [Int] { PanelGEMM.InputChunks.openBLAS.ranges(columns: K).map(\.count) }
        XCTAssertEqual(sizes(200), [200])
        XCTAssertEqual(sizes(576), [288, 288])
        XCTAssertEqual(sizes(896), [448, 448])
        XCTAssertEqual(sizes(906), [448, 240, 218])
        XCTAssertEqual(sizes(1536), [448, 448, 320, 320])
        XCTAssertEqual(sizes(4864), Array(repeating: 448, count: 9) + [416, 416])
        XCTAssertEqual(PanelGEMM.InputChunks.openBLAS.ranges(columns: 1234).reduce(0) { $0 + $1.count }, 1234)
    }

    /// A long batch at the VNNI level: every output is, bit for bit, each chunk's products summed in
    /// one FMA chain from zero, the chunks added in order (the order of OpenBLAS's SkylakeX sgemm).
    func testLongBatchesSumInOpenBLASOrder() throws {
        guard CPULevel.current == .avx512vnni else {
            // The AVX2 level keeps OpenBLAS (CI runs both levels).
            let m = QuantizedMatrix(type: .f32, rows: 1, columns: 8, data: UnsafeRawPointer(bitPattern: 64)!)
            XCTAssertNotEqual(Linear.path(for: [m], tokens: 300), .longDense)
            return
        }
        var rng = TestRandom(5)
        for (type, cols) in [(GGMLType.q5_0, 896), (.q4_K, 1536), (.q6_K, 2304), (.q8_0, 576)] {
            let rows = 13, T = 300
            let data = ReferenceQuantizer.quantize(type, rng.floats(rows * cols)).bytes
            let ptr = KernelReference.heapCopies([data])[0]
            defer { ptr.deallocate() }
            let m = QuantizedMatrix(type: type, rows: rows, columns: cols, data: ptr)
            XCTAssertEqual(Linear.path(for: [m], tokens: T), .longDense)
            let x = rng.floats(T * cols, scale: 2)
            var y = [Float](repeating: .nan, count: T * rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    Linear(pool: ThreadPool(threadCount: 2)).apply([m], xp.baseAddress!, inputStride: cols, yp.baseAddress!,
                                                                   outputStride: rows, rows: T, path: nil)
                }
            }
            var w = [Float](repeating: 0, count: cols)
            let chunks = PanelGEMM.InputChunks.openBLAS.ranges(columns: cols)
            for r in 0..<rows {
                w.withUnsafeMutableBufferPointer { m.dequantize(row: r, from: 0, count: cols, into: $0.baseAddress!) }
                for t in stride(from: 0, to: T, by: 7) {
                    var sum: Float = 0
                    for (i, chunk) in chunks.enumerated() {
                        var acc: Float = 0
                        for k in chunk { acc = acc.addingProduct(x[t * cols + k], w[k]) }
                        sum = i == 0 ? acc : sum + acc
                    }
                    XCTAssertEqual(y[t * rows + r].bitPattern, sum.bitPattern, "\(type.name) row \(r) token \(t): \(y[t * rows + r]) against \(sum)")
                }
            }
        }
    }
}

/// Prefill attention's products at the VNNI level sum in OpenBLAS's SkylakeX order: each chunk's
/// products in one FMA chain from zero, scaled, added chunk after chunk (bit for bit).
final class OrderedGEMMTests: XCTestCase {
    func testBothShapesSumInChunkOrder() {
        var rng = TestRandom(9)
        for (m, n, k) in [(5, 37, 64), (3, 9, 1200), (128, 64, 300), (7, 64, 1000), (6, 64, 64)] {
            let a = rng.floats(m * k), bT = rng.floats(n * k), b = rng.floats(k * n)
            var c = [Float](repeating: .nan, count: m * n), d = [Float](repeating: .nan, count: m * n)
            a.withUnsafeBufferPointer { ap in
                bT.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { OrderedGEMM.abT(m: m, n: n, k: k, alpha: 0.088388, a: ap.baseAddress!, lda: k,
                                                                       b: bp.baseAddress!, ldb: k, c: $0.baseAddress!, ldc: n) }
                }
                b.withUnsafeBufferPointer { bp in
                    d.withUnsafeMutableBufferPointer { OrderedGEMM.ab(m: m, n: n, k: k, a: ap.baseAddress!, lda: k,
                                                                      b: bp.baseAddress!, ldb: n, c: $0.baseAddress!, ldc: n) }
                }
            }
            let chunks = PanelGEMM.InputChunks.openBLAS.ranges(columns: k)
            for i in 0..<m {
                for j in 0..<n {
                    var s1: Float = 0, s2: Float = 0
                    for (ci, chunk) in chunks.enumerated() {
                        var x: Float = 0, y: Float = 0
                        for kk in chunk {
                            x = x.addingProduct(a[i * k + kk], bT[j * k + kk])
                            y = y.addingProduct(a[i * k + kk], b[kk * n + j])
                        }
                        s1 = ci == 0 ? 0.088388 * x : s1 + 0.088388 * x
                        s2 = ci == 0 ? y : s2 + y
                    }
                    XCTAssertEqual(c[i * n + j].bitPattern, s1.bitPattern, "A·Bᵀ \(m)×\(n)×\(k) at \(i), \(j)")
                    XCTAssertEqual(d[i * n + j].bitPattern, s2.bitPattern, "A·B \(m)×\(n)×\(k) at \(i), \(j)")
                }
            }
        }
    }
}
