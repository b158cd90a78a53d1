import Foundation
import XCTest
@testable import KVModel

/// Prefill attention of 8000 new tokens in one layer of the Gemma 3 270M shape (4 query heads, 1 KV
/// head, width 256), full causal against a sliding window of 512, interleaved; prints medians,
/// asserts nothing about time. Builds only with `KVD_BENCH=1`
/// (run: `KVD_BENCH=1 swift test -c release --filter PrefillAttentionSpeed`).
final class PrefillAttentionSpeedTests: XCTestCase {
    override func setUpWithError() throws {
        BLAS.setThreadCount(1)  // as `Model` does: the pool runs the heads, each sgemm on one thread
    }

    func testSlidingWindowAt8000Tokens() {
        let T = 8000, D = 256, H = 4
        let head = AttentionFixture.head(count: T, width: D, storage: .f16, seed: 1)
        let q = AttentionFixture.queries(H * T * D, seed: 2)
        var out = [Float](repeating: 0, count: T * H * D)
        let workspace = Workspace()
        var runs: [(String, () -> Void)] = []
        for window in [nil, 512] as [Int?] {
            let shape = AttentionShape(headCount: H, headCountKV: 1, headDimension: D, scale: 1 / 16, window: window)
            runs.append((window.map { "window \($0)" } ?? "full causal", {
                q.withUnsafeBufferPointer { qp in out.withUnsafeMutableBufferPointer { o in
                    PrefillAttention.run(queries: qp.baseAddress!, tokenCount: T, shape: shape, cache: [head],
                                         output: o.baseAddress!, workspace: workspace)
                } }
            }))
        }
        print("prefill attention, \(T) tokens, one layer of 4/1 heads at width 256:")
        DecodeAttentionSpeedTests.interleave(runs, rounds: 3)
    }
}
