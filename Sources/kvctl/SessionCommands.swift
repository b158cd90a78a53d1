import ArgumentParser
import Foundation
import KVSpec
import KVWire

struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prefill a document once and keep its compressed cache as a session.",
        discussion: """
        Reads FILE (or standard input for '-'), sends it to kvd, which prefills it, compresses its \
        KV cache with the press, and keeps it under SESSION (1-64 characters of A-Z a-z 0-9 . _ -).

        Presses (kvpress's names): \(PressCatalog.names.joined(separator: ", ")).

        Examples:
          kvctl load manual manual.txt
          kvctl load manual manual.txt --press snapkv --ratio 0.5 --replace
          cat notes.txt | kvctl load notes - --press "adakv(expected_attention):ratio=0.25"
          kvctl load manual manual.txt --press snapkv --ratio 0.5 --kv-bits 4
          kvctl load manual manual.txt --kv-quant gear:bits=4,rank=2,outlier_ratio=0.01

        Quantized caches (--kv-quant METHOD:key=value,…; kvctl presses lists them): \(QuantizationCatalog.usage); \
        --kv-bits N is kivi:bits=N.
        """
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Session id: 1-64 characters of A-Z a-z 0-9 . _ -")
    var session: String

    @Argument(help: ArgumentHelp("Document to load; '-' reads standard input.", valueName: "FILE|-"))
    var file: String

    @Option(help: ArgumentHelp("Press spec: NAME, NAME:key=value,… or WRAPPER(INNER):key=value (see kvctl presses). Default: no compression.", valueName: "spec"))
    var press: String?

    // `.unconditional`: a value such as -0.5 is read as the value (and refused by its range), not as a flag.
    @Option(parsing: .unconditional, help: ArgumentHelp("Compression ratio: the fraction of context KV pairs removed, 0 ≤ R < 1 (sets the press's compression_ratio).", valueName: "R"))
    var ratio: Double?

    @Option(name: .customLong("target-fidelity"), parsing: .unconditional, help: ArgumentHelp(
        "Compress by target instead of ratio: keep the fewest entries holding this share of the attention the model "
            + "pays while repeating the document, 0 < F ≤ 1 (the fidelity press; the load reports the ratio that came out).",
        valueName: "F"))
    var targetFidelity: Double?

    @Option(help: ArgumentHelp(
        "Compress the document together with this question (kvpress's query-aware mode); then `kvctl ask --session "
            + "SESSION` with no question answers it.", valueName: "text"))
    var question: String?

    @Flag(help: "Replace an existing session of the same id.")
    var replace = false

    @Flag(help: "With a shared store (kvd --store): answer once the session is published, so that every replica can answer it.")
    var shared = false

    @Option(name: .customLong("kv-storage"), help: "KV cache element type: f16 or f32.")
    var kvStorage: String?

    @Option(name: .customLong("kv-bits"), help: ArgumentHelp("Store the kept keys and values in N bits (kivi with its defaults).", valueName: "8|4|2"))
    var kvBits: Int?

    @Option(name: .customLong("kv-quant"), help: ArgumentHelp("Quantized cache spec, e.g. kivi:bits=4,group_size=32,residual=128 or gear:bits=4,rank=2.", valueName: "spec"))
    var kvQuant: String?

    @Option(help: "Model name or path among those kvd serves (default: kvd's default).")
    var model: String?

    /// The quantization spec sent, with every parameter: `--kv-quant`, or `kivi:bits=N` for
    /// `--kv-bits N`, checked against the catalog (kvd checks that group_size fits the model);
    /// empty for full precision.
    func quantizationSpec() throws -> String {
        do {
            return try QuantizationCatalog.arguments(kvQuant: kvQuant, kvBits: kvBits).map(QuantizationCatalog.spec) ?? ""
        } catch {
            throw ValidationError("\(error) (kvctl presses lists the quantization methods)")
        }
    }

    func validate() throws {
        if let targetFidelity, !(targetFidelity > 0 && targetFidelity <= 1) {
            throw ValidationError("--target-fidelity must be in (0, 1], got \(targetFidelity)")
        }
        if let ratio, !(ratio >= 0 && ratio < 1) { throw ValidationError("--ratio must be in [0, 1), got \(ratio)") }
        if targetFidelity != nil {
            if ratio != nil { throw ValidationError("give --ratio or --target-fidelity, not both: a target chooses the ratio") }
            if let press, (try? PressCatalog.parse(press).name) != "fidelity" {
                throw ValidationError("--target-fidelity chooses the budget with the fidelity press; drop --press \(press)")
            }
        } else if ratio != nil && PressSpec.isNone(press ?? "") {
            throw ValidationError("--ratio needs --press (which press should remove that fraction?); e.g. --press knorm --ratio \(ratio ?? 0.5)")
        }
        _ = try pressSpec()
        if let question, question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--question is empty") }
        if let kvStorage, kvStorage != "f16" && kvStorage != "f32" { throw ValidationError("--kv-storage must be f16 or f32") }
        _ = try quantizationSpec()
    }

    /// The spec sent: `--press`, with `--ratio` as its top-level `ratio` (or `--target-fidelity` as the
    /// fidelity press's `target`), checked against the catalog.
    func pressSpec() throws -> String {
        guard let press = press ?? targetFidelity.map({ _ in "fidelity" }), !PressSpec.isNone(press) else { return press ?? "" }
        return try checkedSpec {
            var node = try PressCatalog.parse(press)
            if let ratio { node = node.setting("ratio", to: String(ratio), aliases: ["compression_ratio"]) }
            if let targetFidelity { node = node.setting("target", to: String(targetFidelity), aliases: []) }
            try PressCatalog.validate(node)
            return node
        }
    }

    func run() throws {
        try runReporting(json: connection.json) {
            let document: String
            if file == "-" {
                document = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: file) else { throw CLIError.local("cannot read \(file)") }
                document = String(decoding: data, as: UTF8.self)
            }
            let client = try connection.connect()
            let body = try client.call(.load(LoadRequest(session: session, document: document, press: try pressSpec(), model: model ?? "",
                                                         replace: replace, kvStorage: kvStorage ?? "",
                                                         kvQuant: try quantizationSpec(), question: question ?? "", shared: shared)))
            guard case .load(let r) = body else { throw CLIError.unexpected("\(body)") }
            if connection.json {
                printJSON(r)
            } else {
                let s = r.session, t = r.metrics
                let quant = s.kvQuant.isEmpty ? "" : ", \(s.kvQuant)"
                print("loaded \(s.session): \(s.contextTokens) tokens, kept \(s.keptTokens) (\(s.press)\(quant)); \(fidelityText(t)); KV \(formatBytes(s.kvBytes)) of \(formatBytes(s.kvBytesUncompressed)); prefill \(ms(t.prefillMs)), compress \(ms(t.compressMs))")
                if question != nil { print("compressed with its question: kvctl ask --session \(s.session) answers it") }
                if s.sharedUnix > 0 { print("shared: version \(s.storeVersion), visible to every replica since \(isoTime(s.sharedUnix)) (publish \(ms(t.storeMs)), \(formatBytes(UInt64(t.storeBytes))))") }
            }
        }
    }
}

struct Ask: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a question against a session; the answer streams to standard output.",
        discussion: """
        The question is answered from the session's compressed context; the context is not \
        prefilled again. Tokens are printed as they are generated. Interrupting kvctl cancels the \
        generation in kvd.

        Examples:
          kvctl ask --session manual "How do I reset the device?"
          kvctl ask --session manual "Summarise section 2." --max-new-tokens 200 --temperature 0.7
          kvctl ask --session manual "Give the date." --answer-prefix "The date is" --json
          kvctl ask --session manual "Think it through." --decoding h2o --cache-budget 256 --verbose

        Decoding presses (compress while generating; the session's context is untouched): \(DecodingCatalog.names.joined(separator: ", ")).
        """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "The session to ask.")
    var session: String

    @Argument(help: "The question; leave it out on a session loaded with --question to answer that one.")
    var question: String = ""

    @Option(name: .customLong("max-new-tokens"), help: "Most tokens to generate (default: kvd's max_new_tokens).")
    var maxNewTokens: UInt32?

    @Option(help: "Sampling temperature; 0 = greedy (default).")
    var temperature: Float = 0

    @Option(name: .customLong("top-k"), help: "Sample among the k most likely tokens (0 = all).")
    var topK: UInt32 = 0

    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass (1 = off).")
    var topP: Float = 1

    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 0

    @Option(name: .customLong("answer-prefix"), help: "Text the answer is forced to start with.")
    var answerPrefix: String = ""

    @Option(name: .customLong("deadline-ms"), help: "Give up after this many milliseconds (0 = no deadline).")
    var deadlineMs: UInt32 = 0

    @Option(help: ArgumentHelp("Compress the cache while generating, for this ask only: NAME or NAME:key=value,… (e.g. h2o:cache_budget=256,compression_interval=32).", valueName: "spec"))
    var decoding: String?

    @Option(name: .customLong("cache-budget"), help: ArgumentHelp("KV pairs per head the decoding press keeps (sets its cache_budget; 0 = no decoding compression).", valueName: "N"))
    var cacheBudget: Int?

    @Option(name: .customLong("compression-interval"), help: ArgumentHelp("Decode steps between decoding compressions (sets its compression_interval).", valueName: "N"))
    var compressionInterval: Int?

    @Flag(help: "Print timings to standard error after the answer.")
    var verbose = false

    /// The decoding spec sent: `--decoding`, with `--cache-budget`/`--compression-interval` set in it,
    /// checked against the catalog.
    func decodingSpec() throws -> String {
        guard let decoding, !PressSpec.isNone(decoding) else { return decoding ?? "" }
        return try checkedSpec {
            var node = try DecodingCatalog.parse(decoding)
            if let cacheBudget { node = node.setting("cache_budget", to: String(cacheBudget), aliases: ["target_size"]) }
            if let compressionInterval { node = node.setting("compression_interval", to: String(compressionInterval)) }
            _ = try DecodingCatalog.arguments(node)
            return node
        }
    }

    func validate() throws {
        if (cacheBudget != nil || compressionInterval != nil) && PressSpec.isNone(decoding ?? "") {
            throw ValidationError("--cache-budget and --compression-interval need --decoding (which press should keep the budget?); e.g. --decoding h2o --cache-budget \(cacheBudget ?? 256)")
        }
        _ = try decodingSpec()
        if temperature < 0 { throw ValidationError("--temperature must be ≥ 0") }
        if !(0...1).contains(topP) { throw ValidationError("--top-p must be between 0 and 1") }
    }

    func run() throws {
        try runReporting(json: connection.json) {
            let client = try connection.connect()
            let sampling = WireSampling(temperature: temperature, topK: topK, topP: topP, seed: seed)
            let request = AskRequest(session: session, question: question, answerPrefix: answerPrefix,
                                     maxNewTokens: maxNewTokens ?? 0, sampling: sampling, stream: !connection.json,
                                     decoding: try decodingSpec())
            let out = FileHandle.standardOutput
            if !connection.json && !answerPrefix.isEmpty { out.write(Data(answerPrefix.utf8)) }
            let body = try client.call(.ask(request), deadlineMs: deadlineMs) { token in
                out.write(Data(token.text.utf8))
            }
            guard case .ask(let r) = body else { throw CLIError.unexpected("\(body)") }
            if connection.json {
                printJSON(r)
            } else {
                out.write(Data("\n".utf8))
                if verbose {
                    let t = r.metrics
                    var line = "[\(t.questionTokens) question tokens, \(t.generatedTokens) generated (\(r.finishReason.rawValue)); first token \(ms(t.ttftMs)), decode \(String(format: "%.1f", t.decodeTokS)) tok/s"
                    if decoding != nil {
                        line += "; \(t.decodingCompressions) decoding compressions in \(ms(t.decodingCompressMs)), KV \(formatBytes(UInt64(t.kvBytesBefore))) -> \(formatBytes(UInt64(t.kvBytes))), \(t.finalCacheTokens) entries per head at the end"
                    }
                    FileHandle.standardError.write(Data((line + "]\n").utf8))
                }
            }
        }
    }
}

struct Sessions: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List sessions with their sizes, presses and state.",
        discussion: "State is resident (in memory), saved (on disk, restored on next use), busy, or shared (only in the shared store: the first ask fetches it). SHARED is the session's version in the shared store (kvd --store), - when it is not there.\n\nExample:\n  kvctl sessions --json"
    )

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReporting(json: connection.json) {
            let body = try connection.connect().call(.sessions)
            guard case .sessions(let list) = body else { throw CLIError.unexpected("\(body)") }
            if connection.json {
                printJSON(["sessions": list])
                return
            }
            if list.isEmpty { print("no sessions (load one with: kvctl load SESSION FILE)"); return }
            let header = ["SESSION", "STATE", "SHARED", "TOKENS", "KEPT", "KV", "PRESS", "ASKS"]
            let rows = list.map { s in
                [s.session, s.state.rawValue, s.storeVersion == 0 ? "-" : "v\(s.storeVersion)", String(s.contextTokens), String(s.keptTokens),
                 formatBytes(s.kvBytes), s.press, String(s.asks)]
            }
            printTable(header, rows)
        }
    }
}

/// Commands that name one session and print what kvd says about it.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one session.", discussion: "Example:\n  kvctl info manual")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The session.") var session: String

    func run() throws {
        try runReporting(json: connection.json) {
            let body = try connection.connect().call(.info(session: session))
            guard case .info(let s) = body else { throw CLIError.unexpected("\(body)") }
            if connection.json { printJSON(s) } else { printSession(s) }
        }
    }
}

struct Drop: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Forget a session: its memory and its saved file.", discussion: "Example:\n  kvctl drop manual")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The session.") var session: String

    func run() throws {
        try runReporting(json: connection.json) {
            let body = try connection.connect().call(.drop(session: session))
            guard case .drop(let dropped) = body else { throw CLIError.unexpected("\(body)") }
            if connection.json { printJSON(["dropped": dropped]) } else { print("dropped \(session)") }
        }
    }
}

struct Save: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a session to kvd's state directory now.",
        discussion: "kvd also saves every session on SIGTERM and when evicting under its memory budget.\n\nExample:\n  kvctl save manual")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The session.") var session: String

    func run() throws {
        try runReporting(json: connection.json) {
            let body = try connection.connect().call(.save(session: session))
            guard case .save(let path, let bytes) = body else { throw CLIError.unexpected("\(body)") }
            if connection.json { printJSON(SaveOutput(path: path, bytes: bytes)) } else { print("saved \(session) to \(path) (\(formatBytes(bytes)))") }
        }
    }

    struct SaveOutput: Encodable { let path: String; let bytes: UInt64 }
}

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring a saved session back into memory now (otherwise its next ask does).",
        discussion: "Example:\n  kvctl restore manual")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The session.") var session: String

    func run() throws {
        try runReporting(json: connection.json) {
            let body = try connection.connect().call(.restore(session: session))
            guard case .restore(let s) = body else { throw CLIError.unexpected("\(body)") }
            if connection.json { printJSON(s) } else { printSession(s) }
        }
    }
}

// MARK: Formatting

func ms(_ v: Double) -> String { String(format: "%.0f ms", v) }

func formatBytes(_ b: UInt64) -> String {
    let v = Double(b)
    if v >= 1_073_741_824 { return String(format: "%.2f GiB", v / Double(1 << 30)) }
    if v >= 1_048_576 { return String(format: "%.1f MiB", v / Double(1 << 20)) }
    if v >= 1024 { return String(format: "%.1f KiB", v / Double(1 << 10)) }
    return "\(b) B"
}

/// A load's fidelity and the ratio that came out, for people (`fidelity 0.962, ratio 0.750`).
func fidelityText(_ m: Metrics) -> String {
    let ratio = "ratio " + String(format: "%.3f", m.achievedRatio)
    return m.fidelity > 0 ? "fidelity " + String(format: "%.3f", m.fidelity) + ", " + ratio
        : "fidelity not measured (kvzip and fidelity measure it), " + ratio
}

func printSession(_ s: SessionInfo) {
    print("""
    session:     \(s.session)
    state:       \(s.state.rawValue)
    model:       \(s.model)
    press:       \(s.press) (ratio \(s.compressionRatio))
    fidelity:    \(fidelityText(s.loadMetrics))
    tokens:      \(s.contextTokens) context, \(s.keptTokens) kept
    kv bytes:    \(formatBytes(s.kvBytes)) of \(formatBytes(s.kvBytesUncompressed)) uncompressed
    kv quant:    \(s.kvQuant.isEmpty ? "none (full precision)" : s.kvQuant)
    asks:        \(s.asks) answered, \(s.failedAsks) failed (cancelled, past their deadline, client gone or an error)
    shared:      \(s.storeVersion == 0 ? "no (this replica only)" : "version \(s.storeVersion) in the shared store since \(isoTime(s.sharedUnix))")
    """)
}

/// A Unix time as an ISO 8601 UTC timestamp.
func isoTime(_ unix: Double) -> String {
    ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: unix))
}

func printTable(_ header: [String], _ rows: [[String]]) {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    for r in [header] + rows {
        print(r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  "))
    }
}
