import KVModel
import KVTestSupport
import KVPress
import XCTest

/// The real hook path: a context prefill with `PressHook`, then questions on top with rollback.
final class PressHookTests: XCTestCase {
    func testHookCompressesTheContextOnlyAndRollbackIsExact() throws {
        let model = try TestModel.model()
        let golden = try TestModel.golden("presses/streaming_llm.json") as! [String: Any]
        let context = golden["context_ids"] as! [Int], question = golden["question_ids"] as! [Int]
        let cache = model.makeCache()
        let hook = PressHook(try PressSpec.parse("streaming_llm:ratio=0.5"), model: model)
        _ = try model.forward(context, cache: cache, hook: hook, logits: .none)
        try hook.finish(cache, contextIDs: nil)
        XCTAssertEqual(hook.layersCompressed, 30)
        XCTAssertEqual(cache.nextPosition, context.count, "later tokens continue after the ORIGINAL context length")
        let kept = golden["kept"] as! [[[Int]]]
        for l in 0..<30 { for h in 0..<3 { XCTAssertEqual(cache.layers[l][h].positions, kept[l][h]) } }

        // Questions pass through the same hook untouched; rolling back restores the compressed context.
        let checkpoint = cache.checkpoint()
        var answers: [[Int]] = []
        for _ in 0..<2 {
            var logits = try model.forward(question, cache: cache, hook: hook, logits: .last)
            var tokens: [Int] = []
            for _ in 0..<12 {
                let next = logits.indices.max { logits[$0] < logits[$1] }!
                tokens.append(next)
                logits = try model.forward([next], cache: cache, hook: hook, logits: .last)
            }
            XCTAssertEqual(hook.layersCompressed, 30, "the question is never seen by the press")
            answers.append(tokens)
            cache.rollback(to: checkpoint)
            XCTAssertEqual(cache.checkpoint(), checkpoint)
        }
        XCTAssertEqual(answers[0], answers[1])
        let text = try Tokenizer(gguf: model.gguf).decode(answers[0], skipSpecialTokens: true)
        XCTAssertTrue(text.contains("4819233"), text)
    }
}
