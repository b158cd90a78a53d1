import Foundation
import KVSystem
@_exported import KVWire
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// kvd's server: connections, dispatcher, scheduler and session store, wired together.
///
/// Independent of the transport: the daemon feeds it libuv connections, tests feed it
/// `InMemoryTransport`s with an `EmbeddedLoop`. All methods run on the loop thread.
public final class Server {
    /// The daemon's version, as `health` reports it.
    public static let version = "0.1.0"

    public let configuration: ServerConfiguration
    public let backend: InferenceBackend
    public let store: SessionStore
    public let scheduler: Scheduler
    public let telemetry: TelemetryCSV
    /// The shared session store (`store` in kvd.conf); nil = sessions live on this machine only.
    public private(set) var shared: SharedSessions?
    let loop: LoopExecutor
    var logger: Logger
    private(set) lazy var dispatcher = Dispatcher(server: self)
    private var connections: [Int: ClientConnection] = [:]
    private var nextConnectionID = 1
    private let counters = Counters()
    private let started = ContinuousClock.now
    /// Set once shutdown has begun: new work is refused with UNAVAILABLE.
    public private(set) var isStopping = false

    /// - Parameters:
    ///   - loop: where results come back (the libuv loop, or an `EmbeddedLoop` in tests).
    public init(configuration: ServerConfiguration, backend: InferenceBackend, loop: LoopExecutor, logger: Logger) throws {
        self.configuration = configuration
        self.backend = backend
        self.loop = loop
        self.logger = logger
        for dir in [configuration.stateDirectory, configuration.telemetryDirectory] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o750])
        }
        telemetry = TelemetryCSV(directory: URL(fileURLWithPath: configuration.telemetryDirectory))
        let log = logger
        store = SessionStore(backend: backend, stateDirectory: URL(fileURLWithPath: configuration.stateDirectory),
                             memoryBudget: configuration.memoryBudget, telemetry: telemetry,
                             log: { level, message in log.log(level: level, "\(message)") })
        scheduler = Scheduler(backend: backend, maxQueue: configuration.maxQueue, maxBatch: configuration.maxBatch)
        store.scanStateDirectory()
        var row = TelemetryRow(event: .start)
        row.model = backend.models.first?.name ?? ""
        row.detail = "sessions on disk: \(store.totals().saved)"
        telemetry.record(row)
        if let url = try configuration.storeWithPassword() { connectStore(url) }
    }

    private func connectStore(_ url: StoreURL) {
        let loop = self.loop
        let shared = SharedSessions(url: url, prefix: configuration.storePrefix) { [weak self] event in
            guard let server = self else { return }
            loop.execute { server.dispatcher.storeEvent(event) }
        }
        shared.retryPublish = { [weak self] id in
            guard let server = self else { return }
            loop.execute { server.dispatcher.publishWaiting(id) }
        }
        self.shared = shared
        logger.info("sharing sessions through \(url) under prefix \(configuration.storePrefix)")
        // What this replica holds and the store does not (a previous run's, or loaded while
        // the store was down) is published now, in the background.
        let unshared = store.unsharedIDs()
        loop.execute { [weak self] in for id in unshared { self?.dispatcher.publishWaiting(id) } }
    }

    /// `health`'s status: `serving`, `stopping`, or `degraded: store unreachable (…)`.
    var status: String {
        if isStopping { return "stopping" }
        if let why = shared?.unreachableReason { return "degraded: store unreachable (\(why))" }
        return "serving"
    }

    /// Accepts a connection. A peer the configuration does not allow gets PERMISSION_DENIED and is closed.
    /// - Returns: the connection's protocol state, or nil when refused.
    @discardableResult
    public func accept(_ transport: Transport, peer: PeerCredentials?) -> ClientConnection? {
        let id = nextConnectionID
        nextConnectionID += 1
        let client = ClientConnection(id: id, transport: transport, peer: peer, maxFrameSize: configuration.maxFrame,
                                      maxOutput: configuration.maxOutput, server: self)
        guard configuration.allows(peer, ownUID: getuid()) else {
            let error = ServerError.permissionDenied(uid: peer?.uid ?? UInt32.max, gid: peer?.gid ?? UInt32.max)
            logger.warning("refused connection from pid \(peer?.pid ?? -1): \(error)")
            client.send(Response(id: 0, .error(ErrorCodes.wireError(error))))
            transport.close()
            return nil
        }
        guard !isStopping else {
            client.send(Response(id: 0, .error(ErrorCodes.wireError(ServerError.stopping))))
            transport.close()
            return nil
        }
        connections[id] = client
        logger.debug("connection \(id) from pid \(peer?.pid ?? -1) uid \(peer?.uid ?? 0)")
        return client
    }

    func connectionClosed(_ client: ClientConnection) {
        connections[client.id] = nil
        logger.debug("connection \(client.id) closed")
    }

    func log(_ level: Logger.Level, _ message: String) {
        logger.log(level: level, "\(message)")
    }

    /// Counts a frame received, well-formed or not (`stats.requests`).
    func countRequest() { counters.add(requests: 1) }
    /// Counts an error response sent (`stats.errors`; a malformed frame is one of each).
    func countError() { counters.add(errors: 1) }

    /// Daemon-wide counters for `stats`.
    public func stats() -> DaemonStats {
        var s = DaemonStats()
        let t = store.totals()
        s.sessionsResident = UInt32(t.resident)
        s.sessionsSaved = UInt32(t.saved)
        s.kvBytes = UInt64(t.kvBytes)
        s.memoryBudgetBytes = UInt64(configuration.memoryBudget)
        s.rssBytes = UInt64(ResourceUsage.rssBytes)
        s.peakRssBytes = UInt64(ResourceUsage.peakRSSBytes)
        let c = counters.snapshot()
        s.requests = c.requests
        s.errors = c.errors
        s.connections = UInt32(connections.count)
        s.queueDepth = UInt32(scheduler.depth)
        s.uptimeS = started.secondsElapsed
        let b = scheduler.batching
        s.steps = UInt64(b.steps)
        s.meanBatchSize = b.meanBatchSize
        s.generatedTokens = UInt64(b.tokens)
        let worker = scheduler.workerTime
        s.jobS = worker.jobs
        s.promptStepS = worker.promptSteps
        s.decodeStepS = worker.decodeSteps
        s.stepAttentionS = worker.stepAttention
        s.telemetryDir = configuration.telemetryDirectory
        s.stateDir = configuration.stateDirectory
        if let shared {
            let c = shared.health.snapshot
            s.store = "\(shared.url) prefix \(shared.prefix)"
            s.storeHits = c.hits
            s.storeMisses = c.misses
            s.storeBytesIn = c.bytesIn
            s.storeBytesOut = c.bytesOut
            s.storeErrors = c.errors
            s.storePending = UInt32(shared.pendingCount)
        }
        return s
    }

    /// Begins a clean shutdown: refuses new work, stops answers in progress, lets queued jobs
    /// answer, saves every resident session, then calls `completion` on the loop thread.
    public func shutdown(completion: @escaping () -> Void) {
        guard !isStopping else { return }
        isStopping = true
        logger.info("stopping: saving sessions")
        for client in connections.values {
            for token in client.inFlight.values { token.cancel(.shutdown) }
        }
        let store = self.store, telemetry = self.telemetry, loop = self.loop
        let shared = self.shared
        scheduler.drain(then: Scheduler.Job(label: "save all") {
            store.saveAll()
            // Queued publishes and drops go out first; what waits for an unreachable store is
            // published at the next start (the sessions are saved here).
            shared?.stop()
            telemetry.record(TelemetryRow(event: .stop))
            loop.execute { [weak self] in
                self?.closeAllConnections()
                completion()
            }
        })
    }

    /// Closes every connection (after shutdown).
    public func closeAllConnections() {
        for client in connections.values { client.closeFromServer() }
        connections.removeAll()
    }
}

/// Request and error counts (touched from the loop; read by `stats`).
final class Counters: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: UInt64 = 0
    private var errors: UInt64 = 0

    func add(requests r: UInt64 = 0, errors e: UInt64 = 0) {
        lock.withLock {
            requests += r
            errors += e
        }
    }

    func snapshot() -> (requests: UInt64, errors: UInt64) { lock.withLock { (requests, errors) } }
}
