import XCTest
@testable import KVModel
import KVTestSupport

/// Decode attention over quantized heads (every kernel path: 8/4/2 bits, the three-query integer
/// path and the generic one, split-K slices starting mid-block, blocks shortened by `keep`,
/// narrowed keys, outliers and low-rank terms) equals naive attention over the dequantized entries.
final class QuantizedAttentionTests: XCTestCase {
    func testDecodeMatchesNaiveAttentionOverDequantizedEntries() throws {
        var config = try ModelConfig(gguf: TestModel.gguf())
        let D = config.headDimension
        let cases: [(spec: String, count: Int, group: Int, edit: String)] = [
            ("kivi:bits=8", 1500, 3, ""), ("kivi:bits=4", 1500, 3, "keep"), ("kivi:bits=2", 1500, 3, ""),
            ("kivi:bits=4,group_size=16,residual=40", 700, 3, ""), ("kivi:bits=8,group_size=8", 1100, 2, "keep"),
            ("kivi:bits=4,residual=0", 1100, 3, "narrow"), ("kivi:bits=2,group_size=4", 300, 3, ""),
            ("gear:bits=4", 1100, 3, "keep"), ("kivi:bits=8", 1037, 3, "keep"), ("kivi:bits=2", 1111, 3, "keep"),
            ("kvquant:bits=4", 1200, 3, "set"), ("gear:bits=4", 1000, 3, "narrow+keep"), ("kvquant:bits=2,residual=16", 1100, 3, "keep"), ("gear:bits=2,rank=3", 900, 2, "narrow"),
        ]
        for (n, c) in cases.enumerated() {
            config.headCountKV = 3
            config.headCount = 3 * c.group
            let scheme = try KVCacheQuantization.parse(c.spec)
            let heads = (0..<3).map { g in SyntheticKV(count: c.count - g * 37, seed: UInt64(10 * n + g), spikes: true).head() }
            for head in heads { head.quantize(scheme) }
            // Edits after quantizing must keep the outliers' deltas (exact − dense) in step.
            if c.edit.contains("keep") {
                var rng = SplitMix64(seed: UInt64(n))
                heads[1].keep((0..<heads[1].count).filter { _ in rng.next() % 3 != 0 })
            }
            if c.edit.contains("narrow") {
                heads[2].keepKeyChannels(Array(stride(from: 0, to: D, by: 4)) + Array(stride(from: 1, to: D, by: 2)).filter { $0 > 20 })
            }
            if c.edit == "set" {
                let row = (0..<D).map { Float($0 % 7) / 3 - 1 }
                for r in [5, 700] { row.withUnsafeBufferPointer { heads[0].setValue(r, $0.baseAddress!) } }
            }
            var rng = SplitMix64(seed: 99)
            let q = (0..<(config.headCount * D)).map { _ in Float(rng.nextDouble() * 2 - 1) }
            var out = [Float](repeating: 0, count: config.headCount * D)
            q.withUnsafeBufferPointer { qp in out.withUnsafeMutableBufferPointer {
                DecodeAttention.run(query: qp.baseAddress!, shape: AttentionShape(config: config), cache: heads, output: $0.baseAddress!, workspace: Workspace())
            } }
            var worst: Float = 0
            for h in 0..<config.headCount {
                let head = heads[h / c.group]
                let channels = head.keyChannels ?? Array(0..<D)
                let (keys, values) = head.dequantized
                let kd = head.keyDimension
                var s = (0..<head.count).map { j in
                    (0..<kd).reduce(Float(0)) { $0 + q[h * D + channels[$1]] * keys[j * kd + $1] } / Float(D).squareRoot()
                }
                let m = s.max()!
                s = s.map { exp($0 - m) }
                let total = s.reduce(0, +)
                for ch in 0..<D {
                    let want = (0..<head.count).reduce(Float(0)) { $0 + s[$1] * values[$1 * D + ch] } / total
                    worst = max(worst, abs(want - out[h * D + ch]))
                }
            }
            XCTAssertLessThan(worst, 2e-4, "\(c.spec), \(c.count) entries, group \(c.group), \(c.edit)")
        }
    }
}
