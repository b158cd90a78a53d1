import ArgumentParser
import Foundation
import KVBenchKit
import KVPress

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score one press at one compression ratio on a dataset, kvpress-style.",
        discussion: """
            Each context is prefilled and compressed once; all of its questions are answered \
            greedily against the compressed cache. Writes predictions.jsonl, metrics.json and \
            config.json to DIR/<dataset>/<model>/<press>/<ratio>/; a finished configuration is \
            skipped unless --force. With --dataset needle, also heatmap.svg (and .png when \
            rsvg-convert or ImageMagick is installed).

            Examples:
              kvbench eval --dataset ruler --context-length 2048 --samples 50 --press snapkv --ratio 0.5 --output-dir results
              kvbench eval --dataset jsonl:questions.jsonl --press knorm:ratio=0.25 --output-dir results
              kvbench eval --dataset needle --needle-lengths 1000,2000 --press none --output-dir results
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var eval: EvalArguments

    @Option(help: ArgumentHelp("Press spec (kvpress names, e.g. snapkv, adakv(expected_attention):ratio=0.5), or none; "
                               + "prefill_decoding(PREFILL,DECODING) gives both phases at once.", valueName: "spec"))
    var press: String = "none"

    @Option(help: "Compression ratio in [0, 1); overrides the spec's ratio.")
    var ratio: Double?

    func validate() throws {
        if let ratio, !(ratio >= 0 && ratio < 1) { throw ValidationError("--ratio must be in [0, 1)") }
        do { _ = try configuration() } catch { throw ValidationError("\(error)") }
    }

    /// The prefill and decoding presses: --press and --decoding, or `--press prefill_decoding(…)`.
    func configuration() throws -> Sweep.Configuration {
        try Sweep.Configuration(press: press, ratio: ratio, decoding: eval.decoding)
    }

    func run() throws {
        let model = try modelOptions.load()
        let dataset = try eval.loadDataset(model: model)
        let configuration = try configuration()
        let choice = configuration.press
        let options = configuration.options(eval.options)
        var evaluation = Evaluation(model: model, dataset: dataset, press: choice, options: options, outputRoot: eval.outputDir)
        var arguments = eval.arguments
        (arguments.press, arguments.ratio) = (press, ratio)
        evaluation.arguments = arguments
        let bar = ProgressBar(label: "\(dataset.name) \(choice.base)@\(fmt2(choice.ratio))", enabled: !eval.quiet)
        let outcome = try evaluation.run(force: eval.force, progress: bar.update)
        if eval.dataset.hasPrefix("needle"), !outcome.skipped {
            try NeedleReport.write(outcome: outcome, dataset: dataset, title: "needle — \(choice.isNone ? "none" : choice.spec)")
        }
        let m = outcome.metrics
        print("\(outcome.skipped ? "skipped (finished; --force to rerun)" : "done"): accuracy \(m.accuracy), n \(m.n), wall \(m.wallSeconds) s → \(outcome.store.directory.path)")
    }
}

func fmt2(_ v: Double) -> String { String(format: "%.2f", v) }
