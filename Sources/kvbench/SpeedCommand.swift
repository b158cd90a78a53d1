import ArgumentParser
import Foundation
import KVEngine
import KVModel
import KVPress
import KVSystem

struct SpeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speed",
        abstract: "Measure model load, prefill and decode speed, and peak memory.",
        discussion: """
            Prefill is timed on 512 and 2048 tokens from an empty cache; decode on 128 tokens after a \
            short prompt, and on 32 tokens after each of --decode-contexts tokens of context (the cache \
            is rolled back between repeats). With --press and/or --context-length, also a context of \
            that length (default 2048): prefill, compression, time to first token of a \
            --question-length question, decode \
            tok/s and KV bytes, uncompressed and compressed (ctx_* keys). Every figure is the median of --repeats runs. Token ids are drawn \
            from a seeded generator: speed does not depend on the text.
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Runs per measurement; the median is reported.")
    var repeats: Int = 3

    @Option(help: ArgumentHelp("KV cache element type.", valueName: "f16|f32"))
    var kvStorage: String = "f16"

    @OptionGroup var quantizationOptions: QuantizationOptions

    @Option(help: ArgumentHelp("Also measure a context compressed by this press (kvpress spec, e.g. snapkv:ratio=0.5).", valueName: "spec"))
    var press: String?

    @Option(help: "Context length in tokens for the press rows (default 2048 when --press is given).")
    var contextLength: Int?

    @Option(help: ArgumentHelp("Question tokens for the ctx_ttft rows.", valueName: "n"))
    var questionLength = 32

    @Option(help: ArgumentHelp("Context lengths of the long-context decode rows, comma-separated.", valueName: "n,n,…"))
    var decodeContexts = "4096,8000"

    @Flag(help: "Skip the long-context rows (--decode-contexts) for a fast smoke run.")
    var quick = false

    @Flag(help: "Print one JSON object on stdout instead of the table.")
    var json = false

    @Option(help: ArgumentHelp("Also write the JSON result to this file.", valueName: "file"))
    var output: String?

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard KVStorageType(rawValue: kvStorage) != nil else { throw ValidationError("--kv-storage must be f16 or f32") }
        if let contextLength, contextLength < 16 { throw ValidationError("--context-length must be at least 16") }
        guard questionLength >= 1 else { throw ValidationError("--question-length must be at least 1") }
        guard let contexts = longContexts, !contexts.isEmpty, contexts.allSatisfy({ $0 >= 16 }) else {
            throw ValidationError("--decode-contexts must be comma-separated lengths of at least 16 tokens, e.g. 4096,8000")
        }
        if let press { do { _ = try PressSpec.parseUnlessNone(press) } catch { throw ValidationError("\(error)") } }
    }

    func run() throws {
        let storage = KVStorageType(rawValue: kvStorage)!
        let quantization = try quantizationOptions.quantization()
        /// Quantizes `cache` when asked; returns the seconds it took.
        func quantize(_ cache: KVCache) throws -> Double {
            guard let quantization else { return 0 }
            return try time { try cache.quantize(quantization) }
        }
        var loadTimes: [Double] = []
        var model = try modelOptions.load()
        loadTimes.append(model.loadSeconds)
        for _ in 1..<repeats {
            model = try modelOptions.load()
            loadTimes.append(model.loadSeconds)
        }
        var rng = SplitMix64(seed: 42)
        let vocab = model.config.vocabularySize
        func randomTokens(_ n: Int) -> [Int] { (0..<n).map { _ in 256 + Int(rng.next() % UInt64(vocab - 256)) } }

        var result: [(String, Double)] = [("load_s", median(loadTimes))]
        func progress(_ s: String) { if !json { FileHandle.standardError.write(Data("… \(s)\n".utf8)) } }

        for n in [512, 2048] {
            progress("prefill \(n)")
            let ids = randomTokens(n)
            let rates = try (0..<repeats).map { _ -> Double in
                let cache = model.makeCache(storage: storage)
                let t = try time { _ = try model.forward(ids, cache: cache, logits: .last) }
                return Double(n) / t
            }
            result.append(("prefill_\(n)_tok_s", median(rates)))
        }

        progress("decode 128 after a 16-token prompt")
        let short = randomTokens(16)
        let decodeRates = try (0..<repeats).map { _ -> Double in
            let cache = model.makeCache(storage: storage)
            let logits = try model.forward(short, cache: cache, logits: .last)
            _ = try quantize(cache)
            return try decodeRate(model: model, cache: cache, first: Sampler.argmax(logits), steps: 128)
        }
        result.append(("decode_tok_s", median(decodeRates)))
        // Bytes a token reads times tokens per second, beside what this machine can read at all.
        let shortCache = model.makeCache(storage: storage)
        _ = try model.forward(short, cache: shortCache, logits: .none)
        result.append(("decode_gb_s", Double(model.bytesReadPerDecodeToken(cache: shortCache)) * median(decodeRates) / 1e9))
        progress("memory read bandwidth")
        result.append(("memory_read_gb_s", MemoryReadBandwidth.measure(pool: ThreadPool.shared)))

        if !quick {
            for context in longContexts ?? [] where context + 32 <= model.config.contextLength {
                progress("prefill \(context) then decode 32")
                let cache = model.makeCache(storage: storage)
                var logits: [Float] = []
                let prefill = try time { logits = try model.forward(randomTokens(context), cache: cache, logits: .last) }
                let quantizeSeconds = try quantize(cache)
                let mark = cache.checkpoint()
                let rates = try (0..<repeats).map { _ -> Double in
                    defer { cache.rollback(to: mark) }
                    return try decodeRate(model: model, cache: cache, first: Sampler.argmax(logits), steps: 32)
                }
                result.append(("prefill_\(context)_tok_s", Double(context) / prefill))
                result.append(("decode_\(context)_tok_s", median(rates)))
                result.append(("decode_\(context)_gb_s", Double(model.bytesReadPerDecodeToken(cache: cache)) * median(rates) / 1e9))
                if quantization != nil { result.append(("quantize_\(context)_s", quantizeSeconds)) }
                result.append(("kv_bytes_\(context)", Double(cache.byteCount)))
            }
        }
        if press != nil || contextLength != nil {
            let n = contextLength ?? 2048
            progress("context \(n)\(press.map { " with \($0)" } ?? "")")
            result += try contextRows(model: model, storage: storage, quantize: quantize, ids: randomTokens(n), question: randomTokens(questionLength))
        }
        result.append(("peak_rss_bytes", Double(ResourceUsage.peakRSSBytes)))

        var object: [String: Any] = ["threads": ThreadPool.shared.threadCount, "kv_storage": storage.rawValue, "openblas_core": BLAS.coreName,
                                     "kernels": CPULevel.current.rawValue,
                                     "repeats": repeats, "model": model.path]
        if let press { object["press"] = PressSpec.isNone(press) ? PressSpec.none : ((try? PressSpec.parse(press))?.description ?? press) }
        if let quantization { object["kv_quant"] = quantization.description }
        for (k, v) in result { object[k] = (k.hasSuffix("bytes") || k.contains("kv_bytes") || k == "context_length") ? Int(v) : (v * 1000).rounded() / 1000 }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        if let output { try data.write(to: URL(fileURLWithPath: output)) }
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("kvbench speed — \(model.config.name), \(ThreadPool.shared.threadCount) threads, \(storage.rawValue) KV cache\(quantization.map { " (\($0))" } ?? ""), median of \(repeats), kernels \(CPULevel.current.rawValue), OpenBLAS \(BLAS.coreName)")
            for (k, v) in result {
                let shown = k == "context_length" ? String(Int(v)) : k.contains("bytes") ? String(format: "%.1f MiB", v / 1_048_576) : String(format: "%.3f", v)
                print(k.padding(toLength: 30, withPad: " ", startingAt: 0), shown)
            }
        }
    }

    /// KVCache-Factory's latency/memory rows for one context: prefill, compression, time to first
    /// token of a --question-length question, decode speed and KV bytes, uncompressed and (with --press)
    /// compressed. Medians of --repeats runs.
    private func contextRows(model: Model, storage: KVStorageType, quantize: (KVCache) throws -> Double, ids: [Int], question: [Int]) throws -> [(String, Double)] {
        let n = ids.count
        var rows: [(String, Double)] = [("context_length", Double(n))]
        func measure(_ press: Press?) throws -> (prefill: Double, compress: Double, ttft: Double, decode: Double, bytes: Int) {
            var samples: [(Double, Double, Double, Double, Int)] = []
            for _ in 0..<repeats {
                let cache = model.makeCache(storage: storage)
                let hook = press.map { PressHook($0, model: model) }
                let total = try time { _ = try model.forward(ids, cache: cache, hook: hook, logits: .none) }
                let inPrefill = hook?.compressionSeconds ?? 0  // per-layer compression, inside the forward
                try hook?.finish(cache, contextIDs: ids)      // a context press (kvzip) runs here
                let compress = hook?.compressionSeconds ?? 0
                _ = try quantize(cache)
                let bytes = cache.byteCount
                var first = 0
                let ttft = try time { first = Sampler.argmax(try model.forward(question, cache: cache, logits: .last)) }
                let decode = try decodeRate(model: model, cache: cache, first: first, steps: 32)
                samples.append((total - inPrefill, compress, ttft, decode, bytes))
            }
            return (median(samples.map(\.0)), median(samples.map(\.1)), median(samples.map(\.2)), median(samples.map(\.3)), samples[0].4)
        }
        let plain = try measure(nil)
        rows += [("ctx_prefill_s_uncompressed", plain.prefill), ("ctx_ttft_s_uncompressed", plain.ttft),
                 ("ctx_decode_tok_s_uncompressed", plain.decode), ("ctx_kv_bytes_uncompressed", Double(plain.bytes))]
        if let spec = press, let p = try PressSpec.parseUnlessNone(spec) {
            let c = try measure(p)
            rows += [("ctx_prefill_s", c.prefill), ("ctx_compress_s", c.compress), ("ctx_ttft_s", c.ttft),
                     ("ctx_decode_tok_s", c.decode), ("ctx_kv_bytes", Double(c.bytes))]
        }
        return rows
    }

    /// The lengths in --decode-contexts, nil when one is not a number.
    private var longContexts: [Int]? {
        let parts = decodeContexts.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return parts.contains(nil) ? nil : parts.compactMap { $0 }
    }

    /// Decodes `steps` tokens greedily (ignoring stop tokens) and returns tokens per second.
    private func decodeRate(model: Model, cache: KVCache, first: Int, steps: Int) throws -> Double {
        var token = first
        let t = try time {
            for _ in 0..<steps { token = Sampler.argmax(try model.forward([token], cache: cache, logits: .last)) }
        }
        return Double(steps) / t
    }
}

func time(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    return start.secondsElapsed
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
