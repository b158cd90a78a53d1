import Foundation
import XCTest
@testable import KVModel
import KVTestSupport

/// Decode at 8000 tokens, f16 against quantized caches: the attention kernels alone (30 layers ×
/// 3 heads) and the whole model. Prints numbers, asserts nothing about time. Builds only with
/// `KVD_BENCH=1` (run: `KVD_BENCH=1 swift test -c release --filter QuantizedAttentionSpeed`).
final class QuantizedAttentionSpeedTests: XCTestCase {

    func testDecodeAttentionAt8000Tokens() throws {
        let config = try ModelConfig(gguf: TestModel.gguf())
        let D = config.headDimension
        let data = SyntheticKV(count: 8000, seed: 1)
        let template = data.head()
        var rng = SplitMix64(seed: 2)
        let q = (0..<(config.headCount * D)).map { _ in Float(rng.nextDouble() * 2 - 1) }
        var out = [Float](repeating: 0, count: config.headCount * D)
        let workspace = Workspace()
        for spec in [nil, "kivi:bits=8", "kivi:bits=4", "kivi:bits=2", "kvquant:bits=4", "gear:bits=4"] {
            let layers = (0..<config.layerCount).map { _ in (0..<config.headCountKV).map { _ in template.copy() } }
            if let spec {
                let scheme = try KVCacheQuantization.parse(spec)
                for head in layers.joined() { head.quantize(scheme) }
            }
            var times: [Double] = []
            for _ in 0..<7 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                for heads in layers {
                    q.withUnsafeBufferPointer { qp in out.withUnsafeMutableBufferPointer {
                        DecodeAttention.run(query: qp.baseAddress!, shape: AttentionShape(config: config), cache: heads, output: $0.baseAddress!, workspace: workspace)
                    } }
                }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            print(String(format: "decode attention, 30 layers at 8000 tokens, %@: %.2f ms per token (median of 7)",
                         (spec ?? "f16") as NSString, times.sorted()[3]))
        }
    }

    /// Whole-model decode at 8000 tokens of context, f16 and kivi caches interleaved (5 rounds of 16
    /// tokens each), so a busy machine slows every configuration alike.
    func testModelDecodeAt8000Tokens() throws {
        let model = try TestModel.model()
        var rng = SplitMix64(seed: 42)
        let ids = (0..<8000).map { _ in 256 + Int(rng.next() % UInt64(model.config.vocabularySize - 256)) }
        let base = model.makeCache()
        let first = Sampler.argmax(try model.forward(ids, cache: base, logits: .last))
        var caches: [(String, KVCache)] = [("f16", base)]
        for bits in [8, 4, 2] {
            let cache = base.copy()
            try cache.quantize(try KVCacheQuantization.parse("kivi:bits=\(bits)"))
            caches.append(("kivi \(bits)-bit", cache))
        }
        var rates: [String: [Double]] = [:]
        for _ in 0..<5 {
            for (name, cache) in caches {
                let mark = cache.checkpoint()
                var token = first
                let t0 = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<16 { token = Sampler.argmax(try model.forward([token], cache: cache, logits: .last)) }
                rates[name, default: []].append(16 / (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
                cache.rollback(to: mark)
            }
        }
        for (name, _) in caches {
            let r = rates[name]!.sorted()
            print(String(format: "model decode at 8000 tokens, %@: median %.1f tok/s (runs %@)", name as NSString, r[2],
                         r.map { String(format: "%.1f", $0) }.joined(separator: " ") as NSString))
        }
    }
}
