import Foundation
import KVModel

/// Where one configuration's results live, `<root>/<dataset>/<model>/<press>/<ratio>/`, and how
/// they are written: predictions.jsonl, metrics.json, config.json. A configuration counts as
/// finished once metrics.json exists (it is written last).
public struct ResultStore {
    public let directory: URL

    /// - Parameter variant: appended to the press's directory (`EvalOptions.directorySuffix`).
    public init(root: String, dataset: String, model: String, press: PressChoice, variant: String = "") {
        directory = URL(fileURLWithPath: root)
            .appendingPathComponent(dataset)
            .appendingPathComponent(model)
            .appendingPathComponent(press.directoryName + variant)
            .appendingPathComponent(String(format: "%.2f", press.ratio))
    }

    /// A model's directory name: its file name without `.gguf`.
    public static func modelName(path: String) -> String {
        let file = URL(fileURLWithPath: path).lastPathComponent
        return file.hasSuffix(".gguf") ? String(file.dropLast(5)) : file
    }

    public var predictionsURL: URL { directory.appendingPathComponent("predictions.jsonl") }
    public var metricsURL: URL { directory.appendingPathComponent("metrics.json") }
    public var configURL: URL { directory.appendingPathComponent("config.json") }

    /// Whether metrics.json is there.
    public var isFinished: Bool { FileManager.default.fileExists(atPath: metricsURL.path) }

    /// The saved metrics.json, if any.
    public func readMetrics() -> MetricsFile? {
        guard let d = FileManager.default.contents(atPath: metricsURL.path) else { return nil }
        return try? JSONDecoder().decode(MetricsFile.self, from: d)
    }

    /// Writes the three files (config first, metrics last).
    public func write(predictions: [Prediction], metrics: MetricsFile, config: ConfigFile) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: metricsURL)
        try Self.json(config).write(to: configURL)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines = Data()
        for p in predictions {
            lines.append(try encoder.encode(p))
            lines.append(UInt8(ascii: "\n"))
        }
        try lines.write(to: predictionsURL)
        try Self.json(metrics).write(to: metricsURL)
    }

    static func json(_ object: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var d = try encoder.encode(object)
        d.append(UInt8(ascii: "\n"))
        return d
    }
}

/// Identity of the code and model behind a result, for config.json.
public enum RunInfo {
    /// kvbench's version.
    public static let version = "0.1.0"

    /// `git rev-parse HEAD` (with `-dirty` when the tree has changes) run in the current
    /// directory, or nil when git or a repository is not there.
    public static func gitCommit() -> String? {
        guard let head = run(["git", "rev-parse", "HEAD"]), !head.isEmpty else { return nil }
        let dirty = run(["git", "status", "--porcelain", "--untracked-files=no"]).map { !$0.isEmpty } ?? false
        return head + (dirty ? "-dirty" : "")
    }

    static func run(_ args: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A model's identity: path, file size, name and shape.
    public struct ModelIdentity: Codable, Sendable {
        public var path: String
        public var file: String
        public var bytes: Int
        public var name: String
        public var architecture: String
        public var layers: Int
        public var kvHeads: Int
        public var headDim: Int
        public var contextLength: Int

        enum CodingKeys: String, CodingKey {
            case path, file, bytes, name, architecture, layers
            case kvHeads = "kv_heads", headDim = "head_dim", contextLength = "context_length"
        }

        public init(_ m: Model) {
            path = m.path
            file = URL(fileURLWithPath: m.path).lastPathComponent
            bytes = ((try? FileManager.default.attributesOfItem(atPath: m.path)[.size] as? Int) ?? nil) ?? 0
            name = m.config.name
            architecture = m.config.architecture
            layers = m.config.layerCount
            kvHeads = m.config.headCountKV
            headDim = m.config.headDimension
            contextLength = m.config.contextLength
        }
    }

    /// Versions and time of a run; `git_commit` is `null` outside a repository.
    public struct Environment: Codable, Sendable {
        public var kvbench = version
        public var os = ProcessInfo.processInfo.operatingSystemVersionString
        public var timestamp = ISO8601DateFormatter().string(from: Date())
        public var swift: String?
        public var gitCommit = RunInfo.gitCommit()

        enum CodingKeys: String, CodingKey {
            case kvbench, os, timestamp, swift
            case gitCommit = "git_commit"
        }

        /// This process's environment, now.
        public init() {
            #if swift(>=6.1)
            swift = ">=6.1"
            #elseif swift(>=6.0)
            swift = "6.0"
            #endif
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(kvbench, forKey: .kvbench)
            try c.encode(os, forKey: .os)
            try c.encode(timestamp, forKey: .timestamp)
            try c.encodeIfPresent(swift, forKey: .swift)
            try c.encode(gitCommit, forKey: .gitCommit)
        }
    }
}
