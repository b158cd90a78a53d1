import KVModel
import KVTestSupport
import KVPress
import XCTest

/// Presses and quantization combine: a press compresses the context, `KVCache.quantize` then stores
/// what it kept in 8/4 bits, with exact byte accounting (kept entries at bits/16 + 1/16 of f16,
/// the residual window in f16) and narrowed keys handled.
final class PressQuantizationTests: XCTestCase {
    private func compressed(_ spec: String, _ model: Model, _ context: [Int]) throws -> KVCache {
        let cache = model.makeCache()
        let hook = PressHook(try PressSpec.parse(spec), model: model)
        _ = try model.forward(context, cache: cache, hook: hook, logits: .none)
        try hook.finish(cache, contextIDs: nil)
        return cache
    }

    func testPressThenQuantize() throws {
        let model = try TestModel.model()
        let tokenizer = try Tokenizer(gguf: model.gguf)
        let none = try TestModel.golden("presses/none.json") as! [String: Any]
        let context = none["context_ids"] as! [Int], question = none["question_ids"] as! [Int]
        let snapkv = "snapkv:ratio=0.5", think = "composed(think:key_channel_compression_ratio=0.25,snapkv:ratio=0.5)"
        let caches = [snapkv: try compressed(snapkv, model, context), think: try compressed(think, model, context)]
        for (press, bits) in [(snapkv, 8), (snapkv, 4), (think, 8)] {
            let cache = caches[press]!.copy()
            let entries = cache.entryCount
            try cache.quantize(try KVCacheQuantization.parse("kivi:bits=\(bits)"))
            XCTAssertEqual(cache.entryCount, entries)
            var expected = 0
            for head in cache.layers.joined() {
                let q = head.quantizedCount, kd = head.keyDimension
                XCTAssertEqual(q % 32, 0)
                expected += q * (kd + 64) * bits / 8 + (q / 32) * kd * 4 + q * 2 * 4 + (head.count - q) * (kd + 64) * 2
            }
            XCTAssertEqual(cache.byteCount, expected, "\(press) + \(bits) bits")
            let answer = try TestModel.answer(model, tokenizer, cache, question)
            print(String(format: "%@ + kivi %d-bit: bytes %.3f of uncompressed f16, answer %@", press, bits,
                         Double(cache.byteCount) / Double(cache.uncompressedByteCount(tokens: context.count)),
                         answer.debugDescription as NSString))
            if bits == 8 && press.hasPrefix("snapkv") { XCTAssertTrue(answer.contains("4819233"), answer) }
            if press.hasPrefix("composed") { XCTAssertEqual(cache.layers[5][0].keyDimension, 48) }
        }
    }
}
