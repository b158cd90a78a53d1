import Foundation
import KVMetrics
import KVPress
import KVTestSupport
import XCTest
@testable import KVBenchKit

/// `kvbench sweep --decoding P1,P2 --cache-budgets B1,B2`: every decoding press at every budget
/// (with every prefill press), one result directory and one CSV row each, as the kvpress
/// reasoning fork sweeps `cache_budget` 128…512 per press.
final class DecodingSweepTests: XCTestCase {
    func testEveryDecodingPressRunsAtEveryBudgetAndNoneOnce() throws {
        let grid = try DecodingChoice.grid(decoding: "none,h2o:compression_interval=4,snapkv:window_size=8,kernel_size=3",
                                           cacheBudgets: "128, 256")
        XCTAssertEqual(grid.map(\.label), ["none", "h2o:compression_interval=4@128", "h2o:compression_interval=4@256",
                                           "snapkv:window_size=8,kernel_size=3@128", "snapkv:window_size=8,kernel_size=3@256"])
        XCTAssertEqual(grid.map { $0.press?.cacheBudget }, [nil, 128, 256, 128, 256])
        XCTAssertEqual(grid.map { $0.press?.compressionInterval }, [nil, 4, 4, 512, 512], "the spec's own parameters stay")
        XCTAssertEqual(grid[3].press?.description, try DecodingSpec.parse("snapkv:window_size=8,kernel_size=3,cache_budget=128").description)

        // With prefill presses: every prefill press with every decoding configuration.
        let configurations = Sweep.grid(presses: try Sweep.grid(presses: ["none", "knorm"], ratios: [0.5]), decodings: grid)
        XCTAssertEqual(configurations.count, 10)
        XCTAssertEqual(configurations[6].label, "knorm@0.50 + h2o:compression_interval=4@128")
        XCTAssertEqual(configurations[6].options(EvalOptions()).directorySuffix,
                       "+dec-h2o_window_size-64_gqa_score_agg-mean_cache_budget-128_compression_interval-4_query_buffer-256")

        // Without budgets, each spec runs as written; eval's single spec is the same path.
        let asWritten = try DecodingChoice.grid(decoding: "h2o:cache_budget=64", cacheBudgets: nil)
        XCTAssertEqual(asWritten.map(\.label), ["h2o:cache_budget=64"])
        XCTAssertEqual(asWritten[0].press?.cacheBudget, 64)
        XCTAssertEqual(try DecodingChoice.grid(decoding: nil, cacheBudgets: nil).map(\.isNone), [true])
    }

    /// `kvbench eval --press prefill_decoding(PREFILL,DECODING)`: one spec names both phases,
    /// exactly as --press and --decoding would.
    func testPrefillDecodingGivesBothPhasesOfOneConfiguration() throws {
        let both = try Sweep.Configuration(press: "prefill_decoding(snapkv:ratio=0.5,h2o:cache_budget=64)", ratio: nil, decoding: nil)
        let apart = try Sweep.Configuration(press: "snapkv:ratio=0.5", ratio: nil, decoding: "h2o:cache_budget=64")
        XCTAssertEqual(try PressSpec.parse(both.press.spec).description, try PressSpec.parse(apart.press.spec).description)
        XCTAssertEqual(both.press.ratio, 0.5)
        XCTAssertEqual(both.decoding.press?.description, apart.decoding.press?.description)
        XCTAssertEqual(both.options(EvalOptions()).directorySuffix, apart.options(EvalOptions()).directorySuffix)
        let decodingOnly = try Sweep.Configuration(press: "prefill_decoding(none,rkv:cache_budget=32)", ratio: nil, decoding: nil)
        XCTAssertTrue(decodingOnly.press.isNone)
        XCTAssertEqual(decodingOnly.decoding.press?.cacheBudget, 32)
        XCTAssertThrowsError(try Sweep.Configuration(press: "prefill_decoding(snapkv,h2o)", ratio: nil, decoding: "knorm")) {
            XCTAssertEqual($0 as? SweepError, .decodingGivenTwice)
        }
        XCTAssertThrowsError(try Sweep.Configuration(press: "snapkv", ratio: 0.5, decoding: "h2o,knorm")) {
            XCTAssertEqual($0 as? SweepError, .oneDecodingSpec(2))
        }
    }

    func testBadDecodingFlagsAreRefusedWithTheirReason() throws {
        func refusal(_ decoding: String?, _ budgets: String?) -> String {
            do {
                let grid = try DecodingChoice.grid(decoding: decoding, cacheBudgets: budgets)
                return "accepted: \(grid.map(\.label))"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(refusal("h2o,snapkv:cache_budget=256", "128"),
                       "decoding press 'snapkv:cache_budget=256' sets cache_budget, but --cache-budgets sets each configuration's "
                           + "cache_budget; remove cache_budget from the spec, or drop --cache-budgets")
        XCTAssertEqual(refusal("rkv:target_size=64", "128"), "\(SweepError.budgetInSpec(spec: "rkv:target_size=64", parameter: "target_size"))")
        XCTAssertEqual(refusal("h2o:compression_ratio_decoding=0.5", "128"),
                       "\(SweepError.budgetInSpec(spec: "h2o:compression_ratio_decoding=0.5", parameter: "compression_ratio_decoding"))")
        XCTAssertEqual(refusal("knorm:target_compression_ratio=0.5", "128"),
                       "\(SweepError.budgetInSpec(spec: "knorm:target_compression_ratio=0.5", parameter: "target_compression_ratio"))")
        // Both a budget and a ratio in one spec is refused by the catalog, budgets or not.
        XCTAssertEqual(refusal("h2o:cache_budget=64,compression_ratio_decoding=0.5", nil),
                       "invalid value '0.5' for h2o.compression_ratio_decoding; expected either cache_budget or compression_ratio_decoding, not both")
        for budgets in ["128,abc", "0", "", "128,,256", "-5", "1.5"] {
            XCTAssertEqual(refusal("h2o", budgets), "\(SweepError.budgetList(budgets))", budgets)
        }
        XCTAssertTrue(refusal("h2o", "0").contains("must be comma-separated integers of at least 1"))
        XCTAssertEqual(refusal(nil, "128"), "--cache-budgets needs at least one decoding press in --decoding, e.g. --decoding h2o,snapkv")
        XCTAssertEqual(refusal("none", "128"), "\(SweepError.budgetsWithoutDecoding)")
        XCTAssertTrue(refusal("nosuch", "128").hasPrefix("unknown press 'nosuch'; valid presses: "), refusal("nosuch", "128"))
        XCTAssertTrue(refusal("h2o:window_size=-1", "128").hasPrefix("invalid value '-1' for h2o.window_size"), refusal("h2o:window_size=-1", "128"))
        XCTAssertThrowsError(try DecodingChoice(spec: "h2o", cacheBudget: 0)) { XCTAssertEqual($0 as? SweepError, .invalidBudget(0)) }
    }

    /// Two GSM8K problems on SmolLM2: a budget the answers never reach answers exactly as no
    /// decoding press does, a small one compresses; the CSV has one row per configuration.
    func testBudgetGridRunsAndWritesOneRowPerConfiguration() throws {
        let model = try TestModel.model()
        let path = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/gsm8k.jsonl", withExtension: nil)).path
        let dataset = try DatasetSpec("gsm8k:" + path).load(model: model, samples: 2)
        let decodings = try DecodingChoice.grid(decoding: "none,h2o:compression_interval=2,streaming_llm:compression_interval=2",
                                                cacheBudgets: "40,100000")
        let configurations = Sweep.grid(presses: try Sweep.grid(presses: ["none", "knorm"], ratios: [0.5]), decodings: decodings)
        let options = EvalOptions(maxNewTokens: 24)
        let results = try SharedPrefillSweep(model: model, configurations: configurations, options: options).run(dataset)
        XCTAssertEqual(results.count, 10)
        let predictions = results.map(\.0)
        for (c, p) in zip(configurations, predictions) {
            XCTAssertEqual(p.count, 2, c.label)
            for a in p { XCTAssertNil(a.error, c.label) }
        }
        for prefill in [0, 5] {
            let plain = predictions[prefill]
            XCTAssertGreaterThan(plain[0].metrics.finalCacheTokens, 60, "the budget of 40 must bite")
            for (i, budget) in zip(prefill + 1...prefill + 4, [40, 100000, 40, 100000]) {
                let label = configurations[i].label
                if budget == 100000 {
                    XCTAssertEqual(predictions[i].map(\.prediction), plain.map(\.prediction), label)
                    XCTAssertEqual(predictions[i].map(\.metrics.finalCacheTokens), plain.map(\.metrics.finalCacheTokens), label)
                    XCTAssertEqual(predictions[i].map(\.metrics.decodingCompressions), [0, 0], label)
                } else {
                    for a in predictions[i] {
                        XCTAssertGreaterThan(a.metrics.decodingCompressions, 0, label)
                        XCTAssertLessThanOrEqual(a.metrics.finalCacheTokens, budget + 2, "cut to the budget every 2 steps: \(label)")
                    }
                }
            }
        }
        // A configuration of the shared sweep answers as its own eval run does.
        let alone = try EvalRunner(model: model, press: configurations[6].press, options: configurations[6].options(options)).run(dataset)
        XCTAssertEqual(alone.0.map(\.prediction), predictions[6].map(\.prediction))
        XCTAssertEqual(alone.0.map(\.metrics.finalCacheTokens), predictions[6].map(\.metrics.finalCacheTokens))

        // Result directories and the report, as `kvbench sweep` writes them.
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvbench-decoding-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let selected = options.select(dataset)
        var rows: [Sweep.Row] = []
        var directories: Set<String> = []
        for (c, (p, timing)) in zip(configurations, results) {
            let outcome = try Evaluation(model: model, dataset: dataset, press: c.press, options: c.options(options), outputRoot: root)
                .write(predictions: p, timing: timing, selected: selected)
            directories.insert(outcome.store.directory.path)
            rows.append(Sweep.Row(dataset: dataset.name, model: "m", press: c.press.base, ratio: c.press.ratio, decoding: c.decoding,
                                  metrics: outcome.metrics, reused: false))
        }
        XCTAssertEqual(directories.count, 10, "one directory per configuration")
        XCTAssertTrue(directories.contains { $0.hasSuffix("/knorm+dec-h2o_window_size-64_gqa_score_agg-mean_cache_budget-40_compression_interval-2_query_buffer-256/0.50") },
                      "\(directories.sorted())")
        let csv = Sweep.csv(rows).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(csv.count, 11)
        let header = csv[0]
        func column(_ name: String) throws -> [String] {
            let i = try XCTUnwrap(header.firstIndex(of: name), name)
            return csv.dropFirst().map { $0[i] }
        }
        XCTAssertEqual(try column("press"), ["none"] * 5 + ["knorm"] * 5)
        XCTAssertEqual(try column("decoding"), ["none", "h2o:compression_interval=2", "h2o:compression_interval=2",
                                                "streaming_llm:compression_interval=2", "streaming_llm:compression_interval=2"] * 2)
        XCTAssertEqual(try column("cache_budget"), ["", "40", "100000", "40", "100000"] * 2)
        XCTAssertEqual(try column("n"), ["2"] * 10)
        let meanTokens = predictions.map { Double($0.map(\.metrics.generatedTokens).reduce(0, +)) / 2 }
        XCTAssertEqual(try column("generated_tokens").map { Double($0)! }, meanTokens)
        let finalTokens = predictions.map { Double($0.map(\.metrics.finalCacheTokens).reduce(0, +)) / 2 }
        XCTAssertEqual(try column("final_cache_tokens").map { Double($0)! }, finalTokens)
        XCTAssertEqual(try column("decoding_compressions").map { Double($0)! > 0 }, [false, true, false, true, false] * 2)
        XCTAssertTrue(try column("decode_tok_s").allSatisfy { Double($0)! > 0 })
        for name in Sweep.Row.answerMetrics { XCTAssertTrue(Metrics.names.contains(name), "\(name) is a Metrics field") }

        // Score versus budget: a line per prefill + decoding press, answering without one dashed.
        let chart = Sweep.chart(rows, title: "t")
        XCTAssertEqual(chart.xLabel, "cache budget (KV pairs per head)")
        XCTAssertEqual(chart.series.map(\.name), ["none", "h2o", "streaming_llm", "knorm@0.5", "knorm@0.5 + h2o", "knorm@0.5 + streaming_llm"])
        XCTAssertEqual(chart.series.map(\.isBaseline), [true, false, false, true, false, false])
        XCTAssertEqual(chart.series[1].points.map(\.x), [40, 100000])
        XCTAssertEqual(chart.render().components(separatedBy: "<polyline").count - 1, 4)
        // Two specs of one press keep their parameters apart.
        var twoH2O = rows[1]
        twoH2O.decoding = "h2o:window_size=8"
        XCTAssertEqual(Sweep.chart(Array(rows[0..<3]) + [twoH2O], title: "t").series.map(\.name),
                       ["none", "h2o:compression_interval=2", "h2o:window_size=8"])
    }
}

private func * <T>(list: [T], times: Int) -> [T] { Array([[T]](repeating: list, count: times).joined()) }
