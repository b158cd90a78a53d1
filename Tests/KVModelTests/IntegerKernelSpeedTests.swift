import Foundation
import XCTest
@testable import KVModel

/// Speed of the integer kernels and of `Linear`'s paths; prints numbers, asserts nothing about time.
/// Skipped unless `KVD_BENCH=1` (run: `KVD_BENCH=1 swift test -c release --filter KernelSpeed`).
/// The machine is shared and noisy: variants run interleaved (A B A B …) and medians are quoted.
final class IntegerKernelSpeedTests: XCTestCase {
    override func setUpWithError() throws {
        guard ProcessInfo.processInfo.environment["KVD_BENCH"] == "1" else { throw XCTSkip("set KVD_BENCH=1 to measure") }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
    static func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }

    /// Runs each variant `reps` times, interleaved, and returns each one's median seconds.
    static func interleaved(_ reps: Int, _ variants: [() -> Void]) -> [Double] {
        var times = [[Double]](repeating: [], count: variants.count)
        for _ in 0..<reps {
            for (i, v) in variants.enumerated() {
                let t = now()
                v()
                times[i].append(now() - t)
            }
        }
        return times.map(median)
    }

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
        for i in 0..<2 {
            let med = Self.median(tokens[i])
            var line = String(format: "qwen2.5-0.5b token of matvecs, threads=%d: %.2f ms, %.1f GB/s (%d MB);", i + 1, med * 1e3, Double(total) / med / 1e9, total >> 20)
            for (type, ts) in perType[i].sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                line += String(format: " %@ %.1f GB/s", type.name, Double(bytesByType[type]!) / Self.median(ts) / 1e9)
            }
            print(line)
        }
    }

    /// GB/s per type on a 4864×896 matrix (Qwen's ffn_up shape): in cache (the same matrix
    /// again and again) and from memory (cycling through ~384 MB of copies), 1 and 2 threads.
    func testBandwidthPerType() {
        let rows = 4864, cols = 896
        let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2)]
        let q = Q8Vector(capacity: cols)
        q.quantize((0..<cols).map { cos(Float($0) * 0.11) }, count: cols)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: rows)
        defer { y.deallocate() }
        for type in GGMLType.allCases {
            let bytes = rows * type.rowBytes(cols)!
            let copies = max(1, (384 << 20) / bytes)
            let datas = (0..<copies).map { SyntheticWeights.make(type, rows: rows, columns: cols, seed: UInt64($0 + 1)) }
            defer { datas.forEach { $0.deallocate() } }
            let mats = datas.map { QuantizedMatrix(type: type, rows: rows, columns: cols, data: $0, pool: pools[1]) }
            var cycle = 0
            let med = Self.interleaved(9, [
                { for _ in 0..<20 { mats[0].matvec(q, into: y, pool: pools[0]) } },
                { for _ in 0..<20 { mats[0].matvec(q, into: y, pool: pools[1]) } },
                { for _ in 0..<20 { mats[cycle % copies].matvec(q, into: y, pool: pools[0]); cycle += 1 } },
                { for _ in 0..<20 { mats[cycle % copies].matvec(q, into: y, pool: pools[1]); cycle += 1 } },
            ]).map { Double(bytes) * 20 / $0 / 1e9 }
            print(String(format: "%@ %dx%d: in cache %.1f / %.1f GB/s, from memory %.1f / %.1f GB/s (1 / 2 threads)",
                         type.name, rows, cols, med[0], med[1], med[2], med[3]))
        }
    }

    /// `Linear`'s three paths for T = 1…128 on Qwen2.5-0.5B's shapes (real tensors) and on
    /// 896→4864 for the types the file lacks (synthetic), two threads; prints a table and the
    /// smallest T where dense (dequantize + sgemm) beats batched.
    func testLinearPaths() throws {
        let f = try ModelFiles.gguf(ModelFiles.qwen)
        let pool = ThreadPool(threadCount: 2)
        var cases: [(String, QuantizedMatrix)] = []
        for name in ["blk.0.attn_q.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight", "blk.2.ffn_down.weight", "output.weight"] {
            let info = try f.tensor(name)
            cases.append(("\(name) \(info.type.name) \(info.rowLength)→\(info.rowCount)", QuantizedMatrix(info, in: f, pool: pool)))
        }
        var synthetic: [UnsafeMutableRawPointer] = []
        defer { synthetic.forEach { $0.deallocate() } }
        for type in [GGMLType.q4_0, .q4_1, .q5_1, .q5_K, .f16, .bf16, .f32] {
            let p = SyntheticWeights.make(type, rows: 4864, columns: 896)
            synthetic.append(p)
            cases.append(("synthetic \(type.name) 896→4864", QuantizedMatrix(type: type, rows: 4864, columns: 896, data: p, pool: pool)))
        }
        let linear = Linear(pool: pool)
        for (label, m) in cases {
            let big = m.rows > 100_000
            let Ts = big ? [1, 2, 4, 8, 16, 32, 64, 128] : [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128]
            let x = (0..<(128 * m.columns)).map { sin(Float($0) * 0.013) }
            let y = UnsafeMutablePointer<Float>.allocate(capacity: 128 * m.rows)
            defer { y.deallocate() }
            print("\(label): T, matvec ms, batched ms, dense ms")
            var crossover: Int?
            x.withUnsafeBufferPointer { xp in
                for T in Ts {
                    let run = { (p: Linear.Path) in { linear.apply([m], xp.baseAddress!, inputStride: m.columns, y, outputStride: m.rows, rows: T, path: p) } }
                    let med = Self.interleaved(big ? 3 : 7, [run(.matvec), run(.batched), run(.dense)])
                    print(String(format: "  %3d  %8.3f  %8.3f  %8.3f", T, med[0] * 1e3, med[1] * 1e3, med[2] * 1e3))
                    if crossover == nil && med[2] < med[1] { crossover = T }
                }
            }
            print("  dense beats batched from T = \(crossover.map(String.init) ?? "> 128")")
        }
    }
}
