import Foundation
import XCTest
@testable import KVModel

/// The measurement behind the activation precision of the integer kernels: the two-part
/// ~16-bit input (`Q8Vector`: int8 + int8 residual, two `vpmaddubsw` per block) against plain
/// int8 per 32-block (llama.cpp's q8_0-style input, one `vpmaddubsw`), for accuracy on Qwen2.5's
/// real tensors and for speed in cache and from memory. Opt-in like the other speed tests
/// (`KVD_BENCH=1 swift test -c release --filter ActivationPrecisionKernelSpeed`).
final class ActivationPrecisionKernelSpeedTests: XCTestCase {
    override func setUpWithError() throws {
        guard ProcessInfo.processInfo.environment["KVD_BENCH"] == "1" else { throw XCTSkip("set KVD_BENCH=1 to measure") }
    }

    func testPrecisionAndSpeed() throws {
        let f = try ModelFiles.gguf(ModelFiles.qwen)
        let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2)]
        var seen = Set<GGMLType>()
        for info in f.tensors where info.shape.count == 2 && info.name != "token_embd.weight" && !seen.contains(info.type) {
            seen.insert(info.type)
            let m = QuantizedMatrix(info, in: f, pool: pools[1])
            // Activations with a few outliers, as hidden states have.
            var rng = TestRandom(41)
            var xs = rng.floats(m.columns)
            for i in stride(from: 7, to: m.columns, by: 97) { xs[i] *= 20 }
            let q = Q8Vector(capacity: m.columns)
            q.quantize(xs, count: m.columns)
            let rows = min(m.rows, 256)  // ~200 KB or less: in L2
            let y16 = UnsafeMutablePointer<Float>.allocate(capacity: rows), y8 = UnsafeMutablePointer<Float>.allocate(capacity: rows)
            defer { y16.deallocate(); y8.deallocate() }
            m.batchRows(0..<rows, Q8Rows(q), q.values, inputStride: m.columns, y16, outputStride: 1)
            m.int8Rows(0..<rows, Q8Rows(q), y8)
            var e16 = 0.0, e8 = 0.0, norm = 0.0
            var w = [Float](repeating: 0, count: m.columns)
            for r in 0..<rows {
                w.withUnsafeMutableBufferPointer { m.dequantizeRow(r, into: $0.baseAddress!) }
                var s = 0.0
                for c in 0..<m.columns { s += Double(w[c]) * Double(xs[c]) }
                e16 += (Double(y16[r]) - s) * (Double(y16[r]) - s)
                e8 += (Double(y8[r]) - s) * (Double(y8[r]) - s)
                norm += s * s
            }
            // Speed: the same rows, in cache (one thread) and, for the whole matrix, both threads.
            let x = Q8Rows(q)
            let cpu = IntegerKernelSpeedTests.interleaved(9, cpu: true, [
                { for _ in 0..<200 { m.batchRows(0..<rows, x, q.values, inputStride: m.columns, y16, outputStride: 1) } },
                { for _ in 0..<200 { m.int8Rows(0..<rows, x, y8) } },
            ])
            let wall = IntegerKernelSpeedTests.interleaved(9, [
                { pools[1].parallelFor(rows, grain: 16) { m.batchRows($0, x, q.values, inputStride: m.columns, y16, outputStride: 1) } },
                { pools[1].parallelFor(rows, grain: 16) { m.int8Rows($0, x, y8) } },
            ])
            let med = cpu + wall
            let bytes = Double(rows * m.sourceRowBytes)
            print(String(format: "%@ %@ (%d rows): relative RMS error 16-bit %.2e, int8 %.2e; in L2 1 thread (CPU time) %.1f vs %.1f GB/s; 2 threads (wall, one pass) %.1f vs %.1f GB/s",
                         info.name, info.type.name, rows, (e16 / norm).squareRoot(), (e8 / norm).squareRoot(),
                         bytes * 200 / med[0] / 1e9, bytes * 200 / med[1] / 1e9, bytes / med[2] / 1e9, bytes / med[3] / 1e9))
        }
    }
}
