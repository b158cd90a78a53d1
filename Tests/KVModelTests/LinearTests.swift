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
            // when OpenBLAS runs a vector kernel.
            XCTAssertEqual(Linear.path(for: [m], tokens: Linear.sgemmCrossover), BLAS.hasVectorKernel ? .sgemm : .dense)
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
        checkEveryPath(columns: 1536, tokenCounts: [130, 700], paths: [.dense, .sgemm, nil])
    }

    private func checkEveryPath(columns cols: Int, tokenCounts: [Int],
                                paths: [Linear.Path?] = [.matvec, .batched, .dense, .sgemm, nil]) {
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
}
