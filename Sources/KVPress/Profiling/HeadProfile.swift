import Foundation

/// Per-head importance scores of a model's query heads, as KVCache-Factory's HeadKV reads them:
/// a JSON object whose keys are `"LAYER-HEAD"` (0-based) and whose values are lists of scores
/// (one per profiling run); a head's score is the mean of its list.
///
/// ```json
/// {"0-0": [0.0, 0.125], "0-1": [0.5, 0.375], …}
/// ```
public struct HeadProfile: Equatable, Sendable {
    /// `runs[layer][head]`: the scores of every profiling run.
    public var runs: [[[Double]]]

    /// Number of layers.
    public var layerCount: Int { runs.count }
    /// Query heads per layer.
    public var headCount: Int { runs.first?.count ?? 0 }

    /// Mean score of each head, `[layer][head]` (0 for a head without runs).
    public var scores: [[Double]] {
        runs.map { $0.map { $0.isEmpty ? 0 : $0.reduce(0, +) / Double($0.count) } }
    }

    public init(runs: [[[Double]]]) { self.runs = runs }

    /// Parses KVCache-Factory's format.
    /// - Throws: `PressError.badFile` when the text is not such an object or heads are missing.
    public init(json data: Data, path: String = "profile") throws {
        let bad = { (reason: String) in PressError.badFile(press: "headkv", path: path, reason: reason) }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw bad("expected a JSON object {\"LAYER-HEAD\": [scores…], …}")
        }
        var entries: [(Int, Int, [Double])] = []
        for (key, value) in object {
            let parts = key.split(separator: "-")
            guard parts.count == 2, let l = Int(parts[0]), let h = Int(parts[1]), l >= 0, h >= 0 else {
                throw bad("key '\(key)' is not LAYER-HEAD")
            }
            guard let list = value as? [Any] else { throw bad("value of '\(key)' is not a list of numbers") }
            let numbers = list.compactMap { ($0 as? NSNumber)?.doubleValue }
            guard numbers.count == list.count else { throw bad("value of '\(key)' is not a list of numbers") }
            entries.append((l, h, numbers))
        }
        let L = (entries.map(\.0).max() ?? -1) + 1, H = (entries.map(\.1).max() ?? -1) + 1
        guard L > 0, entries.count == L * H else { throw bad("expected one entry for every layer and head (\(L)×\(H)), got \(entries.count)") }
        var runs = [[[Double]]](repeating: [[Double]](repeating: [], count: H), count: L)
        for (l, h, v) in entries { runs[l][h] = v }
        self.runs = runs
    }

    /// Reads a profile file.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PressError.badFile(press: "headkv", path: path, reason: "cannot read the file")
        }
        try self.init(json: data, path: path)
    }

    /// The profile bundled for kvd's default model (SmolLM2-135M-Instruct), computed with
    /// `kvbench profile-heads`.
    public static func bundledDefault() throws -> HeadProfile {
        guard let url = Bundle.module.url(forResource: "smollm2-135m-instruct.heads", withExtension: "json", subdirectory: "Resources") else {
            throw PressError.badFile(press: "headkv", path: "smollm2-135m-instruct.heads.json", reason: "the bundled profile is missing")
        }
        return try HeadProfile(contentsOf: url.path)
    }

    /// KVCache-Factory's JSON text, keys in layer-major order.
    public func jsonData() -> Data {
        var parts: [String] = []
        for (l, heads) in runs.enumerated() {
            for (h, list) in heads.enumerated() {
                parts.append("\"\(l)-\(h)\": [" + list.map { String(format: "%.6g", $0) }.joined(separator: ", ") + "]")
            }
        }
        return Data(("{" + parts.joined(separator: ", ") + "}\n").utf8)
    }
}
