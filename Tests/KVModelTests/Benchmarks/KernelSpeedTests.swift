import Foundation
import XCTest
@testable import KVModel
import KVTestSupport

/// Speed measurements of the kernels; prints numbers, asserts nothing about time.
/// Builds only with `KVD_BENCH=1` (run: `KVD_BENCH=1 swift test -c release --filter KernelSpeed`).
final class KernelSpeedTests: XCTestCase {

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    func testDecodeMatvecs() throws {
        let f = try TestModel.gguf()
        let layers = try f.int("llama.block_count")
        let names = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]
        for threads in [1, 2] {
            let pool = ThreadPool(threadCount: threads)
            var mats: [QuantizedMatrix] = []
            var bytes = 0
            let t0 = Self.now()
            for l in 0..<layers {
                for n in names {
                    let info = try f.tensor("blk.\(l).\(n).weight")
                    mats.append(QuantizedMatrix(info, in: f, pool: pool))
                    bytes += info.byteCount
                }
            }
            let out = try f.tensor("token_embd.weight")
            mats.append(QuantizedMatrix(out, in: f, pool: pool))
            bytes += out.byteCount
            let tPack = Self.now() - t0
            let x576 = Q8Vector(capacity: 576), x1536 = Q8Vector(capacity: 1536)
            var xs = [Float](repeating: 0, count: 1536)
            for i in 0..<1536 { xs[i] = sin(Float(i) * 0.37) }
            x576.quantize(xs, count: 576)
            x1536.quantize(xs, count: 1536)
            let y = UnsafeMutablePointer<Float>.allocate(capacity: 49152)
            defer { y.deallocate() }
            var times: [Double] = []
            var outTimes: [Double] = []
            for _ in 0..<30 {
                let t = Self.now()
                for m in mats.dropLast() { m.matvec(m.columns == 576 ? x576 : x1536, into: y, pool: pool) }
                let t1 = Self.now()
                mats.last!.matvec(x576, into: y, pool: pool)
                let t2 = Self.now()
                times.append(t2 - t)
                outTimes.append(t2 - t1)
            }
            times.sort(); outTimes.sort()
            let med = times[times.count / 2]
            print(String(format: "matvec threads=%d: full token %.2f ms (min %.2f), %.1f GB/s; output matrix %.2f ms; %d MB; repack %.0f ms",
                         threads, med * 1e3, times[0] * 1e3, Double(bytes) / med / 1e9, outTimes[outTimes.count / 2] * 1e3,
                         bytes >> 20, tPack * 1e3))
        }
    }

    /// One matrix over and over (in cache): compute speed of the kernels without the memory wall.
    func testHotMatvec() throws {
        let f = try TestModel.gguf()
        for name in ["blk.0.ffn_gate.weight", "blk.0.ffn_down.weight", "token_embd.weight"] {
            let info = try f.tensor(name)
            let m = QuantizedMatrix(info, in: f)
            let x = Q8Vector(capacity: m.columns)
            let xs = (0..<m.columns).map { sin(Float($0)) }
            x.quantize(xs, count: m.columns)
            let y = UnsafeMutablePointer<Float>.allocate(capacity: m.rows)
            defer { y.deallocate() }
            let rows = min(m.rows, 1536)  // the output matrix: its first 1536 rows only, to stay in cache
            let sub = QuantizedMatrix(type: info.type, rows: rows, columns: m.columns, data: f.data(of: info))
            for threads in [1, 2] {
                let pool = ThreadPool(threadCount: threads)
                for _ in 0..<50 { sub.matvec(x, into: y, pool: pool) }
                let n = 1000
                let t = Self.now()
                for _ in 0..<n { sub.matvec(x, into: y, pool: pool) }
                let dt = (Self.now() - t) / Double(n)
                let bytes = Double(rows * info.type.rowBytes(m.columns)!)
                print(String(format: "hot %@ %dx%d threads=%d: %.1f µs, %.1f GB/s", name, rows, m.columns, threads, dt * 1e6, bytes / dt / 1e9))
            }
        }
    }

    func testParallelForOverhead() {
        for threads in [1, 2] {
            let pool = ThreadPool(threadCount: threads)
            let counter = UnsafeMutablePointer<Int>.allocate(capacity: 64)
            defer { counter.deallocate() }
            counter.initialize(repeating: 0, count: 64)
            let n = 200_000
            for _ in 0..<1000 { pool.parallelFor(2) { r in counter[r.lowerBound &* 16] &+= 1 } }
            let t = Self.now()
            for _ in 0..<n { pool.parallelFor(2) { r in counter[r.lowerBound &* 16] &+= 1 } }
            let dt = Self.now() - t
            print(String(format: "parallelFor threads=%d: %.2f µs per region", threads, dt / Double(n) * 1e6))
        }
        let t = Self.now()
        for _ in 0..<20_000 { DispatchQueue.concurrentPerform(iterations: 2) { _ in } }
        print(String(format: "DispatchQueue.concurrentPerform(2): %.2f µs per region", (Self.now() - t) / 20_000 * 1e6))
    }

    func testDequantizeAll() throws {
        let f = try TestModel.gguf()
        let total = f.tensors.reduce(0) { $0 + $1.elementCount }
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: total)
        defer { buf.deallocate() }
        buf.initialize(repeating: 0, count: total)  // fault the pages in first: measure the kernel, not the kernel's page faults
        for threads in [1, 2] {
            let pool = ThreadPool(threadCount: threads)
            var best = Double.infinity
            for _ in 0..<3 {
                let t = Self.now()
                var off = 0
                for info in f.tensors {
                    Dequantize.tensor(info.type, from: f.data(of: info), to: buf + off, rows: info.rowCount, rowLength: info.rowLength, pool: pool)
                    off += info.elementCount
                }
                best = min(best, Self.now() - t)
            }
            print(String(format: "dequantize all %d weights threads=%d: %.0f ms (%.2f GB/s written)", total, threads, best * 1e3, Double(total * 4) / best / 1e9))
        }
    }
}
