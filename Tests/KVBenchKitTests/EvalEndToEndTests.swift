import Foundation
import KVModel
import XCTest
@testable import KVBenchKit

/// A 2-sample RULER eval on the real model at 512 tokens, through the three result files.
final class EvalEndToEndTests: XCTestCase {
    static let modelPath: String = {
        if let env = ProcessInfo.processInfo.environment["KVD_MODEL"], !env.isEmpty { return env }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    }()

    func testTwoSampleRulerEvalWritesItsFiles() throws {
        guard FileManager.default.fileExists(atPath: Self.modelPath) else {
            XCTFail("model not found at \(Self.modelPath): run scripts/fetch-model (or set KVD_MODEL)")
            return
        }
        let model = try Model(path: Self.modelPath)
        var spec = try DatasetSpec("ruler")
        spec.contextLength = 512
        let dataset = try spec.load(model: model, samples: 2)
        XCTAssertEqual(dataset.name, "ruler_niah_single_1_512")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvbench-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let press = try PressChoice(spec: "snapkv", ratio: 0.5)
        let evaluation = Evaluation(model: model, dataset: dataset, press: press,
                                    options: EvalOptions(maxNewTokens: 8), outputRoot: root)
        var ticks: [Int] = []
        let outcome = try evaluation.run(force: false) { done, _ in ticks.append(done) }
        XCTAssertEqual(ticks, [1, 2])
        XCTAssertFalse(outcome.skipped)
        let dir = outcome.store.directory
        XCTAssertTrue(dir.path.hasSuffix("ruler_niah_single_1_512/SmolLM2-135M-Instruct.Q4_1/snapkv/0.50"), dir.path)

        let lines = try String(contentsOf: dir.appendingPathComponent("predictions.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        for line in lines {
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for key in ["id", "question", "prediction", "reference", "score"] { XCTAssertNotNil(o[key], key) }
            let kept = try XCTUnwrap(o["kept_tokens"] as? Int), context = try XCTUnwrap(o["context_tokens"] as? Int)
            XCTAssertEqual(kept, context / 2, accuracy: 1)
        }
        let metrics = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("metrics.json"))) as? [String: Any])
        XCTAssertEqual(metrics["n"] as? Int, 2)
        XCTAssertNotNil(metrics["accuracy"] as? Double)
        XCTAssertNotNil((metrics["tasks"] as? [String: Any])?["niah_single_1"])
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertEqual((config["model"] as? [String: Any])?["file"] as? String, "SmolLM2-135M-Instruct.Q4_1.gguf")
        XCTAssertTrue(((config["press"] as? [String: Any])?["spec"] as? String)?.hasPrefix("snapkv:compression_ratio=0.5") ?? false)
        XCTAssertNotNil((config["environment"] as? [String: Any])?["timestamp"])
        XCTAssertEqual((config["options"] as? [String: Any])?["max_new_tokens"] as? Int, 8)

        // One shared prefill for several presses gives exactly the separate run's predictions.
        let shared = try SharedPrefillSweep(model: model, choices: [try PressChoice(spec: "none", ratio: nil), press],
                                            options: EvalOptions(maxNewTokens: 8)).run(dataset)
        XCTAssertEqual(shared[1].0.map(\.prediction), outcome.predictions.map(\.prediction))
        XCTAssertEqual(shared[1].0.map(\.keptTokens), outcome.predictions.map(\.keptTokens))
        XCTAssertEqual(shared[0].0.map(\.keptTokens), shared[0].0.map(\.contextTokens), "none keeps everything")

        // Finished: a second run is skipped and returns the stored metrics.
        let again = try evaluation.run(force: false)
        XCTAssertTrue(again.skipped)
        XCTAssertEqual(again.metrics["n"] as? Int, 2)
    }
}
