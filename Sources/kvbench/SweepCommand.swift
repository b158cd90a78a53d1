import ArgumentParser
import Foundation
import KVBenchKit
import KVSpec
import KVSystem

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a grid of presses × compression ratios (× decoding presses × cache budgets) and plot score versus ratio or budget.",
        discussion: """
            Every configuration is an `eval` run (finished ones are reused unless --force). By \
            default each context is prefilled ONCE for the whole grid and every press compresses its \
            own copy of that prefill (a press never changes the prefill's residual stream, so the \
            results are those of separate runs); --separate-prefill runs each configuration on its \
            own. `none` runs once and is drawn as a dashed baseline. Writes DIR/<dataset>/<model>/sweep.csv \
            and sweep.svg (and sweep.png when rsvg-convert or ImageMagick is installed); quantized, \
            decoding-compressed and --query-aware grids name theirs after their directories \
            (sweep+query_aware.csv, …).

            --decoding takes a list of decoding presses, each a configuration of its own; with \
            --cache-budgets, each runs at every budget (its cache_budget; the spec must set no budget \
            or compression_ratio_decoding of its own) and the chart is score versus budget, as the \
            kvpress reasoning fork sweeps budgets 128, 256, 384, 512. Every prefill press is combined \
            with every decoding configuration; such grids write sweep+decoding.csv and .svg.

            Examples:
              kvbench sweep --dataset ruler --context-length 2048 --samples 50 \\
                --presses none,knorm,snapkv,streaming_llm --ratios 0.5,0.75 --output-dir results
              kvbench sweep --dataset gsm8k:gsm8k.jsonl --max-new-tokens 512 --presses none \\
                --decoding none,h2o:compression_interval=16,snapkv:compression_interval=16 \\
                --cache-budgets 128,256,384,512 --output-dir results
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var eval: EvalArguments

    @Option(help: ArgumentHelp("Presses, comma-separated at the top level (parentheses may hold commas), e.g. none,knorm,adakv(expected_attention),snapkv:window_size=32,kernel_size=3.", valueName: "list"))
    var presses: String

    @Option(help: ArgumentHelp("Compression ratios, comma-separated, each in [0, 1).", valueName: "list"))
    var ratios: String = "0.25,0.5,0.75"

    @Option(help: ArgumentHelp("Cache budgets (KV pairs kept per head), comma-separated: every --decoding press runs at each as its cache_budget.", valueName: "list"))
    var cacheBudgets: String?

    @Flag(help: "Prefill each context once per configuration (as `eval` does) instead of once for the whole grid.")
    var separatePrefill = false

    var ratioValues: [Double] { ratios.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) } }

    /// The specs of `--presses`, read by the spec grammar (a `,` before `key=` continues a press's parameters).
    func pressList() throws -> [String] {
        try SpecNode.parseList(presses).map(\.description)
    }

    func validate() throws {
        let r = ratios.split(separator: ",")
        guard !r.isEmpty, r.count == ratioValues.count, ratioValues.allSatisfy({ $0 >= 0 && $0 < 1 }) else {
            throw ValidationError("--ratios must be comma-separated numbers in [0, 1)")
        }
        guard !presses.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--presses needs at least one press") }
        do { _ = try grid(decodings()) } catch { throw ValidationError("\(error)") }
    }

    /// Every configuration: each prefill press at each ratio, with each decoding press at each budget.
    func grid(_ decodings: [DecodingChoice]) throws -> [Sweep.Configuration] {
        Sweep.grid(presses: try Sweep.grid(presses: pressList(), ratios: ratioValues), decodings: decodings)
    }

    /// The decoding configurations of --decoding and --cache-budgets.
    func decodings() throws -> [DecodingChoice] {
        try DecodingChoice.grid(decoding: eval.decoding, cacheBudgets: cacheBudgets)
    }

    func run() throws {
        let model = try modelOptions.load()
        let dataset = try eval.loadDataset(model: model)
        let decodings = try decodings()
        let grid = try grid(decodings)
        // Grids with other settings keep their own report next to this one; one decoding press names
        // the report after itself, as it names the directories.
        let reportName = "sweep" + (decodings.count > 1 ? "+decoding" + eval.options.directorySuffix
                                                         : grid[0].options(eval.options).directorySuffix)
        let modelName = ResultStore.modelName(path: model.path)
        var rows: [Sweep.Row?] = grid.map { _ in nil }
        let start = ContinuousClock.now
        func evaluation(_ c: Sweep.Configuration) -> Evaluation {
            var e = Evaluation(model: model, dataset: dataset, press: c.press, options: c.options(eval.options), outputRoot: eval.outputDir)
            var arguments = eval.arguments
            (arguments.press, arguments.ratio, arguments.decoding) = (c.press.base, c.press.ratio, c.decoding.base)
            (arguments.cacheBudget, arguments.sharedPrefill) = (.some(c.decoding.cacheBudget), !separatePrefill)
            e.arguments = arguments
            return e
        }
        func record(_ i: Int, _ outcome: Evaluation.Outcome) {
            let c = grid[i]
            let row = Sweep.Row(dataset: dataset.name, model: modelName, press: c.press.base,
                                ratio: c.press.isNone || c.press.takesRatio ? c.press.ratio : nil, decoding: c.decoding,
                                metrics: outcome.metrics, reused: outcome.skipped)
            rows[i] = row
            FileHandle.standardError.write(Data("\(c.label): accuracy \(row.accuracy) (n \(row.n), \(String(format: "%.0f", row.wallSeconds)) s\(outcome.skipped ? ", reused" : ""))\n".utf8))
        }
        // Finished configurations are reused unless --force.
        var pending: [Int] = []
        for (i, c) in grid.enumerated() {
            let e = evaluation(c)
            if !eval.force, e.store.isFinished, let m = e.store.readMetrics() {
                record(i, Evaluation.Outcome(metrics: m, skipped: true, predictions: [], store: e.store))
            } else {
                pending.append(i)
            }
        }
        if separatePrefill {
            for i in pending {
                let bar = ProgressBar(label: "[\(i + 1)/\(grid.count)] \(grid[i].label)", enabled: !eval.quiet)
                record(i, try evaluation(grid[i]).run(force: true, progress: bar.update))
            }
        } else if !pending.isEmpty {
            let selected = eval.options.select(dataset)
            let bar = ProgressBar(label: "\(pending.count) configurations, one prefill per context", enabled: !eval.quiet)
            // A running tally after each context, so an interrupted sweep still tells something.
            let partialURL = URL(fileURLWithPath: eval.outputDir).appendingPathComponent(dataset.name)
                .appendingPathComponent(modelName).appendingPathComponent(reportName + "-partial.csv")
            try FileManager.default.createDirectory(at: partialURL.deletingLastPathComponent(), withIntermediateDirectories: true)
            let results = try SharedPrefillSweep(model: model, configurations: pending.map { grid[$0] }, options: eval.options)
                .run(selected, progress: bar.update) { soFar in
                    var text = "configuration,accuracy,n,elapsed_seconds\n"
                    let elapsed = start.secondsElapsed
                    for (k, i) in pending.enumerated() {
                        let m = EvalMetrics(soFar[k])
                        text += "\"\(grid[i].label.replacingOccurrences(of: "\"", with: "\"\""))\",\(m.accuracy),\(m.n),\(Int(elapsed))\n"
                    }
                    try? Data(text.utf8).write(to: partialURL)
                }
            for (k, i) in pending.enumerated() {
                record(i, try evaluation(grid[i]).write(predictions: results[k].0, timing: results[k].1, selected: selected))
            }
        }
        let done = rows.compactMap { $0 }
        let dir = URL(fileURLWithPath: eval.outputDir).appendingPathComponent(dataset.name).appendingPathComponent(modelName)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(Sweep.csv(done).utf8).write(to: dir.appendingPathComponent(reportName + ".csv"))
        let svg = dir.appendingPathComponent(reportName + ".svg")
        try Data(Sweep.chart(done, title: "\(dataset.name) — \(modelName)").render().utf8).write(to: svg)
        let png = PNGConverter.convert(svg: svg.path, png: dir.appendingPathComponent(reportName + ".png").path)
        let total = start.secondsElapsed
        print(Sweep.csv(done), terminator: "")
        print("sweep wall time \(String(format: "%.0f", total)) s; wrote \(dir.path)/\(reportName).csv, \(reportName).svg\(png != nil ? ", \(reportName).png" : "")")
    }
}
