import KVModel

/// What `--dataset` names, with the generator settings that go with it.
///
/// `ruler`, `needle`, `jsonl:FILE`, `<benchmark>:FILE` for longbench, longbench-v2, loogle,
/// zeroscrolls, infinitebench, and `<set>:FILE` for the reasoning sets (gsm8k, math-500, aime24,
/// aime25, folio, drop, strategyqa, reclor, commonsenseqa, openbookqa, logiqa).
public struct DatasetSpec: Sendable {
    public enum Kind: Sendable, Equatable {
        case ruler
        case needle
        case jsonl(path: String)
        case longContext(LongContextBenchmark, path: String)
        case reasoning(ReasoningSet, path: String)
    }

    public var kind: Kind
    /// RULER task.
    public var rulerTask: RulerTask = .niahSingle1
    /// RULER length in tokens.
    public var contextLength = 4096
    /// A text file for the haystack (RULER, needle); noise sentences when nil.
    public var haystackPath: String?
    /// Examples to generate (RULER).
    public var generatedSamples = 100
    /// Needle sweep axes.
    public var needleLengths = [1000, 2000, 4000]
    public var needleDepths = [0, 25, 50, 75, 100]
    /// Seed of generators.
    public var seed: UInt64 = 42

    /// Every accepted form, for help and errors.
    public static var forms: [String] {
        ["ruler", "needle", "jsonl:FILE"] + LongContextBenchmark.allCases.map { "\($0.rawValue):FILE" }
            + ReasoningSet.allCases.map { "\($0.rawValue):FILE" }
    }

    /// Parses `--dataset`.
    /// - Throws: `DatasetError.unknownDataset`.
    public init(_ text: String) throws {
        if text == "ruler" { kind = .ruler; return }
        if text == "needle" || text == "needle_in_haystack" { kind = .needle; return }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else { throw DatasetError.unknownDataset(text, valid: Self.forms) }
        let name = parts[0].lowercased(), path = parts[1]
        if name == "jsonl" { kind = .jsonl(path: path); return }
        if let b = LongContextBenchmark(rawValue: name) ?? LongContextBenchmark(rawValue: name.replacingOccurrences(of: "_", with: "-"))
            ?? (name == "zero_scrolls" ? .zeroscrolls : name == "infinite_bench" ? .infinitebench : name == "longbenchv2" ? .longbenchV2 : nil) {
            kind = .longContext(b, path: path); return
        }
        if let r = ReasoningSet(rawValue: name) ?? (name == "math500" ? .math500 : nil) { kind = .reasoning(r, path: path); return }
        throw DatasetError.unknownDataset(text, valid: Self.forms)
    }

    /// Reads or generates the dataset (`samples` bounds how many RULER examples are generated).
    public func load(model: Model, samples: Int?) throws -> EvalDataset {
        let haystack = try haystackPath.map(Haystack.file) ?? .noise
        switch kind {
        case .ruler:
            let gen = RulerGenerator(task: rulerTask, contextLength: contextLength, haystack: haystack, seed: seed,
                                     countTokens: { model.tokenizer.encode($0).count })
            return try gen.dataset(samples: samples ?? generatedSamples)
        case .needle:
            return try NeedleDataset(lengths: needleLengths, depths: needleDepths, haystack: haystack).dataset(tokenizer: model.tokenizer)
        case .jsonl(let path):
            let stem = path.split(separator: "/").last.map { String($0.split(separator: ".").first ?? $0) } ?? "data"
            return try KVPressLayout.load(path: path, name: "jsonl_" + stem)
        case .longContext(let b, let path):
            return try b.load(path: path)
        case .reasoning(let r, let path):
            return try r.load(path: path)
        }
    }
}
