import Foundation
import XCTest
import KVModel

/// Locates the model files and the golden fixtures for tests (shared by the test targets).
///
/// Models are installed by `scripts/fetch-model [NAME]` into `models/`; `KVD_MODEL` overrides the
/// default model's path. A test that needs a model fails (never skips) with an actionable message
/// when the file is missing.
public enum TestModel {
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A model file `models/<file>` and the `scripts/fetch-model` name that installs it.
    public struct File: Sendable {
        public let file: String
        public let fetchName: String

        public var path: String { TestModel.repositoryRoot.appendingPathComponent("models/\(file)").path }
        /// llama.cpp's reference outputs for this model, under `Fixtures/golden/`.
        public var llamaCppGolden: String { "models/\(fetchName).llamacpp.json" }
    }

    public static let smolLM2 = File(file: "SmolLM2-135M-Instruct.Q4_1.gguf", fetchName: "smollm2-135m")
    public static let qwen25Coder = File(file: "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf",
                                         fetchName: "qwen2.5-coder-0.5b-instruct")
    public static let gemma3 = File(file: "gemma-3-270m.Q4_K_M.gguf", fetchName: "gemma-3-270m")

    /// The default model's path.
    public static var path: String {
        if let env = ProcessInfo.processInfo.environment["KVD_MODEL"], !env.isEmpty { return env }
        return smolLM2.path
    }

    /// The GGUF file of the default model, opened once per test process.
    public static func gguf() throws -> GGUFFile {
        try open(path, missing: "default model not found at \(path): run scripts/fetch-model (or set KVD_MODEL)")
    }

    /// The GGUF file of `model`, opened once per test process.
    public static func gguf(_ model: File) throws -> GGUFFile {
        try open(model.path, missing: "model file \(model.file) not found at \(model.path): "
            + "run scripts/fetch-model \(model.fetchName)")
    }

    /// Why a test could not run: a file it needs is missing (thrown, so the test fails).
    public struct MissingFile: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    fileprivate static let lock = NSLock()
    nonisolated(unsafe) private static var opened: [String: Result<GGUFFile, Error>] = [:]

    private static func open(_ path: String, missing: String) throws -> GGUFFile {
        guard FileManager.default.fileExists(atPath: path) else { throw MissingFile(description: missing) }
        lock.lock()
        defer { lock.unlock() }
        if let r = opened[path] { return try r.get() }
        let r = Result { try GGUFFile(path: path) }
        opened[path] = r
        return try r.get()
    }

    /// Parses a golden fixture (`Fixtures/golden/NAME`) from a test target's resource bundle.
    public static func golden(_ name: String, in bundle: Bundle) throws -> Any {
        guard let url = bundle.url(forResource: "Fixtures/golden/\(name)", withExtension: nil) else {
            throw MissingFile(description: "fixture Fixtures/golden/\(name) is missing from the test bundle")
        }
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }
}

extension TestModel {
    private static let sharedModel = Result { try Model(path: path) }

    /// The default model, loaded once per test process.
    public static func model() throws -> Model {
        _ = try gguf()
        return try sharedModel.get()
    }

    nonisolated(unsafe) private static var loadedModels: [String: Model] = [:]

    /// The tiny random-weight model `name` of `Tests/KVModelTests/Fixtures/tiny/` (one per architecture).
    public static func tinyModel(_ name: String) throws -> Model {
        let path = repositoryRoot.appendingPathComponent("Tests/KVModelTests/Fixtures/tiny/\(name).gguf").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingFile(description: "tiny model fixture \(path) is missing")
        }
        return try Model(path: path)
    }

    /// The model in `file`, loaded once per test process (fails with the install command when missing).
    public static func model(_ file: File) throws -> Model {
        _ = try gguf(file)
        lock.lock()
        defer { lock.unlock() }
        if let m = loadedModels[file.path] { return m }
        let m = try Model(path: file.path)
        loadedModels[file.path] = m
        return m
    }
}

extension TestModel {
    /// Greedy answer (at most 16 tokens) to `question` over `cache`, which is rolled back afterwards.
    public static func answer(_ model: Model, _ tokenizer: Tokenizer, _ cache: KVCache, _ question: [Int]) throws -> String {
        let checkpoint = cache.checkpoint()
        defer { cache.rollback(to: checkpoint) }
        var it = TokenIterator(model: model, cache: cache, prompt: question,
                               parameters: GenerateParameters(maxNewTokens: 16, stopTokens: [2]))
        return tokenizer.decode(try it.collect(), skipSpecialTokens: true)
    }
}
