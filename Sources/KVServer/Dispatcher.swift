import KVWire
import Foundation
import KVSystem

/// Turns each request into its answer.
///
/// Catalog and metadata requests (`health`, `presses`, `models`, `stats`, `sessions`, `info`,
/// `cancel`) are answered at once on the loop thread. Requests that touch a cache (`load`, `ask`,
/// `save`, `restore`, `drop`) are checked here (session id, press, model: cheap errors come back
/// immediately; a load's specs are decoded once, by `InferenceBackend.prepare`, into the job) and
/// then queued on the scheduler; their results come back through the loop.
///
/// Queued jobs keep their order: a `drop`, `save` or `restore` sent while a load of its session is
/// queued or running waits for that load and acts on what it loaded, whether the load is the
/// session's first or a replacing one (NOT_FOUND only if the session still does not exist then).
/// Asks are the exception: they start between a load's layers, on the session as it is.
final class Dispatcher {
    unowned let server: Server
    /// Loads queued or running, by session (loop thread only).
    var pendingLoads: [String: Int] = [:]

    init(server: Server) {
        self.server = server
    }

    var store: SessionStore { server.store }
    var backend: InferenceBackend { server.backend }

    func handle(_ request: Request, from client: ClientConnection) {
        let id = request.id
        do {
            switch request.operation {
            case .health:
                client.send(Response(id: id, .health(status: server.status, version: Server.version)))
            case .presses:
                client.send(Response(id: id, .presses(backend.presses)))
            case .models:
                client.send(Response(id: id, .models(backend.models)))
            case .stats:
                client.send(Response(id: id, .stats(server.stats())))
            case .sessions:
                if server.shared != nil { listWithStore(id, client); return }
                client.send(Response(id: id, .sessions(store.list())))
            case .info(let s):
                _ = try SessionID(s)
                if server.shared != nil && !store.contains(s) { describeFromStore(s, id, client); return }
                client.send(Response(id: id, .info(try store.info(s))))
            case .cancel(let target):
                let token = client.token(for: target)
                token?.cancel(.cancelled)
                client.send(Response(id: id, .cancel(cancelled: token != nil)))
            case .load(let r):
                try refuseIfStopping()
                _ = try SessionID(r.session)
                let prepared = try backend.prepare(r)
                if !r.replace && store.contains(r.session) { throw store.damage(r.session) ?? ServerError.sessionExists(r.session) }
                let session = r.session, sizing = LoadSizing()
                pendingLoads[session, default: 0] += 1
                try submit(request, client, label: "load \(session)", ended: { self.loadEnded(session) }) { token in
                    try self.load(prepared, id, client, token, sizing)
                }
            case .ask(let r):
                try refuseIfStopping()
                _ = try SessionID(r.session)
                try backend.validate(r)
                let arrived = ContinuousClock.now
                let ask = { (fetched: FetchedSession?) in
                    try self.submit(request, client, label: "ask \(r.session)", startsAsk: true) { token in
                        try fetched?.adoptOnce(into: self.store)
                        try self.startAsk(r, id, client, token, arrived: arrived, fetched: fetched)
                    }
                }
                // A session shared or not held here is checked with the store first (one read),
                // and fetched when the store holds a version this replica does not.
                if server.shared != nil && store.storeVersion(r.session) != 0 && pendingLoads[r.session] == nil {
                    resolveWithStore(r.session, request, client, then: ask)
                    return
                }
                guard store.contains(r.session) else { throw ServerError.unknownSession(r.session) }
                try ask(nil)
            case .save(let s):
                try refuseIfStopping()
                _ = try SessionID(s)
                try requireSessionOrItsLoad(s)
                try submit(request, client, label: "save \(s)") { _ in
                    let (url, bytes) = try self.store.save(s)
                    self.reply(client, Response(id: id, .save(path: url.path, bytes: UInt64(bytes))))
                }
            case .restore(let s):
                try refuseIfStopping()
                _ = try SessionID(s)
                let restore = { (fetched: FetchedSession?) in
                    try self.submit(request, client, label: "restore \(s)") { _ in
                        try fetched?.adoptOnce(into: self.store)
                        _ = try self.store.resident(s)
                        self.reply(client, Response(id: id, .restore(try self.store.info(s))))
                    }
                }
                if server.shared != nil && store.storeVersion(s) != 0 && pendingLoads[s] == nil {
                    resolveWithStore(s, request, client, then: restore)
                    return
                }
                try requireSessionOrItsLoad(s)
                try restore(nil)
            case .drop(let s):
                try refuseIfStopping()
                _ = try SessionID(s)
                if server.shared != nil { dropEverywhere(s, request, client); return }
                try requireSessionOrItsLoad(s)
                try submit(request, client, label: "drop \(s)") { _ in
                    // The load it waited for may have failed.
                    guard self.store.contains(s) else { throw ServerError.unknownSession(s) }
                    let dropped = self.store.drop(s)
                    self.reply(client, Response(id: id, .drop(dropped: dropped)))
                }
            }
        } catch {
            fail(client, id, error, session: sessionOf(request))
        }
    }

    func refuseIfStopping() throws {
        if server.isStopping { throw ServerError.stopping }
    }

    /// NOT_FOUND unless the session exists or a load of it is queued or running (then the request,
    /// queued after that load, acts on what it loads).
    private func requireSessionOrItsLoad(_ s: String) throws {
        guard store.contains(s) || pendingLoads[s] != nil else { throw ServerError.unknownSession(s) }
    }

    private func loadEnded(_ session: String) {
        let n = (pendingLoads[session] ?? 1) - 1
        pendingLoads[session] = n > 0 ? n : nil
    }

    /// Queues work for the worker; any error it throws is answered and recorded. `ended` runs on
    /// the loop thread once the job has run (or could not be queued), after its answer was posted.
    func submit(_ request: Request, _ client: ClientConnection, label: String, startsAsk: Bool = false,
                        ended: (@Sendable () -> Void)? = nil, _ work: @escaping (CancelToken) throws -> Void) throws {
        let token = CancelToken(deadlineMs: request.deadlineMs)
        let session = sessionOf(request)
        client.track(request.id, token)
        do {
            let scheduler = server.scheduler
            try scheduler.submit(Scheduler.Job(label: label, startsAsk: startsAsk, isStopped: { token.stopReason != nil }) {
                do {
                    if let why = token.stopReason {
                        if case .load = request.operation { throw ServerError.loadStopped(why) }
                        throw why == .deadline ? ServerError.deadlineExceeded(generatedTokens: 0) : ServerError.cancelled(why, generatedTokens: 0)
                    }
                    try work(token)
                } catch let wait as SessionStore.MustWaitForRoom {
                    // Busy sessions hold the room: run again when an ask ends (never over the budget).
                    self.server.log(.debug, "\(label) waits for \(wait.needed) bytes of room (asks in flight hold it)")
                    scheduler.waitForRoom()
                    return  // not ended: the job runs again
                } catch {
                    self.server.loop.execute { self.fail(client, request.id, error, session: session) }
                }
                if let ended { self.server.loop.execute(ended) }
            })
        } catch {
            ended?()
            client.send(Response(id: request.id, .error(ErrorCodes.wireError(error))))
            throw SubmitFailed()
        }
    }

    private struct SubmitFailed: Error {}

    /// Posts a response to the loop thread (from the worker).
    func reply(_ client: ClientConnection, _ response: Response) {
        server.loop.execute { client.send(response) }
    }

    func fail(_ client: ClientConnection, _ id: UInt64, _ error: Error, session: String?) {
        if error is SubmitFailed { return }
        let wire = ErrorCodes.wireError(error)
        client.send(Response(id: id, .error(wire)))
        var row = TelemetryRow(event: .error, session: session ?? "")
        row.errorCode = wire.code.description
        row.detail = wire.message
        // Only sessions that exist get a file; other errors go to the daemon-wide CSV.
        row.daemonOnly = session.map { !store.contains($0) } ?? true
        server.telemetry.record(row)
        server.log(.info, "request \(id) on connection \(client.id): \(wire)")
    }

    private func sessionOf(_ request: Request) -> String? {
        switch request.operation {
        case .load(let r): return r.session
        case .ask(let r): return r.session
        case .info(let s), .drop(let s), .save(let s), .restore(let s): return s
        default: return nil
        }
    }

    // MARK: Worker jobs

    /// What a load's job keeps between its runs when it waits for room.
    private final class LoadSizing {
        /// When the job first ran (its `request_ms` counts the wait).
        var started: ContinuousClock.Instant?
        /// The bytes it was sized for (the document is tokenized once).
        var bytes: Int?
    }

    private func load(_ prepared: BackendLoad, _ id: UInt64, _ client: ClientConnection, _ token: CancelToken,
                      _ sizing: LoadSizing) throws {
        let r = prepared.request
        let arrived = sizing.started ?? .now
        sizing.started = arrived
        if !r.replace && store.contains(r.session) { throw store.damage(r.session) ?? ServerError.sessionExists(r.session) }
        // Sized from the real token count first: nothing is evicted for a load that cannot fit, and
        // one that busy sessions keep out waits (MustWaitForRoom) until their asks end.
        let needed = try sizing.bytes ?? backend.requiredBytes(prepared)
        sizing.bytes = needed
        try store.reserveRoom(for: needed, except: r.session)
        var reserved = needed
        defer { if reserved > 0 { store.releaseReservation(reserved) } }
        let scheduler = server.scheduler
        let session = try backend.load(prepared, shouldStop: { token.stopReason }, betweenLayers: { scheduler.serveAsksDuringLoad() })
        // A cancel that came after the last check still wins: nothing is inserted.
        if let why = token.stopReason { throw ServerError.loadStopped(why) }
        store.releaseReservation(reserved)
        reserved = 0
        var generation = 0
        while true {
            do {
                generation = try store.insert(session, id: r.session, replace: r.replace)
                break
            } catch is SessionStore.MustWaitForRoom {
                // Larger than it was sized for, and sessions with asks in flight hold the rest:
                // step those asks (starting none, so they end) until the room frees up.
                if let why = token.stopReason { throw ServerError.loadStopped(why) }
                guard scheduler.stepActiveAsks() else {
                    throw ServerError.noRoom(needed: Int(session.info.kvBytes), budget: store.memoryBudget, unsaved: [])
                }
            }
        }
        let info = try store.info(r.session)
        var row = TelemetryRow(event: .load)
        row.describe(info)
        var metrics = session.loadMetrics
        metrics.peakRssBytes = ResourceUsage.peakRSSBytes
        metrics.requestMs = arrived.secondsElapsed * 1000
        row.metrics = metrics
        guard server.shared != nil else {
            server.telemetry.record(row)
            reply(client, Response(id: id, .load(LoadResult(session: info, metrics: metrics))))
            return
        }
        if r.shared {
            // The answer waits for the publish and says when the other replicas could see it.
            publish(r.session, generation: generation, session: session, info: info) { result in
                switch result {
                case .success(let published):
                    var info = info
                    info.storeVersion = published.version
                    info.sharedUnix = published.visibleUnix
                    row.metrics.storeMs = published.ms
                    row.metrics.storeBytes = published.bytes
                    row.metrics.requestMs = arrived.secondsElapsed * 1000
                    self.server.telemetry.record(row)
                    self.reply(client, Response(id: id, .load(LoadResult(session: info, metrics: row.metrics))))
                case .failure(let error):
                    self.server.telemetry.record(row)
                    self.server.loop.execute {
                        self.fail(client, id, ServerError.notShared(session: r.session, reason: "\(error)"), session: r.session)
                    }
                }
            }
        } else {
            server.telemetry.record(row)
            reply(client, Response(id: id, .load(LoadResult(session: info, metrics: metrics))))
            publish(r.session, generation: generation, session: session, info: info) { _ in }
        }
    }

    /// Starts an ask; the scheduler steps it with the others and answers when it ends.
    private func startAsk(_ r: AskRequest, _ id: UInt64, _ client: ClientConnection, _ token: CancelToken, arrived: ContinuousClock.Instant,
                          fetched: FetchedSession?) throws {
        let (session, _) = try store.resident(r.session)
        let loop = server.loop
        let stream = r.stream
        // Waiting for the worker counts as queueing too (the ask's own figure starts here).
        let waitedMs = arrived.secondsElapsed * 1000
        store.askStarted(r.session)
        let ask: BackendAsk
        do {
            ask = try session.startAsk(r, defaultMaxNewTokens: server.configuration.defaultMaxNewTokens,
                                       shouldStop: { token.stopReason }, onToken: { piece in
                if stream { loop.execute { client.send(Response(id: id, .token(piece))) } }
            })
        } catch {
            store.askEnded(r.session, answered: false)
            throw error
        }
        server.scheduler.add(ask) {
            let answer = Result { () throws -> AskResult in
                var result = try ask.result()
                result.metrics.queueMs += waitedMs
                result.metrics.storeMs = fetched?.ms ?? 0
                result.metrics.storeBytes = fetched?.bytes ?? 0
                return try self.finish(r, token, session: session, result: result, arrived: arrived)
            }
            // Counted before the answer is posted, so a client that reads its answer sees the count.
            self.store.askEnded(r.session, answered: (try? answer.get()) != nil)
            // Idle sessions go first if the store is over its budget (the scheduler then retries
            // the jobs that wait for room).
            self.store.evictWhileOverBudget()
            switch answer {
            case .success(let result): self.reply(client, Response(id: id, .ask(result)))
            case .failure(let error): loop.execute { self.fail(client, id, error, session: r.session) }
            }
        }
    }

    /// Records an ended ask; returns its answer, or throws its cancel or deadline error.
    private func finish(_ r: AskRequest, _ token: CancelToken, session: BackendSession, result: AskResult, arrived: ContinuousClock.Instant) throws -> AskResult {
        var result = result
        result.metrics.requestMs = arrived.secondsElapsed * 1000
        var row = TelemetryRow(event: .ask)
        row.describe(session.info)
        row.metrics = result.metrics
        row.decoding = r.decoding
        row.finishReason = result.finishReason
        server.telemetry.record(row)
        if let why = token.stopReason, [.cancelled, .deadline].contains(result.finishReason) {
            throw why == .deadline ? ServerError.deadlineExceeded(generatedTokens: result.tokenIDs.count)
                : ServerError.cancelled(why, generatedTokens: result.tokenIDs.count)
        }
        return result
    }
}
