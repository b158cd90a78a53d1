import Foundation
import XCTest
import KVModel

/// The models beyond the default that `scripts/fetch-model NAME` installs into `models/`, for tests
/// against llama.cpp's reference outputs (`Fixtures/golden/models/`). A test that needs one fails
/// with the command that installs it; it never skips.
public enum RealModel: String, CaseIterable, Sendable {
    case qwen25Coder = "qwen2.5-coder-0.5b-instruct"
    case gemma3 = "gemma-3-270m"

    /// The file `scripts/fetch-model` installs.
    public var fileName: String {
        switch self {
        case .qwen25Coder: return "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf"
        case .gemma3: return "gemma-3-270m.Q4_K_M.gguf"
        }
    }

    /// The llama.cpp reference fixture's name under `Fixtures/golden/models/`.
    public var goldenName: String { "models/\(rawValue).llamacpp.json" }

    public var path: String { TestModel.repositoryRoot.appendingPathComponent("models/" + fileName).path }

    /// The model, loaded once per test process.
    public func model() throws -> Model {
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("\(rawValue) not found at \(path): run scripts/fetch-model \(rawValue)")
            throw XCTSkip("model missing")
        }
        RealModel.lock.lock()
        defer { RealModel.lock.unlock() }
        if let m = RealModel.loaded[self] { return m }
        let m = try Model(path: path)
        RealModel.loaded[self] = m
        return m
    }

    private static let lock = NSLock()
    private static var loaded: [RealModel: Model] = [:]
}
