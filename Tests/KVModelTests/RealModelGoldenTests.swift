import XCTest
import KVModel
import KVTestSupport

/// Greedy generations of the real models match llama.cpp's (`Fixtures/golden/models/`): from the
/// reference's prompt ids, the same tokens, except that where the reference's two best candidates
/// were within 0.05 in log-probability a flip is a near-tie and the comparison stops there.
final class RealModelGoldenTests: XCTestCase {
    func testQwen25GreedyGenerationsMatchLlamaCpp() throws {
        try checkGenerations(TestModel.qwen25Coder)
    }

    func testGemma3GreedyGenerationsMatchLlamaCpp() throws {
        try checkGenerations(TestModel.gemma3)
    }

    private func checkGenerations(_ which: TestModel.File) throws {
        let model = try TestModel.model(which)
        let golden = try TestModel.golden(which.llamaCppGolden) as! [String: Any]
        var nearTies = 0
        for case let c as [String: Any] in golden["generate"] as! [Any] {
            let prompt = c["prompt_ids"] as! [Int]
            let expected = c["greedy_ids"] as! [Int]
            let top5 = c["top5_logprobs"] as! [[[Double]]]
            var it = TokenIterator(model: model, cache: model.makeCache(), prompt: prompt,
                                   parameters: GenerateParameters(maxNewTokens: expected.count, stopTokens: model.stopTokens))
            let got = try it.collect()
            guard let i = (0..<min(got.count, expected.count)).first(where: { got[$0] != expected[$0] }) else {
                XCTAssertEqual(got, expected, "\(which.fetchName): \(c["prompt"]!)")
                continue
            }
            let gap = top5[i][0][1] - top5[i][1][1]
            XCTAssertLessThan(gap, 0.05, "\(which.fetchName): '\(c["prompt"]!)' differs at step \(i) (got \(got[i]), "
                + "llama.cpp \(expected[i]), its top-2 gap \(gap)): \(got) vs \(expected)")
            nearTies += 1
        }
        XCTAssertLessThanOrEqual(nearTies, 1, "\(which.fetchName): more than one near-tie flip")
    }
}

extension RealModelGoldenTests {
    /// Along llama.cpp's own greedy path (teacher forcing), kvd's log-probabilities of llama.cpp's
    /// five best candidates at every step, against llama.cpp's.
    func logprobDifferences(_ which: TestModel.File) throws -> [Double] {
        let model = try TestModel.model(which)
        let golden = try TestModel.golden(which.llamaCppGolden) as! [String: Any]
        var diffs: [Double] = []
        for case let c as [String: Any] in golden["generate"] as! [Any] {
            let prompt = c["prompt_ids"] as! [Int]
            let expected = c["greedy_ids"] as! [Int]
            let top5 = c["top5_logprobs"] as! [[[Double]]]
            let V = model.config.vocabularySize
            let logits = try model.forward(prompt + expected.dropLast(), cache: model.makeCache(), logits: .all)
            for i in 0..<expected.count {
                let row = Array(logits[(prompt.count - 1 + i) * V..<(prompt.count + i) * V])
                let m = row.max()!
                let lse = Double(m) + log(row.reduce(0.0) { $0 + exp(Double($1 - m)) })
                for pair in top5[i] { diffs.append(abs(Double(row[Int(pair[0])]) - lse - pair[1])) }
            }
        }
        return diffs
    }

    func testQwen25LogprobsAlongLlamaCppPath() throws {
        let d = try logprobDifferences(TestModel.qwen25Coder).sorted()
        print("qwen2.5 logprob |diff|: median \(d[d.count / 2]), p90 \(d[d.count * 9 / 10]), max \(d.last!)")
    }
}
