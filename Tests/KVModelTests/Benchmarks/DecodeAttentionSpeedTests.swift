import Foundation
import XCTest
@testable import KVModel

/// Decode attention per token (every layer of a model's shape) at long contexts, f16 against
/// 4-bit codes, one thread against two. The configurations of a test run interleaved (A B A B …)
/// so a busy machine slows each alike; prints medians, asserts nothing about time. Builds only with
/// `KVD_BENCH=1` (run: `KVD_BENCH=1 swift test -c release --filter DecodeAttentionSpeed`).
final class DecodeAttentionSpeedTests: XCTestCase {

    /// A model's attention shape and layer count.
    struct ModelShape {
        let name: String, layers: Int, headCount: Int, headCountKV: Int, headDimension: Int
        var shape: AttentionShape {
            AttentionShape(headCount: headCount, headCountKV: headCountKV, headDimension: headDimension,
                           scale: 1 / Float(headDimension).squareRoot())
        }
    }

    static let qwen = ModelShape(name: "Qwen2.5-0.5B (24 layers, 14/2 heads, D 64)", layers: 24, headCount: 14, headCountKV: 2, headDimension: 64)
    static let gemma = ModelShape(name: "Gemma 3 270M (18 layers, 4/1 heads, D 256)", layers: 18, headCount: 4, headCountKV: 1, headDimension: 256)
    static let smol = ModelShape(name: "default (30 layers, 9/3 heads, D 64)", layers: 30, headCount: 9, headCountKV: 3, headDimension: 64)

    func testModelShapes() throws {
        let pools = [1: ThreadPool(threadCount: 1), 2: ThreadPool(threadCount: 2)]
        for model in [Self.qwen, Self.gemma] {
            for entries in [8000, 16000] {
                let f16 = Self.cache(model, entries: entries, spec: nil)
                let kivi = Self.cache(model, entries: entries, spec: "kivi:bits=4")
                var runs: [(String, () -> Void)] = []
                for threads in [1, 2] {
                    for (name, layers) in [("f16", f16), ("kivi 4-bit", kivi)] {
                        runs.append(("\(name), \(threads) thread\(threads > 1 ? "s" : "")",
                                     Self.token(model, layers, pool: pools[threads]!)))
                    }
                }
                print("decode attention per token, \(model.name) at \(entries) entries:")
                Self.interleave(runs)
            }
        }
    }

    /// Every layer's attention for one token, as a closure (buffers allocated once).
    static func token(_ model: ModelShape, _ layers: [[HeadKVCache]], pool: ThreadPool, shape: AttentionShape? = nil) -> () -> Void {
        let shape = shape ?? model.shape
        let q = AttentionFixture.queries(model.headCount * model.headDimension, seed: 2)
        var out = [Float](repeating: 0, count: model.headCount * model.headDimension)
        let workspace = Workspace()
        return {
            q.withUnsafeBufferPointer { qp in out.withUnsafeMutableBufferPointer { o in
                for heads in layers {
                    DecodeAttention.run(query: qp.baseAddress!, shape: shape, cache: heads, output: o.baseAddress!,
                                        workspace: workspace, pool: pool)
                }
            } }
        }
    }

    /// `model.layers` layers of `headCountKV` heads holding `entries` synthetic entries each, distinct
    /// memory per head (as a real cache: nothing stays in cache between layers).
    static func cache(_ model: ModelShape, entries: Int, spec: String?) -> [[HeadKVCache]] {
        let template = SyntheticKV(count: entries, width: model.headDimension, seed: 1).head()
        let scheme = spec.map { try! KVCacheQuantization.parse($0) }
        return (0..<model.layers).map { _ in
            (0..<model.headCountKV).map { _ in
                let head = template.copy()
                if let scheme { head.quantize(scheme) }
                return head
            }
        }
    }

    /// Runs each closure once per round, in turn, for `rounds` rounds, and prints each one's median.
    static func interleave(_ runs: [(String, () -> Void)], rounds: Int = 9) {
        for (_, run) in runs { run() }  // warm up: workspaces, pages
        var times = [[Double]](repeating: [], count: runs.count)
        for _ in 0..<rounds {
            for (i, (_, run)) in runs.enumerated() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                run()
                times[i].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
        }
        for (i, (name, _)) in runs.enumerated() {
            let t = times[i].sorted()
            print(String(format: "  %@: median %.2f ms (min %.2f, max %.2f, %d runs)", name as NSString, t[t.count / 2],
                         t[0], t[t.count - 1], t.count))
        }
    }
}
