import Foundation
import KVMetrics
import XCTest
@testable import KVBenchKit

/// metrics.json is written from `MetricsFile` with the keys it always had, and reads back into it
/// (a finished configuration is reused from the file).
final class MetricsFileTests: XCTestCase {
    func testWrittenMetricsKeepTheirKeysAndDecodeBack() throws {
        func p(_ task: String, _ score: Double) -> Prediction {
            Prediction(id: task, contextID: "c", task: task, question: "q", prediction: "", reference: ["x"], score: score, metric: "string_match_all")
        }
        var timing = EvalRunner.Timing()
        (timing.wallSeconds, timing.contexts, timing.answers, timing.peakRssBytes) = (12.345678, 2, 3, 1 << 20)
        timing.loads.contextTokens = 2000
        timing.loads.keptTokens = 1000
        timing.loads.prefillMs = 1500
        timing.asks.generatedTokens = 9
        timing.asks.decodeMs = 600
        let file = MetricsFile([p("a", 1), p("a", 0.5), p("b", 0)], timing: timing, press: try PressChoice(spec: "knorm", ratio: 0.5))

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-file-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("metrics.json")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try ResultStore.json(file).write(to: url)

        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["accuracy", "n", "unscored", "errors", "metric", "tasks", "timing", "wall_seconds", "press",
                                          "compression_ratio"])
        XCTAssertEqual(object["press"] as? String, "knorm:ratio=0.5")
        XCTAssertEqual(object["accuracy"] as? Double, 0.5)
        let tasks = try XCTUnwrap(object["tasks"] as? [String: [String: Any]])
        XCTAssertEqual(tasks["a"].map { Set($0.keys) }, ["score", "n", "string_match_all"])
        XCTAssertEqual((tasks["a"]?["string_match_all"] as? NSNumber)?.doubleValue, 75)
        let written = try XCTUnwrap(object["timing"] as? [String: Any])
        XCTAssertEqual(Set(written.keys), ["wall_seconds", "prefill_seconds", "compress_seconds", "ttft_seconds_total", "decode_tok_s",
                                           "mean_context_tokens", "mean_kept_tokens", "mean_kv_bytes", "mean_kv_bytes_uncompressed",
                                           "contexts", "decoding_compressions", "decoding_compress_seconds",
                                           "mean_kv_bytes_after_answer", "peak_rss_bytes", "mean_per_context", "mean_per_answer"])
        XCTAssertEqual(written["mean_kept_tokens"] as? Int, 500)
        XCTAssertEqual((written["decode_tok_s"] as? NSNumber)?.doubleValue, 10, "6 tokens after the 3 first ones in 0.6 s")
        XCTAssertEqual(((written["mean_per_context"] as? [String: Any])?["prefill_ms"] as? NSNumber)?.doubleValue, 750)

        let decoded = try JSONDecoder().decode(MetricsFile.self, from: Data(contentsOf: url))
        XCTAssertEqual(decoded, file)
        XCTAssertEqual(ResultStore(root: directory.path, dataset: "d", model: "m", press: try PressChoice(spec: "none", ratio: nil))
            .readMetrics(), nil, "no file, no metrics")
    }
}
