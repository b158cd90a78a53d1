import Foundation
import KVEngine
import KVModel
import KVPress
import KVServer
import KVSystem
import Logging

/// The daemon's backend: KVEngine sessions on real models, KVPress presses, and saved sessions
/// with a model fingerprint.
public final class EngineBackend: InferenceBackend {
    /// A model the daemon serves, by name (its file name without `.gguf`).
    struct Served {
        let name: String
        let model: Model
        /// Where its asks' batched steps run: not the model's own scratch, which a load in
        /// progress holds while the asks step between its layers.
        let askScratch = ForwardScratch()
    }

    private let served: [Served]

    /// Opens `modelPaths` (the default model's usual places when empty).
    /// - Throws: `WireError`-free startup errors naming the file and the problem.
    /// - Parameter threads: size of KVModel's thread pool, which runs every matrix product and
    ///   attention (0 = the pool's default). OpenBLAS stays single-threaded.
    public init(modelPaths: [String], threads: Int, logger: Logger) throws {
        // The pool is made on first use: size it before any model touches it.
        if threads > 0 { ThreadPool.useSharedThreadCount(threads) }
        let paths = modelPaths.isEmpty ? [DefaultModel.path] : modelPaths
        var list: [Served] = []
        for path in paths {
            do {
                let model = try Model(path: path)
                let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
                logger.info("model \(name): \(model.config.architecture), \(model.config.layerCount) layers, context \(model.config.contextLength), opened in \(String(format: "%.2f", model.loadSeconds)) s")
                list.append(Served(name: name, model: model))
            } catch {
                throw EngineStartupError(description: "cannot open model \(path): \(error) (pass --model PATH, set KVD_MODEL, or run scripts/fetch-model)")
            }
        }
        served = list
        if threads > 0 && ThreadPool.shared.threadCount != threads {
            logger.warning("--threads \(threads) ignored: the compute pool already runs \(ThreadPool.shared.threadCount) threads")
        }
    }

    public var models: [ModelInfo] {
        served.enumerated().map { i, s in
            var m = ModelInfo()
            m.name = s.name
            m.path = s.model.path
            m.architecture = s.model.config.architecture
            m.layers = UInt32(s.model.config.layerCount)
            m.contextLength = UInt32(s.model.config.contextLength)
            m.vocabularySize = UInt32(s.model.config.vocabularySize)
            m.isDefault = i == 0
            return m
        }
    }

    public var presses: [PressInfo] { PressCatalog.all.map(PressInfo.init(press:)) }

    func served(_ name: String) throws -> Served {
        if name.isEmpty { return served[0] }
        if let s = served.first(where: { $0.name == name || $0.model.path == name }) { return s }
        throw ServerError.unknownModel(name, available: served.map(\.name))
    }

    func storage(_ s: String) throws -> KVStorageType {
        if s.isEmpty { return .f16 }
        guard let t = KVStorageType(rawValue: s) else { throw ServerError.invalidKVStorage(s) }
        return t
    }

    /// The quantized-cache configuration a load asks for (`nil` for full precision), checked against the model.
    func quantization(_ spec: String, for model: Model) throws -> KVCacheQuantization? {
        guard !spec.isEmpty else { return nil }
        let q = try KVCacheQuantization.parse(spec)
        try q.validate(headDimension: model.config.headDimension)
        return q
    }

    public func prepare(_ request: LoadRequest) throws -> BackendLoad {
        let s = try served(request.model)
        let load = EngineLoad(request: request, served: s, storage: try storage(request.kvStorage),
                              quantization: try quantization(request.kvQuant, for: s.model),
                              press: try PressSpec.parseUnlessNone(request.press))
        if request.document.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw SessionError.emptyDocument }
        return load
    }

    public func validate(_ request: AskRequest) throws {
        _ = try DecodingSpec.parseUnlessNone(request.decoding)
    }

    public func requiredBytes(_ load: BackendLoad) throws -> Int {
        let load = try EngineLoad.of(load)
        let config = load.served.model.config
        let text = Session.contextText(document: load.request.document, question: load.question)
        let tokens = Double(try Session.loadableTokens(model: load.served.model, document: text).count)
        let perToken = config.layerCount * config.headCountKV * 2 * config.headDimension * load.storage.elementBytes
        // A quantized cache: codes plus a generous allowance for scales, outliers and the residual window.
        let share = load.quantization.map { min(1, Double($0.bits) / 16 + 0.25) } ?? 1
        return Int((tokens * (1 - (load.press?.compressionRatio ?? 0)) * share).rounded(.up)) * perToken
    }

    public func load(_ load: BackendLoad, shouldStop: @escaping () -> StopReason?,
                     betweenLayers: @escaping () -> Void) throws -> BackendSession {
        let load = try EngineLoad.of(load)
        let model = load.served.model
        // Every forward pass of the load (prefill, kvzip's scoring passes) lets the asks step between layers.
        model.layerBoundary = betweenLayers
        defer { model.layerBoundary = nil }
        let session = try Session.load(id: try SessionID(load.request.session), model: model, document: load.request.document,
                                       question: load.question, press: load.press, storage: load.storage,
                                       quantization: load.quantization,
                                       interrupt: { if let why = shouldStop() { throw ServerError.loadStopped(why) } })
        return EngineSession(session: session, modelName: load.served.name, restored: false)
    }

    public func step(_ asks: [BackendAsk]) {
        let mine = asks.compactMap { ($0 as? EngineAsk)?.ask }
        AskBatch.step(mine, scratch: { model in self.served.first { $0.model === model }?.askScratch })
    }

    public var stepAttentionSeconds: Double {
        served.reduce(0) { $0 + $1.askScratch.attentionSeconds }
    }

    public var storeFingerprints: [String] {
        served.map { ModelFingerprint(model: $0.model, kvStorage: "", press: "").storeKey }
    }

    public func releaseIdleMemory() {
        for s in served { s.model.releaseScratch() }
        ResourceUsage.returnFreedMemory()
    }

    public func restore(session id: String, from url: URL) throws -> BackendSession {
        let (headerData, payload) = try SnapshotFile.read(from: url)
        let header = try SessionSnapshotHeader.decode(headerData, path: url.path)
        let s = served(savedName: header.modelName)
        let current = ModelFingerprint(model: s.model, kvStorage: header.fingerprint.kvStorage, press: header.fingerprint.press)
        let differences = header.fingerprint.differences(from: current)
        guard differences.isEmpty else { throw PersistenceError.modelMismatch(path: url.path, differences: differences) }
        guard let storage = KVStorageType(rawValue: header.fingerprint.kvStorage) else {
            throw PersistenceError.corrupt(path: url.path, reason: "unknown KV storage '\(header.fingerprint.kvStorage)'")
        }
        let cache = Session.makeCache(model: s.model, storage: storage, contextTokens: header.contextTokenIDs.count)
        do { try KVCacheSnapshot.decode(payload, format: header.cacheFormat ?? 1, into: cache) } catch let error as KVCacheSnapshotError {
            throw PersistenceError.corrupt(path: url.path, reason: error.description)
        }
        cache.nextPosition = header.nextPosition
        let session = Session(id: try SessionID(id), model: s.model, cache: cache, contextTokenIDs: header.contextTokenIDs,
                              pressSpec: header.fingerprint.press, compressionRatio: header.compressionRatio,
                              loadMetrics: Metrics(values: header.loadReport), questionInContext: header.questionInContext ?? false)
        return EngineSession(session: session, modelName: s.name, restored: true)
    }

    /// The model a saved session names, else the default: a renamed file of the same weights still
    /// restores, and the fingerprint check refuses any other model.
    private func served(savedName name: String) -> Served {
        served.first { $0.name == name } ?? served[0]
    }

    public func savedInfo(at url: URL) throws -> SessionInfo {
        let header = try SessionSnapshotHeader.decode(try SnapshotFile.readHeader(from: url), path: url.path)
        var info = header.info
        info.state = .saved
        return info
    }
}

/// A load `EngineBackend.prepare` checked: the request and what it decoded, which the queued job
/// carries to `requiredBytes` and `load`.
final class EngineLoad: BackendLoad {
    let request: LoadRequest
    let served: EngineBackend.Served
    let storage: KVStorageType
    let quantization: KVCacheQuantization?
    /// The press built from the spec, used by this load only (`nil`: no compression).
    let press: Press?

    init(request: LoadRequest, served: EngineBackend.Served, storage: KVStorageType, quantization: KVCacheQuantization?,
         press: Press?) {
        self.request = request
        self.served = served
        self.storage = storage
        self.quantization = quantization
        self.press = press
    }

    /// The question a query-aware load compresses with its document (`nil`: query-agnostic).
    var question: String? { request.question.isEmpty ? nil : request.question }

    /// `load` as this backend prepared it.
    /// - Throws: for a load another backend prepared (a programming error, answered as INTERNAL).
    static func of(_ load: BackendLoad) throws -> EngineLoad {
        guard let mine = load as? EngineLoad else { throw ForeignLoad() }
        return mine
    }

    struct ForeignLoad: Error, CustomStringConvertible {
        var description: String { "the load was prepared by another backend" }
    }
}

/// The model could not be opened at start.
public struct EngineStartupError: Error, CustomStringConvertible {
    public let description: String
}

/// The JSON header of a saved session.
struct SessionSnapshotHeader: Codable {
    var modelName: String
    var fingerprint: ModelFingerprint
    var info: SessionInfo
    /// The load's metrics by name (`Metrics.values`; older snapshots spell them in camelCase).
    var loadReport: [String: Double]
    var compressionRatio: Double
    var contextTokenIDs: [Int]
    var nextPosition: Int
    /// `KVCacheSnapshot` payload format; absent in snapshots written before quantized caches (format 1).
    var cacheFormat: Int?
    /// Whether the context ends with its question (a query-aware load); absent in older snapshots.
    var questionInContext: Bool?

    static func decode(_ data: Data, path: String) throws -> SessionSnapshotHeader {
        do { return try JSONDecoder().decode(SessionSnapshotHeader.self, from: data) } catch {
            throw PersistenceError.corrupt(path: path, reason: "unreadable header: \(error)")
        }
    }
}

/// A KVEngine session as the server sees it.
final class EngineSession: BackendSession {
    let session: Session
    let modelName: String
    let restored: Bool

    init(session: Session, modelName: String, restored: Bool) {
        self.session = session
        self.modelName = modelName
        self.restored = restored
    }

    var info: SessionInfo {
        let r = session.loadMetrics
        var i = SessionInfo()
        i.session = session.id.rawValue
        i.model = modelName
        i.press = session.pressSpec
        i.compressionRatio = session.compressionRatio
        i.contextTokens = UInt32(r.contextTokens)
        i.keptTokens = UInt32(r.keptTokens)
        i.kvBytes = UInt64(r.kvBytes)
        i.kvBytesUncompressed = UInt64(r.kvBytesUncompressed)
        i.kvQuant = session.cache.quantization?.description ?? ""
        i.loadMetrics = loadMetrics
        return i
    }

    var loadMetrics: Metrics {
        var m = session.loadMetrics
        if restored {
            m.prefillMs = 0
            m.compressMs = 0
        }
        return m
    }

    func startAsk(_ request: AskRequest, defaultMaxNewTokens: Int, shouldStop: @escaping () -> StopReason?,
                  onToken: @escaping (AskToken) -> Void) throws -> BackendAsk {
        let w = request.sampling ?? WireSampling()
        let sampling = SamplingParameters(temperature: w.temperature, topK: Int(w.topK), topP: w.topP == 0 ? 1 : w.topP,
                                          repetitionPenalty: w.repetitionPenalty == 0 ? 1 : w.repetitionPenalty, seed: w.seed)
        let maxNew = request.maxNewTokens == 0 ? defaultMaxNewTokens : Int(request.maxNewTokens)
        let decoding = try DecodingSpec.parseUnlessNone(request.decoding)
        let ask = try session.startAsk(
            question: request.question, answerPrefix: request.answerPrefix,
            parameters: GenerateParameters(maxNewTokens: maxNew, sampling: sampling), decoding: decoding,
            shouldStop: { shouldStop().map { $0 == .deadline ? FinishReason.deadline : FinishReason.cancelled } },
            onToken: { piece in onToken(AskToken(tokenID: piece.tokenID.map { UInt32($0) } ?? AskToken.noToken, text: piece.text)) })
        return EngineAsk(ask: ask, owner: self)
    }

    func save(to url: URL, info store: SessionInfo) throws -> Int {
        try SnapshotFile.write(to: url, image: snapshot(info: store))
    }

    func snapshot(info store: SessionInfo) throws -> [UInt8] {
        let saved = info.keepingStoreFigures(of: store)
        let fp = ModelFingerprint(model: session.model, kvStorage: session.cache.storage.rawValue, press: session.pressSpec)
        let cache = session.cache
        let header = SessionSnapshotHeader(modelName: modelName, fingerprint: fp, info: saved, loadReport: session.loadMetrics.values,
                                           compressionRatio: session.compressionRatio, contextTokenIDs: session.contextTokenIDs,
                                           nextPosition: cache.nextPosition, cacheFormat: KVCacheSnapshot.format(of: cache),
                                           questionInContext: session.questionInContext)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return SnapshotFile.image(header: try encoder.encode(header), payload: KVCacheSnapshot.encode(cache))
    }
}

/// A KVEngine ask as the scheduler sees it.
final class EngineAsk: BackendAsk {
    let ask: SessionAsk
    let owner: EngineSession

    init(ask: SessionAsk, owner: EngineSession) {
        self.ask = ask
        self.owner = owner
    }

    var isFinished: Bool { ask.isFinished }
    var nextRows: Int { ask.nextRows }
    var generatedTokens: Int { ask.tokens.count }

    func result() throws -> AskResult {
        let report = try ask.report()
        return AskResult(answer: report.answer, tokenIDs: report.tokenIDs.map { UInt32($0) }, metrics: report.metrics,
                         finishReason: report.finishReason)
    }
}
