import KVPress
import KVTestSupport
import XCTest
@testable import KVBenchKit

/// `kvbench sweep` shares one prefill among all its presses; for every press in the registry it
/// must keep and answer exactly what a separate `kvbench eval` run of that press does, including
/// presses that decide after the prefill (`kvzip`) or read the prefill's attention (`h2o`).
final class SweepMatchesEvalTests: XCTestCase {
    func testSweepKeepsAndAnswersAsSeparateRunsForEveryPress() throws {
        XCTAssertEqual(Set(PressCatalog.names).subtracting(PressExamples.halfRatio.keys), [],
                       "add a row to PressExamples.halfRatio")
        let (model, dataset) = try EvalEndToEndTests.modelAndRulerSamples(1)
        let options = EvalOptions(maxNewTokens: 4)
        let choices = try PressCatalog.names.map { try PressChoice(spec: PressExamples.halfRatio[$0]!, ratio: nil) }
        let swept = try SharedPrefillSweep(model: model, configurations: choices.map { Sweep.Configuration(press: $0) }, options: options).run(dataset)
        XCTAssertEqual(swept.count, choices.count)
        for (choice, (sweepPredictions, _)) in zip(choices, swept) {
            let (separate, _) = try EvalRunner(model: model, press: choice, options: options).run(dataset)
            for p in separate + sweepPredictions { XCTAssertNil(p.error, "\(choice.spec): \(p.error ?? "")") }
            XCTAssertEqual(sweepPredictions.map(\.metrics.keptTokens), separate.map(\.metrics.keptTokens), choice.spec)
            XCTAssertEqual(sweepPredictions.map(\.prediction), separate.map(\.prediction), choice.spec)
        }
        // The defect this guards against: kvzip in a sweep kept the whole context.
        let kvzip = try XCTUnwrap(choices.firstIndex { $0.base == "kvzip" })
        for p in swept[kvzip].0 { XCTAssertEqual(p.metrics.keptTokens, p.metrics.contextTokens / 2, accuracy: 1) }
    }
}
