import XCTest
@testable import KVModel
import KVTestSupport

/// Decode attention over quantized heads (every kernel path: 8/4/2 bits, every query tile, widths
/// with a half unit of codes, value groups of 8…128 and the float path for groups of 4, split-K
/// slices starting mid-block, blocks shortened by `keep`, narrowed keys, outliers and low-rank
/// terms, sliding windows) equals naive attention over the dequantized entries, column sums included.
final class QuantizedAttentionTests: XCTestCase {
    func testDecodeMatchesNaiveAttentionOverDequantizedEntries() throws {
        let D = 64
        let cases: [(spec: String, count: Int, group: Int, edit: String)] = [
            ("kivi:bits=8", 1500, 3, ""), ("kivi:bits=4", 1500, 3, "keep"), ("kivi:bits=2", 1500, 3, ""),
            ("kivi:bits=4,group_size=16,residual=40", 700, 3, ""), ("kivi:bits=8,group_size=8", 1100, 2, "keep"),
            ("kivi:bits=4,residual=0", 1100, 3, "narrow"), ("kivi:bits=2,group_size=4", 300, 3, ""),
            ("gear:bits=4", 1100, 3, "keep"), ("kivi:bits=8", 1037, 3, "keep"), ("kivi:bits=2", 1111, 3, "keep"),
            ("kvquant:bits=4", 1200, 3, "set"), ("gear:bits=4", 1000, 3, "narrow+keep"), ("kvquant:bits=2,residual=16", 1100, 3, "keep"),
            ("gear:bits=2,rank=3", 900, 2, "narrow"), ("kivi:bits=4,group_size=64", 1300, 7, "keep"),
            ("kivi:bits=2,group_size=4", 700, 4, "narrow"),
        ]
        for (n, c) in cases.enumerated() {
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
            let shape = AttentionShape(headCount: 3 * c.group, headCountKV: 3, headDimension: D, scale: 1 / Float(D).squareRoot())
            let e = AttentionFixture.decodeErrors(AttentionFixture.queries(shape.headCount * D, seed: 99), shape: shape, heads: heads)
            XCTAssertLessThan(e.output, 2e-4, "\(c.spec), \(c.count) entries, group \(c.group), \(c.edit)")
            XCTAssertLessThan(e.sums, 2e-5, "\(c.spec), \(c.count) entries, group \(c.group), \(c.edit)")
        }
    }

    /// Every group size and width of the real models for kivi, kvquant and gear at 4 bits (the
    /// query tiles of the integer loops), and 8 and 2 bits at width 96 (a half unit of codes).
    func testEveryShapeMatchesReference() throws {
        var specs = ["kivi:bits=4", "kvquant:bits=4", "gear:bits=4"].map { ($0, DecodeAttentionTests.groups, DecodeAttentionTests.widths) }
        specs += [("kivi:bits=8", [1, 4], [96, 256]), ("kivi:bits=2", [1, 4, 7], [96, 128]), ("kvquant:bits=2,group_size=96", [2], [96])]
        for (spec, groups, widths) in specs {
            let scheme = try KVCacheQuantization.parse(spec)
            for G in groups {
                for D in widths {
                    let heads = [1100, 300].enumerated().map { i, n in
                        let head = AttentionFixture.head(count: n, width: D, storage: .f16, seed: UInt64(G * D + i))
                        head.quantize(scheme)
                        return head
                    }
                    let shape = AttentionShape(headCount: 2 * G, headCountKV: 2, headDimension: D, scale: 1 / Float(D).squareRoot())
                    let e = AttentionFixture.decodeErrors(AttentionFixture.queries(2 * G * D, seed: UInt64(D)), shape: shape, heads: heads)
                    XCTAssertLessThan(e.output, 2e-4, "\(spec), group \(G), width \(D)")
                    XCTAssertLessThan(e.sums, 2e-5, "\(spec), group \(G), width \(D)")
                }
            }
        }
    }

    /// A window that starts inside the quantized blocks (and one inside the f16 residual) of heads
    /// compressed by `keep`, so their positions have gaps.
    func testSlidingWindow() throws {
        for spec in ["kivi:bits=4", "gear:bits=2"] {
            let heads = (0..<2).map { g -> HeadKVCache in
                let head = AttentionFixture.head(count: 5000, width: 128, storage: .f16, seed: UInt64(g))
                var rng = SplitMix64(seed: UInt64(g + 3))
                head.keep((0..<5000).filter { _ in rng.next() % 2 == 0 })
                AttentionFixture.append(to: head, count: 1, seed: 9, firstPosition: 5000)
                head.quantize(try! KVCacheQuantization.parse(spec))
                return head
            }
            for window in [50, 700, 2600, 6000] {
                let shape = AttentionShape(headCount: 8, headCountKV: 2, headDimension: 128, scale: 0.09, window: window)
                let e = AttentionFixture.decodeErrors(AttentionFixture.queries(8 * 128, seed: 4), shape: shape, heads: heads)
                XCTAssertLessThan(e.output, 2e-4, "\(spec), window \(window)")
                XCTAssertLessThan(e.sums, 2e-5, "\(spec), window \(window)")
            }
        }
    }
}
