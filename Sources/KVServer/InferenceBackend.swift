import KVWire
import Foundation

/// What the server layers need from the inference engine.
///
/// The transport, dispatcher and scheduler never call the model: they go through this. The
/// daemon uses KVServerEngine's `EngineBackend` (KVEngine sessions on a real model); protocol
/// tests may use a fake. Methods marked "worker" run only on the scheduler's thread.
public protocol InferenceBackend: AnyObject {
    /// Models served (the first is the default).
    var models: [ModelInfo] { get }
    /// The press catalog.
    var presses: [PressInfo] { get }
    /// Checks a load's model, storage, quantization and press spec before queueing it, and
    /// decodes them once: the queued job carries what this returns to `requiredBytes` and `load`
    /// (fast; loop thread).
    /// - Throws: what is wrong with the request (maps to INVALID_ARGUMENT or NOT_FOUND).
    func prepare(_ request: LoadRequest) throws -> BackendLoad
    /// Checks an ask's decoding-compression spec before queueing it (fast; loop thread).
    func validate(_ request: AskRequest) throws
    /// The KV bytes a load of `request` will keep, from its real token count (for the memory
    /// budget, before anything is evicted). Worker: it tokenizes, which is cheap next to a prefill.
    /// - Throws: what makes the load impossible whatever is evicted (a document longer than the
    ///   context window, an empty one).
    func requiredBytes(_ load: BackendLoad) throws -> Int
    /// Prefills and compresses a document. Worker.
    /// - Parameter betweenLayers: called between the layers of every forward pass of the load (the
    ///   scheduler steps its asks there).
    func load(_ load: BackendLoad, shouldStop: @escaping () -> StopReason?,
              betweenLayers: @escaping () -> Void) throws -> BackendSession
    /// Runs one step of `asks` (any sessions) as shared forward passes: a question prompt for an
    /// ask that has not started, one token for the others. Finished asks are skipped. Worker.
    func step(_ asks: [BackendAsk])
    /// Seconds `step` has spent in attention so far (the operator view's share of attention). Worker.
    var stepAttentionSeconds: Double { get }
    /// Reads a session saved with `BackendSession.save`. Worker.
    /// - Throws: `PersistenceError` for a corrupt file or one made with a different model.
    func restore(session: String, from url: URL) throws -> BackendSession
    /// The metadata of a saved session, without reading its cache.
    func savedInfo(at url: URL) throws -> SessionInfo
    /// The store fingerprint of each model of `models`, in the same order: a shared session is
    /// filed under its model's, so replicas find only sessions their models can restore.
    var storeFingerprints: [String] { get }
    /// Gives back memory that only work now finished needed (a load's scratch, freed caches).
    /// Worker, when it goes idle after loads, drops, evictions or restores.
    func releaseIdleMemory()
}

/// A load `InferenceBackend.prepare` checked, with what it decoded from the request (model,
/// press, quantization, storage): opaque to the server, which hands it back to the same backend's
/// `requiredBytes` and `load`, so a load's specs are read once on the daemon's side.
public protocol BackendLoad: AnyObject {
    /// The request it was prepared from.
    var request: LoadRequest { get }
}

/// One resident session of the engine.
public protocol BackendSession: AnyObject {
    /// Static description: model, press, ratio, token counts, bytes (state/asks/times are the store's).
    var info: SessionInfo { get }
    /// What loading it cost (prefill and compression times; zero for a restored session).
    var loadMetrics: Metrics { get }
    /// Starts answering a question; `InferenceBackend.step` advances it, streaming tokens through
    /// `onToken`. The session's context is never changed, so many asks may run on it at once. Worker.
    /// - Throws: what makes the ask impossible (an empty question, bad sampling, no room left).
    func startAsk(_ request: AskRequest, defaultMaxNewTokens: Int, shouldStop: @escaping () -> StopReason?,
                  onToken: @escaping (AskToken) -> Void) throws -> BackendAsk
    /// The bytes of its snapshot file (what `save` writes; what the shared store holds). Worker.
    /// - Parameter info: as for `save`.
    func snapshot(info: SessionInfo) throws -> [UInt8]
    /// Writes the session atomically to `url`. Worker.
    /// - Parameter info: the store's view of it (ask counts, created and last-used times), saved so
    ///   that a restart still reports them (`SessionInfo.keepingStoreFigures(of:)`).
    /// - Returns: bytes written.
    func save(to url: URL, info: SessionInfo) throws -> Int
}

extension InferenceBackend {
    /// The store fingerprint of the served model named `model` (a session's `SessionInfo.model`),
    /// the default model's when no model has that name.
    func storeFingerprint(model: String) -> String {
        let i = models.firstIndex { $0.name == model } ?? 0
        return storeFingerprints[min(i, storeFingerprints.count - 1)]
    }
}

extension SessionInfo {
    /// This description with the figures the store keeps rather than the backend: the ask counts,
    /// the created and last-used times and the shared store's version (what a snapshot saves from `BackendSession.save`'s `info`).
    public func keepingStoreFigures(of store: SessionInfo) -> SessionInfo {
        var i = self
        i.asks = store.asks
        i.failedAsks = store.failedAsks
        i.createdUnix = store.createdUnix
        i.lastUsedUnix = store.lastUsedUnix
        i.storeVersion = store.storeVersion
        i.sharedUnix = store.sharedUnix
        return i
    }
}

/// A question being answered, advanced by `InferenceBackend.step`.
public protocol BackendAsk: AnyObject {
    /// Whether it has ended (answered, stopped or failed).
    var isFinished: Bool { get }
    /// Rows it adds to the next step (its question prompt's tokens, then 1).
    var nextRows: Int { get }
    /// Tokens generated so far.
    var generatedTokens: Int { get }
    /// The answer, once finished; its `finishReason` is `cancelled`/`deadline` when `shouldStop` stopped it.
    /// - Throws: what failed the ask.
    func result() throws -> AskResult
}
