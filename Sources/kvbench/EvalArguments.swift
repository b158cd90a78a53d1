import ArgumentParser
import KVBenchKit
import KVModel
import KVPress

/// Options shared by `eval` and `sweep`: the dataset, how much of it, generation and output.
struct EvalArguments: ParsableArguments {
    @Option(help: ArgumentHelp("Dataset: ruler, needle, jsonl:FILE, longbench:FILE, longbench-v2:FILE, loogle:FILE, zeroscrolls:FILE, infinitebench:FILE, gsm8k:FILE, math-500:FILE, aime24:FILE, aime25:FILE, folio:FILE, drop:FILE, strategyqa:FILE, reclor:FILE, commonsenseqa:FILE, openbookqa:FILE, logiqa:FILE.", valueName: "name"))
    var dataset: String

    @Option(help: ArgumentHelp("RULER task.", discussion: RulerTask.allCases.map(\.rawValue).joined(separator: ", "), valueName: "task"))
    var task: String = RulerTask.niahSingle1.rawValue

    @Option(help: "RULER length in tokens (input + answer budget), as RULER's max_seq_length.")
    var contextLength: Int = 4096

    @Option(help: ArgumentHelp("A text file to use as haystack (ruler, needle) instead of RULER's repeated noise sentences.", valueName: "file"))
    var haystack: String?

    @Option(help: ArgumentHelp("Needle sweep context lengths in tokens, comma-separated.", valueName: "list"))
    var needleLengths: String = "1000,2000,4000"

    @Option(help: ArgumentHelp("Needle sweep depths in percent, comma-separated.", valueName: "list"))
    var needleDepths: String = "0,25,50,75,100"

    @Option(help: "Answer at most this many questions (RULER: generate this many examples; default 100).")
    var samples: Int?

    @Option(help: "Keep this seeded random share of the contexts, in (0, 1].")
    var fraction: Double?

    @Option(help: "Truncate each context to its first N tokens.")
    var maxContextLength: Int?

    @Option(help: "Token budget per answer (default: each question's own, e.g. RULER's per task; else 128).")
    var maxNewTokens: Int?

    @Option(help: "Seed for dataset generation and sampling.")
    var seed: UInt64 = 42

    @Option(help: ArgumentHelp("KV cache element type.", valueName: "f16|f32"))
    var kvStorage: String = "f16"

    @OptionGroup var quantizationOptions: QuantizationOptions

    @Option(help: ArgumentHelp("Compress while answering: a decoding press spec, e.g. h2o:cache_budget=256,compression_interval=32 (\(DecodingCatalog.names.joined(separator: ", "))); sweep takes a comma-separated list, e.g. none,h2o,snapkv:window_size=32.", valueName: "spec"))
    var decoding: String?

    @Flag(name: .customLong("query-aware"), help: ArgumentHelp(
        "kvpress's query-aware mode: compress each question together with its document (context + question), then "
            + "answer an empty question; one load per question. Results go to <press>+query_aware/."))
    var queryAware = false

    @Option(help: ArgumentHelp("Results root; each configuration goes to DIR/<dataset>/<model>/<press>/<ratio>/.", valueName: "dir"))
    var outputDir: String

    @Flag(help: "Run configurations again even when their metrics.json exists.")
    var force = false

    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        if samples != nil && fraction != nil { throw ValidationError("give either --samples or --fraction, not both") }
        if let samples, samples < 1 { throw ValidationError("--samples must be at least 1") }
        if let fraction, !(fraction > 0 && fraction <= 1) { throw ValidationError("--fraction must be in (0, 1]") }
        if let maxNewTokens, maxNewTokens < 1 { throw ValidationError("--max-new-tokens must be at least 1") }
        if let maxContextLength, maxContextLength < 1 { throw ValidationError("--max-context-length must be at least 1") }
        guard RulerTask(rawValue: task) != nil else {
            throw ValidationError("unknown --task '\(task)'; valid: \(RulerTask.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard KVStorageType(rawValue: kvStorage) != nil else { throw ValidationError("--kv-storage must be f16 or f32") }
        do { _ = try datasetSpec() } catch { throw ValidationError("\(error)") }
        guard contextLength >= 128 else { throw ValidationError("--context-length must be at least 128") }
    }

    func datasetSpec() throws -> DatasetSpec {
        var spec = try DatasetSpec(dataset)
        spec.rulerTask = RulerTask(rawValue: task) ?? .niahSingle1
        spec.contextLength = contextLength
        spec.haystackPath = haystack
        spec.seed = seed
        spec.needleLengths = try ints(needleLengths, "--needle-lengths")
        spec.needleDepths = try ints(needleDepths, "--needle-depths")
        return spec
    }

    private func ints(_ s: String, _ flag: String) throws -> [Int] {
        let v = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ $0 != nil && $0! >= 0 }) else {
            throw ValidationError("\(flag) must be comma-separated non-negative integers")
        }
        return v.map { $0! }
    }

    /// The settings every configuration shares; each command sets the decoding press (`eval` the
    /// one of --decoding, `sweep` each configuration's).
    var options: EvalOptions {
        var o = EvalOptions(samples: samples, fraction: fraction, maxContextLength: maxContextLength, maxNewTokens: maxNewTokens,
                            seed: seed, storage: KVStorageType(rawValue: kvStorage) ?? .f16)
        o.quantization = try? quantizationOptions.quantization()
        o.queryAware = queryAware
        return o
    }

    /// Loads the dataset; RULER generates `--samples` examples (100 by default).
    func loadDataset(model: Model) throws -> EvalDataset {
        do {
            return try datasetSpec().load(model: model, samples: samples)
        } catch let error as DatasetError {
            throw CommandFailure(error.description)
        }
    }

    /// The arguments as config.json records them.
    var arguments: ConfigFile.Arguments {
        var a = ConfigFile.Arguments(dataset: dataset, outputDir: outputDir, force: force)
        if dataset == "ruler" { (a.task, a.contextLength) = (task, contextLength) }
        if dataset.hasPrefix("needle") { (a.needleLengths, a.needleDepths) = (needleLengths, needleDepths) }
        a.haystack = haystack
        return a
    }
}
