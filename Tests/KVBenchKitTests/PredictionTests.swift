import Foundation
import XCTest
@testable import KVBenchKit
import KVMetrics

/// A line of predictions.jsonl carries every metric of its answer under the metric's name.
final class PredictionTests: XCTestCase {
    func testALineHoldsEveryMetricByName() throws {
        let metrics = Metrics(values: Dictionary(uniqueKeysWithValues: Metrics().fields.enumerated().map { i, f in
            (f.name, Double(i + 1) * (f.isCount ? 1 : 0.5))
        }))
        let p = Prediction(id: "q1", contextID: "c1", task: "niah", question: "q", prediction: "a", reference: ["a"],
                           score: 1, metric: "contains", metrics: metrics)
        let line = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(p)) as? [String: Any])
        XCTAssertEqual(line["context_id"] as? String, "c1")
        XCTAssertEqual(line["score"] as? Double, 1)
        let values = Dictionary(uniqueKeysWithValues: Metrics.names.compactMap { name in
            (line[name] as? NSNumber).map { (name, $0.doubleValue) }
        })
        XCTAssertEqual(values.count, Metrics.names.count, "every metric is a key of the line")
        XCTAssertEqual(Metrics(values: values), metrics)
    }
}
