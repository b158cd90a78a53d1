import Foundation
import KVSystem
import XCTest
@testable import KVServer

/// A model-free backend: a "session" holds its document's words; an answer streams the first
/// words back, one word per step, and a step takes `tokenDelay` however many asks it holds (as a
/// batched forward pass does). Lets protocol tests run in milliseconds.
final class FakeBackend: InferenceBackend {
    var tokenDelay: TimeInterval = 0
    var bytesPerWord = 100
    private(set) var loads = 0
    private(set) var restores = 0

    var models: [ModelInfo] {
        var m = ModelInfo()
        m.name = "fake"; m.architecture = "fake"; m.isDefault = true
        return [m]
    }

    var presses: [PressInfo] {
        [PressInfo(name: "knorm", summary: "keeps keys with small norms",
                   parameters: [PressParameterInfo(name: "compression_ratio", defaultValue: "0.0", help: "fraction removed")], wraps: false)]
    }

    /// Every load `prepare` read, in order: the tests count how often a load's request is read.
    private(set) var prepared: [FakeLoad] = []

    func prepare(_ request: LoadRequest) throws -> BackendLoad {
        if !request.press.isEmpty && !request.press.hasPrefix("knorm") { throw WireError(.invalidArgument, "unknown press '\(request.press)'") }
        if request.document.trimmingCharacters(in: .whitespaces).isEmpty { throw WireError(.invalidArgument, "the document is empty") }
        let load = FakeLoad(request: request)
        prepared.append(load)
        return load
    }

    func validate(_ request: AskRequest) throws {
        if !request.decoding.isEmpty && !request.decoding.hasPrefix("h2o") { throw WireError(.invalidArgument, "unknown decoding press '\(request.decoding)'") }
    }

    /// How much `requiredBytes` underestimates a load by (as a press's nominal ratio may).
    var requiredBytesShortfall = 0

    func requiredBytes(_ load: BackendLoad) throws -> Int {
        let load = try XCTUnwrap(load as? FakeLoad)
        load.sized += 1
        return load.words.count * bytesPerWord - requiredBytesShortfall
    }

    /// A load's "layers": each takes `layerDelay`, then lets the asks step (as a prefill does).
    var loadLayers = 0
    var layerDelay: TimeInterval = 0
    private(set) var steps = 0
    /// Asks per step, in order.
    private(set) var batchSizes: [Int] = []
    /// Runs on the worker after every step (tests sample the store there).
    var onStep: (() -> Void)?

    func load(_ load: BackendLoad, shouldStop: @escaping () -> StopReason?,
              betweenLayers: @escaping () -> Void) throws -> BackendSession {
        let load = try XCTUnwrap(load as? FakeLoad)
        load.loaded += 1
        loads += 1
        for _ in 0..<loadLayers {
            if let why = shouldStop() { throw ServerError.loadStopped(why) }
            Thread.sleep(forTimeInterval: layerDelay)
            betweenLayers()
        }
        return FakeSession(id: load.request.session, words: load.words, backend: self)
    }

    func step(_ asks: [BackendAsk]) {
        let mine = asks.compactMap { $0 as? FakeAsk }.filter { !$0.isFinished }
        steps += 1
        batchSizes.append(mine.count)
        if tokenDelay > 0 { Thread.sleep(forTimeInterval: tokenDelay) }
        stepAttentionSeconds += tokenDelay / 2
        for ask in mine { ask.advance() }
        onStep?()
    }

    func restore(session: String, from url: URL) throws -> BackendSession {
        restores += 1
        let (header, payload) = try SnapshotFile.read(from: url)
        guard (try? JSONDecoder().decode(SessionInfo.self, from: header))?.model == "fake" else {
            throw PersistenceError.modelMismatch(path: url.path, differences: ["architecture: saved other, model fake"])
        }
        let words = String(decoding: payload, as: UTF8.self).split(separator: " ").map(String.init)
        return FakeSession(id: session, words: words, backend: self)
    }

    /// Times the worker went idle after work that may have freed memory.
    let idleReleases = Locked(0)

    func releaseIdleMemory() { idleReleases.update { $0 += 1 } }

    var storeFingerprints: [String] { ["fa4efa4efa4efa4e"] }

    /// A fake step's "attention": half its delay.
    private(set) var stepAttentionSeconds = 0.0

    func savedInfo(at url: URL) throws -> SessionInfo {
        let header = try SnapshotFile.readHeader(from: url)
        do { return try JSONDecoder().decode(SessionInfo.self, from: header) } catch {
            throw PersistenceError.corrupt(path: url.path, reason: "unreadable header: \(error)")
        }
    }
}

/// A fake load: its document's words, read once by `prepare`, and how often the job used it.
final class FakeLoad: BackendLoad {
    let request: LoadRequest
    let words: [String]
    /// Calls of `requiredBytes` and `load` with it.
    var sized = 0, loaded = 0

    init(request: LoadRequest) {
        self.request = request
        words = request.document.split(separator: " ").map(String.init)
    }
}

final class FakeSession: BackendSession {
    let id: String
    let words: [String]
    let backend: FakeBackend

    init(id: String, words: [String], backend: FakeBackend) {
        self.id = id
        self.words = words
        self.backend = backend
    }

    var info: SessionInfo {
        var i = SessionInfo()
        i.session = id
        i.model = "fake"
        i.contextTokens = UInt32(words.count)
        i.keptTokens = UInt32(words.count)
        i.kvBytes = UInt64(words.count * backend.bytesPerWord)
        i.kvBytesUncompressed = i.kvBytes
        return i
    }

    var loadMetrics: Metrics { Metrics() }

    func startAsk(_ request: AskRequest, defaultMaxNewTokens: Int, shouldStop: @escaping () -> StopReason?,
                  onToken: @escaping (AskToken) -> Void) throws -> BackendAsk {
        let n = Int(request.maxNewTokens == 0 ? UInt32(defaultMaxNewTokens) : request.maxNewTokens)
        return FakeAsk(words: Array(words.prefix(n)), questionWords: request.question.split(separator: " ").count,
                       shouldStop: shouldStop, onToken: onToken)
    }

    func save(to url: URL, info store: SessionInfo) throws -> Int {
        try SnapshotFile.write(to: url, image: snapshot(info: store))
    }

    func snapshot(info store: SessionInfo) throws -> [UInt8] {
        let header = info.keepingStoreFigures(of: store)
        return SnapshotFile.image(header: try JSONEncoder().encode(header), payload: Array(words.joined(separator: " ").utf8))
    }
}

/// A fake answer: one more of the session's words per step.
final class FakeAsk: BackendAsk {
    let words: [String]
    let questionWords: Int
    let shouldStop: () -> StopReason?
    let onToken: (AskToken) -> Void
    private var out: [String] = []
    private var finish: FinishReason?

    init(words: [String], questionWords: Int, shouldStop: @escaping () -> StopReason?, onToken: @escaping (AskToken) -> Void) {
        self.words = words
        self.questionWords = questionWords
        self.shouldStop = shouldStop
        self.onToken = onToken
        if words.isEmpty { finish = .maxNewTokens }
    }

    var isFinished: Bool { finish != nil }
    var nextRows: Int { out.isEmpty ? max(1, questionWords) : 1 }
    var generatedTokens: Int { out.count }

    func advance() {
        if let why = shouldStop() { finish = why == .deadline ? .deadline : .cancelled; return }
        let i = out.count
        out.append(words[i])
        onToken(AskToken(tokenID: UInt32(i), text: (i == 0 ? "" : " ") + words[i]))
        if out.count == words.count { finish = .maxNewTokens }
    }

    func result() throws -> AskResult {
        var m = Metrics()
        m.questionTokens = questionWords
        m.generatedTokens = out.count
        return AskResult(answer: out.joined(separator: " "), tokenIDs: (0..<out.count).map { UInt32($0) }, metrics: m,
                         finishReason: finish ?? .cancelled)
    }
}
