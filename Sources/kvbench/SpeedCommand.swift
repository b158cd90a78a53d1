import ArgumentParser
import Dispatch
import Foundation
import KVModel

struct SpeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speed",
        abstract: "Measure model load, prefill and decode speed, and peak memory.",
        discussion: """
            Prefill is timed on 512 and 2048 tokens from an empty cache; decode on 128 tokens after a \
            short prompt, and on 32 tokens after 4096 and 8000 tokens of context (the cache is rolled \
            back between repeats). Every figure is the median of --repeats runs. Token ids are drawn \
            from a seeded generator: speed does not depend on the text.
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Runs per measurement; the median is reported.")
    var repeats: Int = 3

    @Option(help: ArgumentHelp("KV cache element type.", valueName: "f16|f32"))
    var kvStorage: String = "f16"

    @Flag(help: "Skip the long-context rows (4096 and 8000 tokens) for a fast smoke run.")
    var quick = false

    @Flag(help: "Print one JSON object on stdout instead of the table.")
    var json = false

    @Option(help: ArgumentHelp("Also write the JSON result to this file.", valueName: "file"))
    var output: String?

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        guard KVStorageType(rawValue: kvStorage) != nil else { throw ValidationError("--kv-storage must be f16 or f32") }
    }

    func run() throws {
        let storage = KVStorageType(rawValue: kvStorage)!
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
            return try decodeRate(model: model, cache: cache, first: Sampler.argmax(logits), steps: 128)
        }
        result.append(("decode_tok_s", median(decodeRates)))

        if !quick {
            for context in [4096, 8000] {
                progress("prefill \(context) then decode 32")
                let cache = model.makeCache(storage: storage)
                var logits: [Float] = []
                let prefill = try time { logits = try model.forward(randomTokens(context), cache: cache, logits: .last) }
                let mark = cache.checkpoint()
                let rates = try (0..<repeats).map { _ -> Double in
                    defer { cache.rollback(to: mark) }
                    return try decodeRate(model: model, cache: cache, first: Sampler.argmax(logits), steps: 32)
                }
                result.append(("prefill_\(context)_tok_s", Double(context) / prefill))
                result.append(("decode_\(context)_tok_s", median(rates)))
                result.append(("kv_bytes_\(context)", Double(cache.byteCount)))
            }
        }
        result.append(("peak_rss_bytes", Double(ResourceUsage.peakRSSBytes)))

        var object: [String: Any] = ["threads": ThreadPool.shared.threadCount, "kv_storage": storage.rawValue,
                                     "repeats": repeats, "model": model.path]
        for (k, v) in result { object[k] = (k.hasSuffix("bytes") || k.hasPrefix("kv_bytes")) ? Int(v) : (v * 1000).rounded() / 1000 }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        if let output { try data.write(to: URL(fileURLWithPath: output)) }
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("kvbench speed — \(model.config.name), \(ThreadPool.shared.threadCount) threads, \(storage.rawValue) KV cache, median of \(repeats)")
            for (k, v) in result {
                let shown = k.contains("bytes") ? String(format: "%.1f MiB", v / 1_048_576) : String(format: "%.3f", v)
                print(k.padding(toLength: 22, withPad: " ", startingAt: 0), shown)
            }
        }
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
    let start = DispatchTime.now()
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
