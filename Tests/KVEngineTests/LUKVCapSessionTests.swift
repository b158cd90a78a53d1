import Foundation
import XCTest
import KVEngine
import KVWire
import KVModel
import KVPress

/// `lukv` (uniform budgets around snapkv) and `cap` load the golden document on SmolLM2 through
/// `Session`, keep the entries their budgets say, and still find the needle at half the context.
/// kvpress has no golden kept sets for them here (it needs torch and, for lukv, a curve for the
/// model), so the kept counts and the answer are what this checks on the real model. (kvpress's
/// default inner press, `expected_attention:epsilon=0.02`, loses this needle at 0.5 with or without
/// lukv, so snapkv, which keeps it, is the inner press here.)
final class LUKVCapSessionTests: XCTestCase {
    func testSmolLM2AnswersAfterLUKVAndCap() throws {
        let model = try SessionTests.requireModel()
        let document = try SessionTests.goldenDocument(model).document
        let c = model.config
        for spec in ["lukv(snapkv):ratio=0.5", "cap:ratio=0.5"] {
            let session = try Session.load(id: SessionID("needle"), model: model, document: document, press: try PressSpec.parse(spec))
            let T = session.loadMetrics.contextTokens
            let counts = session.cache.layers.map { $0.map(\.count) }
            XCTAssertEqual(counts.count, c.layerCount)
            if spec.hasPrefix("lukv") {
                // Uniform budgets: each layer keeps round(G·T/2) entries, its heads within one of each other.
                for layer in counts {
                    XCTAssertEqual(layer.reduce(0, +), Int((Double(c.headCountKV * T) / 2).rounded(.toNearestOrEven)), spec)
                    XCTAssertLessThanOrEqual(layer.max()! - layer.min()!, 1, spec)
                }
                XCTAssertTrue(session.cache.layers.allSatisfy { $0.allSatisfy { h in [0, 1, 2, 3, T - 1].allSatisfy(h.positions.contains) } },
                              "sinks and window stay")
            } else {
                XCTAssertEqual(Set(counts.joined()), [Int(Double(T) * 0.5)], spec)
            }
            let report = try session.ask(question: SessionTests.question, answerPrefix: SessionTests.answerPrefix,
                                         parameters: GenerateParameters(maxNewTokens: 12))
            XCTAssertTrue(report.answer.contains("4819233"), "\(spec): \(report.answer.debugDescription)")
            print(String(format: "%@: %d tokens, prefill %.0f ms, compression %.0f ms, answer %@", spec as NSString, T,
                         session.loadMetrics.prefillMs, session.loadMetrics.compressMs, report.answer.debugDescription as NSString))
        }
    }
}
