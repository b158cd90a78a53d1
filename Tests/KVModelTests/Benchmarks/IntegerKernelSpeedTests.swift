import Foundation
import XCTest
@testable import KVModel

/// Speed of the integer kernels and of `Linear`'s paths; prints numbers, asserts nothing about time.
/// Builds only with `KVD_BENCH=1` (run: `KVD_BENCH=1 swift test -c release --filter KernelSpeed`).
/// The machine is shared and noisy: variants run interleaved (A B A B …) and medians are quoted.
final class IntegerKernelSpeedTests: XCTestCase {

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
    /// CPU time of the calling thread: on a loaded machine, single-thread runs timed with it do
    /// not count the time the thread waited for a core.
    static func threadCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
    static func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }

    /// Runs each variant `reps` times, interleaved, and returns each one's median seconds
    /// (wall clock, or the calling thread's CPU time: only for single-thread variants).
    static func interleaved(_ reps: Int, cpu: Bool = false, _ variants: [() -> Void]) -> [Double] {
        let clock = cpu ? threadCPU : now
        var times = [[Double]](repeating: [], count: variants.count)
        for _ in 0..<reps {
            for (i, v) in variants.enumerated() {
                let t = clock()
                v()
                times[i].append(clock() - t)
            }
        }
        return times.map(median)
    }

    /// OpenBLAS on one thread, as `Model` runs it (its own threads would fight the pool's).
    override func setUp() {
        savedBLASThreads = BLAS.threadCount
        BLAS.setThreadCount(1)
    }
    override func tearDown() { BLAS.setThreadCount(savedBLASThreads) }
    private var savedBLASThreads = 1

    /// A whole Qwen2.5-0.5B Q4_K_M token of mat-vecs (every layer matrix plus the q8_0 output
    /// matrix, ~400 MB: more than the caches), one and two threads, with GB/s per type.
    func testQwenDecodeMatvecs() throws {
        let f = try ModelFiles.gguf(ModelFiles.qwen)
        let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2)]
        let mats = f.tensors.filter { $0.shape.count == 2 && $0.name != "token_embd.weight" }.map { QuantizedMatrix($0, in: f, pool: pools[1]) }
        let inputs = Dictionary(grouping: mats, by: \.columns).mapValues { ms -> Q8Vector in
            let q = Q8Vector(capacity: ms[0].columns)
            q.quantize((0..<ms[0].columns).map { sin(Float($0) * 0.37) }, count: ms[0].columns)
            return q
        }
        let y = UnsafeMutablePointer<Float>.allocate(capacity: mats.map(\.rows).max()!)
        defer { y.deallocate() }
        var perType = [[GGMLType: [Double]]](repeating: [:], count: 2), tokens = [[Double]](repeating: [], count: 2)
        for _ in 0..<15 {
            for (i, pool) in pools.enumerated() {
                var byType = [GGMLType: Double]()
                let t0 = Self.now()
                for m in mats {
                    let t = Self.now()
                    m.matvec(inputs[m.columns]!, into: y, pool: pool)
                    byType[m.type, default: 0] += Self.now() - t
                }
                tokens[i].append(Self.now() - t0)
                for (k, v) in byType { perType[i][k, default: []].append(v) }
            }
        }
        let bytesByType = Dictionary(grouping: mats, by: \.type).mapValues { $0.reduce(0) { $0 + $1.rows * $1.sourceRowBytes } }
        let total = bytesByType.values.reduce(0, +)
        // The memory roofline on this machine as it is now: one thread streaming as many bytes
        // (a float dot product over a buffer of the token's size), against the token, both
        // timed by the thread's CPU time, interleaved.
        let stream = UnsafeMutablePointer<Float>.allocate(capacity: total / 4)
        defer { stream.deallocate() }
        stream.initialize(repeating: 0.5, count: total / 4)
        var sink: Float = 0
        let cpu = Self.interleaved(9, cpu: true, [
            { for m in mats { m.matvec(inputs[m.columns]!, into: y, pool: pools[0]) } },
            { sink += VectorOps.dot(stream, stream, count: total / 8) + VectorOps.dot(stream + total / 8, stream + total / 8, count: total / 8) },
        ])
        print(String(format: "qwen2.5-0.5b token of matvecs, 1 thread, CPU time: %.1f ms (%.1f GB/s); streaming the same %d MB with a float dot: %.1f ms (%.1f GB/s) %@",
                     cpu[0] * 1e3, Double(total) / cpu[0] / 1e9, total >> 20, cpu[1] * 1e3, Double(total) / cpu[1] / 1e9, sink > 0 ? "" : " "))
        for i in 0..<2 {
            let med = Self.median(tokens[i])
            var line = String(format: "qwen2.5-0.5b token of matvecs, threads=%d: %.2f ms, %.1f GB/s (%d MB);", i + 1, med * 1e3, Double(total) / med / 1e9, total >> 20)
            for (type, ts) in perType[i].sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                line += String(format: " %@ %.1f GB/s", type.name, Double(bytesByType[type]!) / Self.median(ts) / 1e9)
            }
            print(line)
        }
    }

    /// Qwen's ffn_up shape 896→4864, or ffn_down's 4864→896 for the k-quants (rows of 256-blocks).
    static func shape(_ type: GGMLType) -> (rows: Int, cols: Int) { type.blockSize == 256 ? (896, 4864) : (4864, 896) }

    /// GB/s per type on Qwen's ffn shapes (4864×896, or 896×4864 for the k-quants), 1 and 2
    /// threads: in L2 (a ~200 KB slice again and again, one thread timed by its CPU time: the
    /// kernel's compute speed), in L3 (the whole ~3 MB matrix again) and from memory (cycling
    /// through ~384 MB of copies), both by the wall clock.
    func testBandwidthPerType() {
        let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2)]
        for type in GGMLType.allCases {
            let (rows, cols) = Self.shape(type)
            let q = Q8Vector(capacity: cols)
            q.quantize((0..<cols).map { cos(Float($0) * 0.11) }, count: cols)
            let y = UnsafeMutablePointer<Float>.allocate(capacity: rows)
            defer { y.deallocate() }
            let bytes = rows * type.rowBytes(cols)!
            let copies = max(1, (384 << 20) / bytes)
            let datas = (0..<copies).map { SyntheticWeights.make(type, rows: rows, columns: cols, seed: UInt64($0 + 1)) }
            defer { datas.forEach { $0.deallocate() } }
            let mats = datas.map { QuantizedMatrix(type: type, rows: rows, columns: cols, data: $0, pool: pools[1]) }
            let sliceRows = max(8, (200 << 10) / type.rowBytes(cols)!)
            let slice = QuantizedMatrix(type: type, rows: sliceRows, columns: cols, data: datas[0])
            var cycle = 0
            let l2 = Self.interleaved(9, cpu: true, [{ for _ in 0..<200 { slice.matvec(q, into: y, pool: pools[0]) } }])
                .map { Double(sliceRows * type.rowBytes(cols)!) * 200 / $0 / 1e9 }
            let med = Self.interleaved(9, [
                { for _ in 0..<20 { mats[0].matvec(q, into: y, pool: pools[0]) } },
                { for _ in 0..<20 { mats[0].matvec(q, into: y, pool: pools[1]) } },
                { for _ in 0..<20 { mats[cycle % copies].matvec(q, into: y, pool: pools[0]); cycle += 1 } },
                { for _ in 0..<20 { mats[cycle % copies].matvec(q, into: y, pool: pools[1]); cycle += 1 } },
            ]).map { Double(bytes) * 20 / $0 / 1e9 }
            print(String(format: "%@ %dx%d: L2 %.1f GB/s (1 thread, CPU time); L3 %.1f / %.1f, memory %.1f / %.1f GB/s (1 / 2 threads, wall)",
                         type.name, rows, cols, l2[0], med[0], med[1], med[2], med[3]))
        }
    }

    /// `Linear`'s four paths for T = 1…512 on Qwen2.5-0.5B's shapes (real tensors) and on
    /// `shape(_:)` for the types the file lacks (synthetic); prints a table and the smallest T
    /// where dense (`PanelGEMM`) beats batched and where sgemm beats dense (run it with
    /// `OPENBLAS_CORETYPE=Haswell` where OpenBLAS falls back to its SSE3 kernels). Every path splits rows over the pool the
    /// same way, so the crossover is measured on one thread with its CPU time (stable on a
    /// loaded machine); `KVD_BENCH_THREADS=2` times two threads by the wall clock instead,
    /// `KVD_BENCH_CASES=q6_K` runs the cases whose label contains the string.
    func testLinearPaths() throws {
        let f = try ModelFiles.gguf(ModelFiles.qwen)
        let threads = Int(ProcessInfo.processInfo.environment["KVD_BENCH_THREADS"] ?? "") ?? 1
        let pool = ThreadPool(threadCount: threads)
        var cases: [(String, QuantizedMatrix)] = []
        for name in ["blk.0.attn_q.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight", "blk.2.ffn_down.weight", "output.weight"] {
            let info = try f.tensor(name)
            cases.append(("\(name) \(info.type.name) \(info.rowLength)→\(info.rowCount)", QuantizedMatrix(info, in: f, pool: pool)))
        }
        var synthetic: [UnsafeMutableRawPointer] = []
        defer { synthetic.forEach { $0.deallocate() } }
        for type in [GGMLType.q4_0, .q4_1, .q5_1, .q5_K, .f16, .bf16, .f32] {
            let (rows, cols) = Self.shape(type)
            let p = SyntheticWeights.make(type, rows: rows, columns: cols)
            synthetic.append(p)
            cases.append(("synthetic \(type.name) \(cols)→\(rows)", QuantizedMatrix(type: type, rows: rows, columns: cols, data: p, pool: pool)))
        }
        let linear = Linear(pool: pool)
        let only = ProcessInfo.processInfo.environment["KVD_BENCH_CASES"]  // e.g. "q6_K": labels containing it
        for (label, m) in cases where only.map({ label.contains($0) }) ?? true {
            let big = m.rows > 100_000
            let Ts = big ? [1, 2, 4, 8, 16, 32, 64, 128] : [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
            let x = (0..<(512 * m.columns)).map { sin(Float($0) * 0.013) }
            let y = UnsafeMutablePointer<Float>.allocate(capacity: 512 * m.rows)
            defer { y.deallocate() }
            print("\(label), \(threads) thread(s), OpenBLAS \(BLAS.coreName): T, matvec ms, batched ms, dense ms, sgemm ms")
            var crossover: Int?, sgemmCrossover: Int?
            x.withUnsafeBufferPointer { xp in
                for T in Ts {
                    let run = { (p: Linear.Path) in { linear.apply([m], xp.baseAddress!, inputStride: m.columns, y, outputStride: m.rows, rows: T, path: p) } }
                    let med = Self.interleaved(big ? 3 : 7, cpu: threads == 1, [run(.matvec), run(.batched), run(.dense), run(.sgemm)])
                    print(String(format: "  %3d  %8.3f  %8.3f  %8.3f  %8.3f", T, med[0] * 1e3, med[1] * 1e3, med[2] * 1e3, med[3] * 1e3))
                    if crossover == nil && med[2] < med[1] { crossover = T }
                    if sgemmCrossover == nil && med[3] < med[2] { sgemmCrossover = T }
                }
            }
            print("  dense beats batched from T = \(crossover.map(String.init) ?? "> \(Ts.last!)"); sgemm beats dense from T = \(sgemmCrossover.map(String.init) ?? "> \(Ts.last!)")")
        }
    }
}
