import Foundation
import KVBenchKit
import KVModel
import KVTestSupport
import XCTest

/// `Perplexity` follows llama-perplexity's protocol: non-overlapping windows, BOS replacing each
/// window's first token where the vocabulary adds one, the second half scored; checked against a
/// naive computation (one forward per window, every row's logits) on a tiny Gemma 3 model.
/// (Measured on real models against llama-perplexity itself: see docs/models.md.)
final class PerplexityTests: XCTestCase {
    func testWindowsBOSAndScoredHalvesMatchANaiveComputation() throws {
        let model = try TestModel.tinyModel("tiny-gemma3-scaled")
        let tokenizer = model.tokenizer
        XCTAssertTrue(tokenizer.addsBOS)
        let text = String(repeating: "The keeper wound the clockwork every two hours through the night. ", count: 12)
        let context = 64
        let result = try Perplexity.measure(model: model, text: text, context: context)

        let tokens = [tokenizer.bosID!] + tokenizer.encode(text)
        let windows = tokens.count / context
        XCTAssertEqual(result.textTokens, tokens.count)
        XCTAssertEqual(result.windows, windows)
        XCTAssertEqual(result.scoredTokens, windows * (context - context / 2 - 1))

        let V = model.config.vocabularySize
        var nll = 0.0
        for w in 0..<windows {
            var window = Array(tokens[(w * context)..<((w + 1) * context)])
            window[0] = tokenizer.bosID!
            let logits = try model.forward(window, cache: model.makeCache(), logits: .all)
            for j in (context / 2)..<(context - 1) {
                let row = logits[(j * V)..<((j + 1) * V)].map(Double.init)
                let m = row.max()!
                nll -= row[window[j + 1]] - m - log(row.reduce(0) { $0 + exp($1 - m) })
            }
        }
        XCTAssertEqual(result.value, exp(nll / Double(result.scoredTokens)), accuracy: 1e-3 * result.value)
        XCTAssertThrowsError(try Perplexity.measure(model: model, text: "too short", context: context)) {
            XCTAssertTrue("\($0)".contains("needs at least 128"), "\($0)")
        }
    }
}
