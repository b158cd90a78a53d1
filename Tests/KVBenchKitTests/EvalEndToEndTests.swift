import Foundation
import KVModel
import KVPress
import KVTestSupport
import XCTest
@testable import KVBenchKit

/// A 2-sample RULER eval on the real model at 512 tokens, through the three result files.
final class EvalEndToEndTests: XCTestCase {
    /// The real model and `samples` RULER niah_single_1 samples at 512 tokens.
    static func modelAndRulerSamples(_ samples: Int = 2) throws -> (Model, EvalDataset) {
        let model = try TestModel.model()  // fails, never skips, when the model is missing
        var spec = try DatasetSpec("ruler")
        spec.contextLength = 512
        return (model, try spec.load(model: model, samples: samples))
    }

    func testTwoSampleRulerEvalWritesItsFiles() throws {
        let (model, dataset) = try Self.modelAndRulerSamples()
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
        let shared = try SharedPrefillSweep(model: model, configurations: [Sweep.Configuration(press: try PressChoice(spec: "none", ratio: nil)),
                                                                           Sweep.Configuration(press: press)],
                                            options: EvalOptions(maxNewTokens: 8)).run(dataset)
        XCTAssertEqual(shared[1].0.map(\.prediction), outcome.predictions.map(\.prediction))
        XCTAssertEqual(shared[1].0.map(\.metrics.keptTokens), outcome.predictions.map(\.metrics.keptTokens))
        XCTAssertEqual(shared[0].0.map(\.metrics.keptTokens), shared[0].0.map(\.metrics.contextTokens), "none keeps everything")

        // Finished: a second run is skipped and returns the stored metrics.
        let again = try evaluation.run(force: false)
        XCTAssertTrue(again.skipped)
        XCTAssertEqual(again.metrics, outcome.metrics, "the stored metrics.json reads back as written")
    }

    /// A 4-bit cache with a decoding budget: its own result directory, the counters in
    /// predictions.jsonl and metrics.json, and a shared-prefill sweep that equals it.
    func testQuantizedEvalWithDecodingBudget() throws {
        let (model, dataset) = try Self.modelAndRulerSamples()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvbench-q-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = EvalOptions(maxNewTokens: 12)
        options.quantization = try KVCacheQuantization.parse("kivi:bits=4")
        options.decoding = try DecodingSpec.parse("h2o:cache_budget=64,compression_interval=4")
        let press = try PressChoice(spec: "knorm", ratio: 0.5)
        let outcome = try Evaluation(model: model, dataset: dataset, press: press, options: options, outputRoot: root).run(force: true)
        let dir = outcome.store.directory.path
        XCTAssertTrue(dir.contains("/knorm+kivi_bits-4_group_size-32_residual-128+dec-h2o_window_size-64_gqa_score_agg-mean_cache_budget-64_compression_interval-4_query_buffer-256/"), dir)
        XCTAssertTrue(dir.hasSuffix("/0.50"), dir)
        for p in outcome.predictions {
            XCTAssertNil(p.error)
            XCTAssertGreaterThan(p.metrics.decodingCompressions, 0, "about 230 kept entries per head against a budget of 64")
            XCTAssertGreaterThan(p.metrics.kvBytes, 0)
        }
        let metrics = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: outcome.store.metricsURL)) as? [String: Any])
        let timing = try XCTUnwrap(metrics["timing"] as? [String: Any])
        XCTAssertEqual(timing["decoding_compressions"] as? Int, outcome.predictions.reduce(0) { $0 + $1.metrics.decodingCompressions })
        let fp16Bytes = try XCTUnwrap(timing["mean_kv_bytes_uncompressed"] as? Int)
        XCTAssertLessThan(try XCTUnwrap(timing["mean_kv_bytes"] as? Int), fp16Bytes / 2, "knorm@0.5 in 4 bits")
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: outcome.store.configURL)) as? [String: Any])
        XCTAssertEqual((config["options"] as? [String: Any])?["kv_quant"] as? String, "kivi:bits=4,group_size=32,residual=128")

        let decoding = try DecodingChoice(spec: "h2o:compression_interval=4", cacheBudget: 64)
        XCTAssertEqual(decoding.press?.description, options.decoding?.description)
        let shared = try SharedPrefillSweep(model: model, configurations: [Sweep.Configuration(press: press, decoding: decoding)],
                                            options: options).run(dataset)
        XCTAssertEqual(shared[0].0.map(\.prediction), outcome.predictions.map(\.prediction))
        XCTAssertEqual(shared[0].0.map(\.metrics.decodingCompressions), outcome.predictions.map(\.metrics.decodingCompressions))
    }
}
