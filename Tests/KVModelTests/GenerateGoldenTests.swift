import XCTest
import KVModel
import KVTestSupport

/// Greedy generation reproduces `golden/generate.json`: the first 16 tokens of every case, and the
/// whole sequence in at least 3 of the 4 cases.
final class GenerateGoldenTests: XCTestCase {
    func testGreedyGenerationMatchesReference() throws {
        let model = try TestModel.model()
        let golden = try TestModel.golden("generate.json") as! [String: Any]
        var exact = 0
        var cases = 0
        for case let c as [String: Any] in golden["cases"] as! [Any] {
            let ids = c["ids"] as! [Int]
            let expected = c["greedy_ids"] as! [Int]
            var it = TokenIterator(model: model, cache: model.makeCache(), prompt: ids,
                                   parameters: GenerateParameters(maxNewTokens: 48, stopTokens: [2]))
            let got = try it.collect()
            XCTAssertEqual(Array(got.prefix(16)), Array(expected.prefix(16)), "first 16 tokens for prompt of \(ids.count) tokens")
            if got == expected { exact += 1 }
            cases += 1
        }
        XCTAssertGreaterThanOrEqual(exact, min(3, cases), "whole sequences identical")
    }

    func testSamplingIsReproducibleForASeed() throws {
        let model = try TestModel.model()
        let prompt = [1, 4093, 198, 19556, 253, 5994, 47, 2, 198, 1, 520, 9531, 198]
        func run(_ seed: UInt64) throws -> [Int] {
            var it = TokenIterator(model: model, cache: model.makeCache(), prompt: prompt, parameters: GenerateParameters(
                maxNewTokens: 12, sampling: SamplingParameters(temperature: 0.9, topK: 40, topP: 0.95, seed: seed)))
            return try it.collect()
        }
        XCTAssertEqual(try run(7), try run(7))
        let others = try (8..<11).map { try run($0) }
        XCTAssertTrue(others.contains { $0 != (try? run(7)) }, "different seeds should not all give the same sample")
    }
}
