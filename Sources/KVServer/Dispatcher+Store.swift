import Foundation
import KVSystem

/// A session fetched from the shared store, taken in by the first run of the job that needs it
/// (a job that waits for room runs again, and must not write the snapshot twice).
final class FetchedSession: @unchecked Sendable {
    let id: String
    let version: UInt64
    let sharedUnix: Double
    /// Fetch time and bytes (the ask's `store_ms` and `store_bytes`).
    let ms: Double
    let bytes: Int
    private let snapshot: Locked<[UInt8]?>

    init(id: String, snapshot: [UInt8], version: UInt64, sharedUnix: Double, ms: Double, bytes: Int) {
        self.id = id
        self.version = version
        self.sharedUnix = sharedUnix
        self.ms = ms
        self.bytes = bytes
        self.snapshot = Locked(snapshot)
    }

    /// Writes it to the state directory and registers it, the first time. Worker.
    func adoptOnce(into store: SessionStore) throws {
        var bytes: [UInt8]?
        snapshot.update { bytes = $0; $0 = nil }
        guard let bytes else { return }
        try store.adopt(id, snapshot: bytes, version: version, sharedUnix: sharedUnix, fetchMs: ms)
    }
}

/// The requests that go through the shared store (`kvd --store`): asks and restores of sessions
/// another replica published, drops that reach every replica, publishing after loads, listing,
/// and the other replicas' events.
///
/// Store round trips run on `SharedSessions`' lanes; their results come back to the loop thread,
/// and whatever touches a session or the state directory runs as a worker job, as everywhere.
extension Dispatcher {
    private var shared: SharedSessions { server.shared! }

    /// Checks `id` with the store and calls `then` on the loop thread: with the fetched session
    /// when the store holds a version this replica does not, nil when this replica's copy is
    /// current (or the store is unreachable and a copy is here: it is served). Answers NOT_FOUND
    /// when the store does not hold it (forgetting a copy another replica dropped), UNAVAILABLE
    /// when neither holds it reachably.
    func resolveWithStore(_ id: String, _ request: Request, _ client: ClientConnection,
                          then: @escaping (FetchedSession?) throws -> Void) {
        let known = store.storeVersion(id)
        // A held copy is served at once while the store is known to be down: an ask must not
        // wait for a connect timeout (the reader probes the store in the background).
        if known != nil, let why = shared.unreachableReason {
            do { try then(nil) } catch { fail(client, request.id, error, session: id) }
            server.log(.debug, "serving session \(id) as held here: store unreachable (\(why))")
            return
        }
        shared.resolve(id: id, fingerprints: backend.storeFingerprints, known: known) { result in
            self.server.loop.execute {
                do {
                    switch result {
                    case .success(.current):
                        try then(nil)
                    case .success(.fetched(let snapshot, let version, let sharedUnix, let ms, let bytes)):
                        try then(FetchedSession(id: id, snapshot: snapshot, version: version, sharedUnix: sharedUnix, ms: ms, bytes: bytes))
                    case .success(.gone(let dropped)):
                        guard known != nil else { throw ServerError.unknownSession(id) }
                        if dropped {
                            self.forgetCopy(id, reason: "dropped from the shared store")
                            throw ServerError.unknownSession(id)
                        }
                        // The store lost it (restarted without persistence, or evicted it): the
                        // copy here is served and published again.
                        self.server.log(.warning, "the shared store lost session \(id); publishing this replica's copy again")
                        self.store.markUnshared(id)
                        self.publishWaiting(id)
                        try then(nil)
                    case .failure(let error as StoreError):
                        guard case .unreachable(let why) = error else { throw error }
                        guard known != nil else { throw ServerError.storeUnreachable(session: id, reason: why) }
                        self.server.log(.warning, "serving session \(id) as held here: \(error)")
                        try then(nil)
                    case .failure(let error):
                        throw error
                    }
                } catch {
                    self.fail(client, request.id, error, session: id)
                }
            }
        }
    }

    /// Publishes a just-loaded session (worker: its snapshot is serialized here, sent on the
    /// writer lane). `completion` runs on the writer lane.
    func publish(_ id: String, generation: Int, session: BackendSession, info: SessionInfo,
                 completion: @escaping (Result<SharedSessions.Published, Error>) -> Void) {
        let snapshot: [UInt8]
        do { snapshot = try session.snapshot(info: info) } catch {
            server.log(.error, "cannot serialize session \(id) to publish it: \(error)")
            completion(.failure(error))
            return
        }
        send(id, generation: generation, snapshot: snapshot, info: info, completion: completion)
    }

    /// Publishes a session that waited for the store (or that a previous run left unpublished).
    func publishWaiting(_ id: String) {
        try? server.scheduler.submit(Scheduler.Job(label: "publish \(id)") {
            do {
                guard let (snapshot, info, generation) = try self.store.snapshotForPublishing(id) else { return }
                self.send(id, generation: generation, snapshot: snapshot, info: info) { _ in }
            } catch {
                self.server.log(.error, "cannot publish session \(id): \(error)")
            }
        })
    }

    private func send(_ id: String, generation: Int, snapshot: [UInt8], info: SessionInfo,
                      completion: @escaping (Result<SharedSessions.Published, Error>) -> Void) {
        let store = self.store, telemetry = server.telemetry, server = self.server
        shared.publish(id: id, fingerprint: backend.storeFingerprint(model: info.model), snapshot: snapshot, info: info) { result in
            var row = TelemetryRow(event: .publish)
            row.describe(info)
            switch result {
            case .success(let p):
                store.markShared(id, generation: generation, version: p.version, at: p.visibleUnix)
                row.metrics.storeMs = p.ms
                row.metrics.storeBytes = p.bytes
                row.detail = "version \(p.version)"
                server.log(.info, "published session \(id) as version \(p.version) (\(p.bytes) bytes in \(Int(p.ms)) ms)")
            case .failure(let error):
                row.event = .error
                row.errorCode = ErrorCodes.wireError(error).code.description
                row.detail = "not published, waits for the store: \(error)"
                server.log(.warning, "session \(id) waits to be published: \(error)")
            }
            telemetry.record(row)
            completion(result)
        }
    }

    /// Drops `id` here (after any load of it) and in the store, which tells the other replicas.
    /// Answers once the store has it (or, unreachable, once it is dropped here and the store's
    /// drop waits for the store; a session held nowhere reachable is UNAVAILABLE).
    func dropEverywhere(_ id: String, _ request: Request, _ client: ClientConnection) {
        do {
            try submit(request, client, label: "drop \(id)") { _ in
                let here = self.store.drop(id)
                self.shared.drop(id: id, fingerprints: self.backend.storeFingerprints) { result in
                    switch result {
                    case .success(let there):
                        guard here || there else {
                            self.server.loop.execute { self.fail(client, request.id, ServerError.unknownSession(id), session: id) }
                            return
                        }
                        self.reply(client, Response(id: request.id, .drop(dropped: true)))
                    case .failure(let error):
                        guard here else {
                            let why = (error as? StoreError).map { "\($0)" } ?? "\(error)"
                            self.server.loop.execute {
                                self.fail(client, request.id, ServerError.storeUnreachable(session: id, reason: why), session: id)
                            }
                            return
                        }
                        self.server.log(.warning, "session \(id) dropped here; the store's drop waits for it: \(error)")
                        self.reply(client, Response(id: request.id, .drop(dropped: true)))
                    }
                }
            }
        } catch {
            // submit answered it.
        }
    }

    /// `sessions` with the store: this replica's sessions, then those only the store holds
    /// (state `shared`). With the store unreachable, this replica's alone.
    func listWithStore(_ requestID: UInt64, _ client: ClientConnection) {
        shared.list(fingerprints: backend.storeFingerprints) { result in
            self.server.loop.execute {
                var here = self.store.list()
                if case .success(let there) = result {
                    let ids = Set(here.map(\.session))
                    here += there.filter { !ids.contains($0.session) }
                    here.sort { $0.session < $1.session }
                }
                client.send(Response(id: requestID, .sessions(here)))
            }
        }
    }

    /// `info` of a session this replica does not hold: the store's description.
    func describeFromStore(_ id: String, _ requestID: UInt64, _ client: ClientConnection) {
        shared.describe(id: id, fingerprints: backend.storeFingerprints) { result in
            self.server.loop.execute {
                switch result {
                case .success(let info?): client.send(Response(id: requestID, .info(info)))
                case .success(nil): self.fail(client, requestID, ServerError.unknownSession(id), session: id)
                case .failure(let error as StoreError):
                    if case .unreachable(let why) = error {
                        self.fail(client, requestID, ServerError.storeUnreachable(session: id, reason: why), session: id)
                    } else {
                        self.fail(client, requestID, error, session: id)
                    }
                case .failure(let error): self.fail(client, requestID, error, session: id)
                }
            }
        }
    }

    /// Another replica published or dropped a session: a copy of another version held here is
    /// forgotten (the next ask fetches the new one). Loop thread.
    func storeEvent(_ event: StoreEvent) {
        guard let version = store.storeVersion(event.session), version != 0 else { return }
        if event.kind == .publish && version == event.version { return }
        forgetCopy(event.session, keep: event.kind == .publish ? event.version : nil,
                   reason: event.kind == .drop ? "dropped by \(event.origin)" : "replaced by \(event.origin) (version \(event.version))")
    }

    /// Forgets this replica's copy of a shared session, as a worker job (in order with the jobs
    /// already queued for it).
    private func forgetCopy(_ id: String, keep: UInt64? = nil, reason: String) {
        try? server.scheduler.submit(Scheduler.Job(label: "forget \(id)") {
            self.store.forgetSharedCopy(id, keep: keep, reason: reason)
        })
    }
}
