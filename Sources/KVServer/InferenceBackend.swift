import KVWire
import Foundation

/// What the server layers need from the inference engine.
///
/// The transport, dispatcher and scheduler never call the model: they go through this. The
/// daemon uses `EngineBackend` (KVEngine sessions on a real model); protocol tests may use a
/// fake. Methods marked "worker" run only on the scheduler's thread.
public protocol InferenceBackend: AnyObject {
    /// Models served (the first is the default).
    var models: [ModelInfo] { get }
    /// The press catalog.
    var presses: [PressInfo] { get }
    /// Checks a session id (`[A-Za-z0-9._-]{1,64}`, not `.`/`..`). Throws an error that maps to INVALID_ARGUMENT.
    func validateSessionID(_ id: String) throws
    /// Checks a load's press spec, model and storage before queueing it (fast; loop thread).
    func validate(_ request: LoadRequest) throws
    /// Checks an ask's decoding-compression spec before queueing it (fast; loop thread).
    func validate(_ request: AskRequest) throws
    /// The KV bytes a load of `request` will keep, from its real token count (for the memory
    /// budget, before anything is evicted). Worker: it tokenizes, which is cheap next to a prefill.
    /// - Throws: what makes the load impossible whatever is evicted (a document longer than the
    ///   context window, an empty one).
    func requiredBytes(_ request: LoadRequest) throws -> Int
    /// Prefills and compresses a document. Worker.
    func load(_ request: LoadRequest, shouldStop: @escaping () -> StopReason?) throws -> BackendSession
    /// Reads a session saved with `BackendSession.save`. Worker.
    /// - Throws: `PersistenceError` for a corrupt file or one made with a different model.
    func restore(session: String, from url: URL) throws -> BackendSession
    /// The metadata of a saved session, without reading its cache.
    func savedInfo(at url: URL) throws -> SessionInfo
}

/// One resident session of the engine.
public protocol BackendSession: AnyObject {
    /// Static description: model, press, ratio, token counts, bytes (state/asks/times are the store's).
    var info: SessionInfo { get }
    /// What loading it cost (prefill and compression times; zero for a restored session).
    var loadTimings: Timings { get }
    /// Answers a question, streaming tokens, then rolls the cache back. Worker.
    /// - Returns: the answer; its `finishReason` is `cancelled`/`deadline` when `shouldStop` stopped it.
    func ask(_ request: AskRequest, defaultMaxNewTokens: Int, shouldStop: @escaping () -> StopReason?,
             onToken: @escaping (AskToken) -> Void) throws -> AskResult
    /// Writes the session atomically to `url`. Worker.
    /// - Parameter info: the store's view of it (asks, created and last-used times), saved so that a
    ///   restart still reports them.
    /// - Returns: bytes written.
    func save(to url: URL, info: SessionInfo) throws -> Int
}
