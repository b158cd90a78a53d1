import KVWire
import XCTest
@testable import KVBenchKit

/// Sweep CSV and chart, heatmap and progress line.
final class ReportTests: XCTestCase {
    func row(_ press: String, _ ratio: Double, _ acc: Double) -> Sweep.Row {
        Sweep.Row(dataset: "d", model: "m", press: press, ratio: ratio, metrics: metrics(accuracy: acc, n: 10, wallSeconds: 12.5), reused: false)
    }

    /// A metrics.json with these figures, the rest zero.
    func metrics(accuracy: Double, n: Int, wallSeconds: Double = 0, perContext: [String: Double] = [:]) -> MetricsFile {
        let timing = MetricsFile.RunTiming(wallSeconds: wallSeconds, prefillSeconds: 0, compressSeconds: 0, ttftSecondsTotal: 0, decodeTokS: 0,
                                           meanContextTokens: 0, meanKeptTokens: 0, meanKVBytes: 0, meanKVBytesUncompressed: 0, contexts: 0,
                                           decodingCompressions: 0, decodingCompressSeconds: 0, meanKVBytesAfterAnswer: 0, peakRssBytes: 0,
                                           meanPerContext: perContext, meanPerAnswer: [:])
        return MetricsFile(accuracy: accuracy, n: n, unscored: 0, errors: 0, metric: "contains", tasks: [:], timing: timing,
                           wallSeconds: wallSeconds, press: "none", compressionRatio: 0)
    }

    func testSweepGridRunsNoneOnce() throws {
        let grid = try Sweep.grid(presses: ["none", "knorm", "adakv(expected_attention)"], ratios: [0.5, 0.75])
        XCTAssertEqual(grid.map(\.base), ["none", "knorm", "knorm", "adakv(expected_attention)", "adakv(expected_attention)"])
        XCTAssertEqual(grid.map(\.ratio), [0, 0.5, 0.75, 0.5, 0.75])
    }

    /// Query-aware: one context per question, the question compressed with it; results apart.
    func testQueryAwareSplitsEveryQuestionIntoItsOwnContext() {
        let q = { (id: String) in EvalQuestion(id: id, question: "Q\(id)?", answerPrefix: "", references: ["a"], maxNewTokens: nil,
                                               task: "t", scorer: .contains) }
        let dataset = EvalDataset(name: "d", contexts: [EvalContext(id: "c", context: "doc", questions: [q("1"), q("2")])])
        var options = EvalOptions()
        XCTAssertEqual(options.select(dataset).contexts.count, 1)
        options.queryAware = true
        let split = options.select(dataset).contexts
        XCTAssertEqual(split.map(\.id), ["c/1", "c/2"])
        XCTAssertEqual(split.map(\.compressedQuestion), ["Q1?", "Q2?"])
        XCTAssertEqual(split.map { $0.questions.map(\.id) }, [["1"], ["2"]])
        XCTAssertEqual(options.directorySuffix, "+query_aware")
        XCTAssertEqual(options.record.queryAware, true)
    }

    /// A press that chooses its own ratio runs once, and its row shows the ratio that came out.
    func testSweepRunsATargetPressOnceAndShowsItsAchievedRatio() throws {
        let grid = try Sweep.grid(presses: ["fidelity:target=0.9", "knorm"], ratios: [0.5, 0.75])
        XCTAssertEqual(grid.map(\.spec), ["fidelity:target=0.9", "knorm:ratio=0.5", "knorm:ratio=0.75"])
        let row = Sweep.Row(dataset: "d", model: "m", press: "fidelity:target=0.9", ratio: nil,
                            metrics: metrics(accuracy: 0.9, n: 3, perContext: ["fidelity": 0.93, "achieved_ratio": 0.62]), reused: false)
        XCTAssertEqual(row.ratio, 0.62)
        XCTAssertEqual(Sweep.csv([row]).split(separator: "\n")[1], "d,m,fidelity:target=0.9,0.62,none,,0.9,3,0,false,0,0,0.93,0.62,0,0,0,0,0")
    }

    func testCSVAndChart() {
        let rows = [row("none", 0, 1), row("knorm", 0.5, 0.8), row("knorm", 0.75, 0.4), row("adakv(a,b)", 0.5, 0.1)]
        let csv = Sweep.csv(rows).split(separator: "\n")
        XCTAssertEqual(csv[0], "dataset,model,press,compression_ratio,decoding,cache_budget,accuracy,n,wall_seconds,reused,"
                       + "mean_context_tokens,mean_kept_tokens,fidelity,achieved_ratio,"
                       + "generated_tokens,final_cache_tokens,decoding_compressions,decoding_compress_ms,decode_tok_s")
        XCTAssertEqual(csv[2], "d,m,knorm,0.5,none,,0.8,10,12.5,false,0,0,0,0,0,0,0,0,0")
        XCTAssertEqual(csv[4].split(separator: ",", omittingEmptySubsequences: false).count, 20, "a press with a comma is quoted")
        XCTAssertEqual(CSVText.records(Sweep.csv(rows))[4][2], "adakv(a,b)", "and reads back whole")
        let svg = Sweep.chart(rows, title: "t <1>").render()
        XCTAssertTrue(svg.hasPrefix("<svg"))
        XCTAssertTrue(svg.contains("t &lt;1&gt;"))
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2, "one line per press, none is a baseline")
        XCTAssertTrue(svg.contains("stroke-dasharray"))
    }

    func testHeatmapAndProgress() {
        let svg = SVGHeatmap(title: "h", columns: [1000, 2000], rows: [0, 50]) { d, l in d == 0 ? 1 : (l == 1000 ? 0 : nil) }.render()
        XCTAssertEqual(svg.components(separatedBy: "<rect x=").count - 1, 4)
        XCTAssertTrue(svg.contains("#eeeeee"))
        XCTAssertEqual(ProgressBar.line(label: "x", done: 1, total: 4, elapsed: 30, width: 8),
                       "x [##......] 1/4  0:30 elapsed  ETA 1:30")
        XCTAssertEqual(ProgressBar.clock(3725), "1:02:05")
    }
}
