import XCTest
import KVModel
import KVTestSupport

/// The forward pass reproduces the reference logits (`golden/forward.json`) within the golden tolerances.
final class ForwardGoldenTests: XCTestCase {
    func testForwardMatchesReference() throws {
        let model = try TestModel.model()
        let golden = try TestModel.golden("forward.json") as! [String: Any]
        for case let c as [String: Any] in golden["cases"] as! [Any] {
            let ids = c["ids"] as! [Int]
            let argmax = c["argmax"] as! [Int]
            let top20 = c["last_top20"] as! [[Double]]
            let cache = model.makeCache()
            let logits = try model.forward(ids, cache: cache, logits: .all)
            let V = model.config.vocabularySize
            var agree = 0
            for t in ids.indices {
                let row = Array(logits[(t * V)..<((t + 1) * V)])
                if Sampler.argmax(row) == argmax[t] { agree += 1 }
            }
            XCTAssertGreaterThanOrEqual(Double(agree) / Double(ids.count), 0.95, "argmax agreement for \(ids.count) tokens")
            let last = (ids.count - 1) * V
            var worst = 0.0
            for pair in top20 {
                let id = Int(pair[0])
                worst = max(worst, abs(Double(logits[last + id]) - pair[1]))
            }
            XCTAssertLessThan(worst, 0.25, "top-20 logits at the last position (case of \(ids.count) tokens)")
            print("forward case \(ids.count) tokens: argmax \(agree)/\(ids.count), max top-20 logit error \(worst)")
        }
    }

    func testChunkedDecodeMatchesBatchPrefill() throws {
        // Token-by-token decoding must give the same last logits as one batched prefill.
        let model = try TestModel.model()
        let ids = [1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198]
        let batch = try model.forward(ids, cache: model.makeCache(), logits: .last)
        let cache = model.makeCache()
        var stepped: [Float] = []
        for id in ids { stepped = try model.forward([id], cache: cache, logits: .last) }
        var worst: Float = 0
        for i in batch.indices { worst = max(worst, abs(batch[i] - stepped[i])) }
        XCTAssertLessThan(worst, 0.05)
        XCTAssertEqual(Sampler.argmax(batch), Sampler.argmax(stepped))
    }
}
