import KVWire
/// Why the daemon refused or could not finish a request (failures of the server layer itself;
/// the engine's and press's errors keep their own types). `ErrorCodes` maps them to wire codes.
public enum ServerError: Error, Equatable, CustomStringConvertible {
    /// No session of that id, in memory or on disk.
    case unknownSession(String)
    /// A session of that id exists and the load did not ask to replace it.
    case sessionExists(String)
    /// The load named a model the daemon does not serve.
    case unknownModel(String, available: [String])
    /// `kv_storage` is not `f16` or `f32`.
    case invalidKVStorage(String)
    /// The daemon is shutting down.
    case stopping
    /// The session alone needs more memory than the whole budget.
    case overBudget(needed: Int, budget: Int)
    /// A saved session needs more memory than the whole budget (it was saved under a larger one).
    case restoreOverBudget(session: String, needed: Int, budget: Int)
    /// The room needed is held by sessions that cannot be saved (so cannot be evicted).
    case noRoom(needed: Int, budget: Int, unsaved: [String])
    /// Too many jobs are waiting.
    case queueFull(limit: Int)
    /// A request reused the id of one still in flight on the connection.
    case duplicateRequestID(UInt64)
    /// The work was cancelled (by `Cancel`, a disconnect, or shutdown).
    case cancelled(StopReason, generatedTokens: Int)
    /// A load stopped (cancel, deadline, disconnect or shutdown) before its session was made.
    case loadStopped(StopReason)
    /// The request's deadline passed.
    case deadlineExceeded(generatedTokens: Int)
    /// The peer's uid/gid may not use the daemon.
    case permissionDenied(uid: UInt32, gid: UInt32)
    /// A session this replica does not hold, while the shared store cannot be reached.
    case storeUnreachable(session: String, reason: String)
    /// A `load --shared` loaded here but could not be published.
    case notShared(session: String, reason: String)

    public var description: String {
        switch self {
        case .unknownSession(let id):
            return "no session '\(id)'; load it first (kvctl load \(id) FILE) or list sessions with kvctl sessions"
        case .sessionExists(let id):
            return "session '\(id)' already exists; pass replace (kvctl load --replace) or drop it first"
        case .unknownModel(let name, let available):
            return "no model '\(name)'; this daemon serves: \(available.joined(separator: ", "))"
        case .invalidKVStorage(let s):
            return "invalid kv_storage '\(s)'; use f16 or f32"
        case .stopping:
            return "kvd is stopping; retry when it is back (systemctl status kvd)"
        case .overBudget(let needed, let budget):
            return "the session needs \(needed) bytes of KV cache but the memory budget is \(budget) bytes; compress more (a higher ratio), load a shorter document, or raise memory_budget"
        case .restoreOverBudget(let session, let needed, let budget):
            return "session '\(session)' needs \(needed) bytes of KV cache but the memory budget is \(budget) bytes, so it cannot be restored; raise memory_budget to at least \(needed) bytes, or drop the session"
        case .noRoom(let needed, let budget, let unsaved):
            let names = unsaved.map { "'\($0)'" }.joined(separator: ", ")
            let who = unsaved.isEmpty ? "resident sessions" : unsaved.count == 1 ? "session \(names)" : "sessions \(names)"
            return "no room for \(needed) bytes of KV cache under the memory budget of \(budget) bytes: \(who) could not be saved to the state directory to make room (see kvd's log); free space there, drop sessions, or raise memory_budget"
        case .queueFull(let limit):
            return "\(limit) jobs are already waiting; retry later"
        case .duplicateRequestID(let id):
            return "request id \(id) is already in flight on this connection; use a new id per request"
        case .cancelled(let why, let n):
            switch why {
            case .disconnected: return "the client disconnected; stopped after \(n) tokens"
            case .shutdown: return "kvd is stopping; stopped after \(n) tokens"
            default: return "cancelled after \(n) generated tokens"
            }
        case .loadStopped(let why):
            switch why {
            case .deadline: return "the load's deadline passed before the document was prefilled and compressed; nothing was kept; raise deadline_ms or load a shorter document"
            case .disconnected: return "the client disconnected; the load stopped and nothing was kept"
            case .shutdown: return "kvd is stopping; the load stopped and nothing was kept"
            case .cancelled: return "the load was cancelled; nothing was kept"
            }
        case .deadlineExceeded(let n):
            return "the request's deadline passed after \(n) generated tokens; raise deadline_ms or lower max_new_tokens"
        case .permissionDenied(let uid, let gid):
            return "uid \(uid) / gid \(gid) may not use this kvd; add it to allow_uids or allow_gids in kvd.conf"
        case .storeUnreachable(let id, let reason):
            return "session '\(id)' is not on this replica and the shared store is unreachable (\(reason)); try again when it answers, or load the document here"
        case .notShared(let id, let reason):
            return "session '\(id)' is loaded on this replica but not shared: \(reason); it is published when the store answers again"
        }
    }
}
