import XCTest
@testable import KVModel

/// Rows of every tensor type of a real Q4_K_M file (Qwen2.5-Coder-0.5B: q5_0, q8_0, q4_K,
/// q6_K) through the integer kernels, whole matrices as the model builds them, against
/// dequantize + dot within the activation bound. Fails if the model file is missing.
final class RealTensorKernelTests: XCTestCase {
    func testQwenTensorsOfEveryType() throws {
        let f = try ModelFiles.gguf(ModelFiles.qwen)
        var seen = Set<GGMLType>()
        var rng = TestRandom(31)
        for info in f.tensors where info.shape.count == 2 && info.type.blockSize > 1 && !seen.contains(info.type) {
            seen.insert(info.type)
            let m = QuantizedMatrix(info, in: f)
            XCTAssertNotEqual(m.layout, .generic, "\(info.name) (\(info.type.name)) has no integer kernel")
            let x = rng.floats(m.columns, scale: 2)
            let q = Q8Vector(capacity: m.columns)
            x.withUnsafeBufferPointer { q.quantize($0.baseAddress!, count: m.columns) }
            let y = UnsafeMutablePointer<Float>.allocate(capacity: m.rows)
            defer { y.deallocate() }
            m.matvec(q, into: y, pool: ThreadPool(threadCount: 2))
            let rows = Array(stride(from: 0, to: m.rows, by: max(1, m.rows / 13))) + [m.rows - 1]
            let rb = m.sourceRowBytes
            var bytes = [UInt8]()
            for r in rows { bytes += UnsafeRawBufferPointer(start: m.source + r * rb, count: rb) }
            let ref = KernelReference(info.type, bytes, rows: rows.count, columns: m.columns, input: x)
            for (k, r) in rows.enumerated() {
                XCTAssertEqual(Double(y[r]), ref.dots[k], accuracy: ref.tolerance(row: k, input: x) { q.scales[$0] },
                               "\(info.name) (\(info.type.name)) row \(r)")
            }
        }
        XCTAssertEqual(seen, [.q5_0, .q8_0, .q4_K, .q6_K], "the file's tensor types changed")
    }
}
