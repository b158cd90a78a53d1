import XCTest
@testable import KVModel

/// Prefill attention (blocks of rows, causal and sliding-window masks, column sums) against naive
/// double-precision attention, row by row.
final class PrefillAttentionTests: XCTestCase {
    /// Appends `T` new entries after each head's last position (as the model does), runs prefill
    /// and returns the largest differences of the output rows and of the column sums.
    static func errors(shape: AttentionShape, heads: [HeadKVCache], newTokens T: Int, seed: UInt64) -> (output: Double, sums: Double) {
        let first = heads.map { $0.count == 0 ? 0 : $0.position($0.count - 1) + 1 }.max()!
        for (g, head) in heads.enumerated() { AttentionFixture.append(to: head, count: T, seed: seed + UInt64(g), firstPosition: first) }
        let H = shape.headCount, D = shape.headDimension, G = shape.groupSize
        let q = AttentionFixture.queries(H * T * D, seed: seed)
        let stride = heads.map(\.count).max()!
        var out = [Float](repeating: .nan, count: T * H * D), sums = [Float](repeating: .nan, count: H * stride)
        q.withUnsafeBufferPointer { qp in out.withUnsafeMutableBufferPointer { o in sums.withUnsafeMutableBufferPointer { s in
            PrefillAttention.run(queries: qp.baseAddress!, tokenCount: T, shape: shape, cache: heads, output: o.baseAddress!,
                                 workspace: Workspace(), columnSums: s.baseAddress!, columnSumsStride: stride)
        } } }
        var worst = (output: 0.0, sums: 0.0)
        for (g, head) in heads.enumerated() {
            let reference = ReferenceHead(head), prior = head.count - T
            for k in 0..<G {
                let h = g * G + k
                var columns = [Double](repeating: 0, count: stride)
                for t in 0..<T {
                    let row = (h * T + t) * D
                    let (o, p) = reference.attend(q[row..<(row + D)], scale: shape.scale, window: shape.window,
                                                  position: first + t, end: prior + t + 1)
                    for c in 0..<D { worst.output = max(worst.output, abs(o[c] - Double(out[(t * H + h) * D + c]))) }
                    for j in 0..<p.count { columns[j] += p[j] }
                }
                for j in 0..<stride { worst.sums = max(worst.sums, abs(columns[j] - Double(sums[h * stride + j]))) }
            }
        }
        return worst
    }

    /// Every group size and width, two blocks of rows (128 + 12) over prior entries of different lengths.
    func testEveryShapeMatchesReference() {
        for G in DecodeAttentionTests.groups {
            for D in DecodeAttentionTests.widths {
                let heads = [60, 25].enumerated().map { i, n in
                    AttentionFixture.head(count: n, width: D, storage: .f16, seed: UInt64(G * D + i))
                }
                let shape = AttentionShape(headCount: 2 * G, headCountKV: 2, headDimension: D, scale: 1 / Float(D).squareRoot())
                let e = Self.errors(shape: shape, heads: heads, newTokens: 140, seed: UInt64(G + D))
                XCTAssertLessThan(e.output, 1e-4, "group \(G), width \(D)")
                XCTAssertLessThan(e.sums, 1e-4, "group \(G), width \(D)")
            }
        }
    }

    /// Windows of one position, shorter than a block, across blocks and longer than everything;
    /// a caller's scale; an empty prior cache and one longer than the window.
    func testSlidingWindow() {
        for window in [1, 16, 100, 200, 1000] {
            for prior in [0, 300] {
                let heads = (0..<2).map { AttentionFixture.head(count: prior, width: 64, storage: .f16, seed: UInt64($0)) }
                let shape = AttentionShape(headCount: 8, headCountKV: 2, headDimension: 64, scale: 0.07, window: window)
                let e = Self.errors(shape: shape, heads: heads, newTokens: 300, seed: UInt64(window))
                XCTAssertLessThan(e.output, 1e-4, "window \(window), prior \(prior)")
                XCTAssertLessThan(e.sums, 1e-4, "window \(window), prior \(prior)")
            }
        }
    }

    /// A prior cache compressed by `keep` (positions with gaps), then quantized (the window starts
    /// inside its quantized blocks, which are dequantized from there on), one head with narrowed
    /// keys, then a new chunk: the window counts positions, not entries.
    func testSlidingWindowOverKeptQuantizedPrior() throws {
        for storage in KVStorageType.allCases {
            let heads = (0..<2).map { g -> HeadKVCache in
                let head = AttentionFixture.head(count: 1500, width: 64, storage: storage, seed: UInt64(g + 5))
                var rng = SplitMix64(seed: UInt64(g))
                head.keep((0..<1500).filter { _ in rng.next() % 2 == 0 })
                return head
            }
            try heads[0].quantize(KVCacheQuantization.parse("kivi:bits=4"))
            try heads[1].quantize(KVCacheQuantization.parse("kvquant:bits=4"))
            heads[1].keepKeyChannels(Array(stride(from: 0, to: 64, by: 3)))
            XCTAssertGreaterThan(heads[0].quantizedCount, 500)
            for window in [400, 3000] {
                let copies = heads.map { $0.copy() }
                let shape = AttentionShape(headCount: 6, headCountKV: 2, headDimension: 64, scale: 0.1, window: window)
                let e = Self.errors(shape: shape, heads: copies, newTokens: 150, seed: 7)
                XCTAssertLessThan(e.output, 1e-4, "\(storage), window \(window)")
                XCTAssertLessThan(e.sums, 1e-4, "\(storage), window \(window)")
            }
        }
    }
}
