import Foundation
import KVSystem
#if canImport(Glibc)
import Glibc
#endif

/// This replica's side of the shared session store: publishing and dropping (the writer lane),
/// fetches, lists and descriptions (the reader), the version check of every ask start (the
/// checker), the events subscriber, and the work that waits for an unreachable store.
///
/// Results come back on the lanes' threads; the dispatcher posts them to the loop. Nothing here
/// touches a session: the caller hands over snapshot bytes and gets bytes back.
public final class SharedSessions: @unchecked Sendable {
    public let url: StoreURL
    public let prefix: String
    let index: SharedIndex
    /// Names this replica in index entries and events (`host:pid:nonce`); its own events are ignored.
    let origin: String
    let health = StoreHealth()
    private let writer: StoreLane
    private let reader: StoreLane
    private let checker: StoreLane
    private var subscriber: StoreSubscriber?
    private let lock = NSLock()
    /// What waits for the store to come back, by session, oldest first (bounded).
    private var pending: [(id: String, work: PendingWork)] = []
    private var retryBackoff = 0.25
    private var nextRetry = Date.distantPast
    /// Sessions whose publish waits, at most (older waits are forgotten; their sessions stay here).
    static let maxPending = 10_000

    enum PendingWork: Equatable {
        case publish(fingerprint: String)
        case drop(fingerprints: [String])
    }

    /// Called on the writer lane when a publish that failed may be tried again: the server
    /// serializes the session anew and calls `publish` (the bytes are not kept while waiting).
    var retryPublish: ((String) -> Void)?

    /// - Parameter onEvent: another replica's publish or drop (on the subscriber's thread).
    init(url: StoreURL, prefix: String, timeout: Double = 5, onEvent: @escaping (StoreEvent) -> Void) {
        self.url = url
        self.prefix = prefix
        index = SharedIndex(prefix: prefix)
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let name = String(cString: host).filter { !$0.isWhitespace }
        origin = "\(name.isEmpty ? "host" : name):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        writer = StoreLane(name: "kvd-store-writer", url: url, timeout: timeout, health: health)
        reader = StoreLane(name: "kvd-store-reader", url: url, timeout: timeout, health: health)
        checker = StoreLane(name: "kvd-store-checker", url: url, timeout: timeout, health: health)
        let me = origin
        subscriber = StoreSubscriber(url: url, channel: index.channel, timeout: timeout) { event in
            if event.origin != me { onEvent(event) }
        }
        writer.setIdleHook(every: 0.25) { [weak self] in self?.retryPending() }
        // The reader pings the store whenever it idles for a second: health turns degraded
        // within a second of an outage (not at the next store request), and back when the store
        // answers again (while it is down, asks on held sessions skip their check).
        reader.setIdleHook(every: 1) { [reader] in
            _ = try? reader.withConnection { try $0.command(["PING"]) }
        }
        reader.enqueue { [reader] in _ = try? reader.withConnection { try $0.command(["PING"]) } }
    }

    /// Stops the lanes (after their queued jobs) and the subscriber.
    public func stop() {
        writer.stop()
        reader.stop()
        checker.stop()
        subscriber?.stop()
    }

    /// Why the store cannot be reached now, nil while it answers.
    public var unreachableReason: String? { health.unreachableReason }

    /// Publishes finished: the version the entry got, when it became visible, the time and bytes.
    struct Published {
        var version: UInt64
        var visibleUnix: Double
        var ms: Double
        var bytes: Int
    }

    /// Publishes a snapshot as session `id` (after what is queued on the writer).
    /// A failure leaves the session waiting for the store (`retryPublish`).
    func publish(id: String, fingerprint: String, snapshot: [UInt8], info: SessionInfo,
                 completion: @escaping (Result<Published, Error>) -> Void) {
        writer.enqueue { [self] in
            let start = ContinuousClock.now
            do {
                let (version, sent) = try writer.withConnection {
                    try index.publish($0, id: id, fingerprint: fingerprint, snapshot: snapshot, info: info, origin: origin)
                }
                forget(id)
                health.count { $0.bytesOut += UInt64(sent) }
                completion(.success(Published(version: version, visibleUnix: Date().timeIntervalSince1970,
                                              ms: start.secondsElapsed * 1000, bytes: sent)))
            } catch {
                health.count { $0.errors += 1 }
                wait(id, .publish(fingerprint: fingerprint))
                completion(.failure(error))
            }
        }
    }

    /// Deletes session `id`'s entry (for every fingerprint) and tells the other replicas.
    /// A store that cannot be reached keeps the drop waiting for it.
    /// - Returns (to `completion`): whether an entry existed.
    func drop(id: String, fingerprints: [String], completion: @escaping (Result<Bool, Error>) -> Void) {
        writer.enqueue { [self] in
            do {
                let existed = try writer.withConnection { c in
                    try fingerprints.reduce(false) { try index.drop(c, id: id, fingerprint: $1, origin: origin) || $0 }
                }
                forget(id)
                completion(.success(existed))
            } catch {
                health.count { $0.errors += 1 }
                wait(id, .drop(fingerprints: fingerprints))
                completion(.failure(error))
            }
        }
    }

    /// What `resolve` found for a session.
    enum Resolution {
        /// The store holds the version this replica has.
        case current
        /// A version this replica does not have, fetched and checked.
        case fetched(snapshot: [UInt8], version: UInt64, sharedUnix: Double, ms: Double, bytes: Int)
        /// No entry: `dropped` when a drop removed the version this replica holds (or a later
        /// one); else never shared, or lost by the store (restarted without persistence, evicted).
        case gone(dropped: Bool)
    }

    /// Checks session `id` against the store (one read) and fetches it when the store holds
    /// another version than `known` (nil: this replica has none).
    func resolve(id: String, fingerprints: [String], known: UInt64?, completion: @escaping (Result<Resolution, Error>) -> Void) {
        // The version read runs on the checker, the fetch on the reader: a large fetch never
        // holds up other asks' checks.
        checker.enqueue { [self] in
            let start = ContinuousClock.now
            do {
                let found: (fingerprint: String, version: UInt64)? = try checker.withConnection { c in
                    for fp in fingerprints {
                        if let v = try index.version(c, id: id, fingerprint: fp) { return (fp, v) }
                    }
                    return nil
                }
                guard let found else {
                    let dropped = try checker.withConnection { c in try wasDropped(c, id, fingerprints, known) }
                    health.count { $0.misses += 1 }
                    completion(.success(.gone(dropped: dropped)))
                    return
                }
                if found.version == known { completion(.success(.current)); return }
                reader.enqueue { [self] in
                    do {
                        let resolution: Resolution = try reader.withConnection { c in
                            let (fetched, received) = try index.fetch(c, id: id, fingerprint: found.fingerprint)
                            health.count { $0.bytesIn += UInt64(received) }
                            guard case .found(let snapshot, let entry, let v) = fetched else {
                                return .gone(dropped: try wasDropped(c, id, fingerprints, known))
                            }
                            return .fetched(snapshot: snapshot, version: v, sharedUnix: entry.publishedUnix,
                                            ms: start.secondsElapsed * 1000, bytes: received)
                        }
                        if case .fetched = resolution { health.count { $0.hits += 1 } } else { health.count { $0.misses += 1 } }
                        completion(.success(resolution))
                    } catch {
                        health.count { $0.errors += 1 }
                        completion(.failure(error))
                    }
                }
            } catch {
                health.count { $0.errors += 1 }
                completion(.failure(error))
            }
        }
    }

    /// Whether a drop removed the version `known` of `id` (or a later one); false when this
    /// replica holds no version.
    private func wasDropped(_ c: RedisConnection, _ id: String, _ fingerprints: [String], _ known: UInt64?) throws -> Bool {
        guard let known else { return false }
        return try fingerprints.contains { try index.wasDropped(c, id: id, fingerprint: $0, version: known) }
    }

    /// The sessions of `fingerprints` in the store, described by their publishers (at most
    /// `describeLimit` described; others by id only).
    func list(fingerprints: [String], completion: @escaping (Result<[SessionInfo], Error>) -> Void) {
        reader.enqueue { [self] in
            do {
                let infos = try reader.withConnection { c -> [SessionInfo] in
                    var out: [SessionInfo] = []
                    for fp in fingerprints {
                        for (n, id) in try index.list(c, fingerprint: fp).enumerated() {
                            var info = n < Self.describeLimit ? (try? index.entry(c, id: id, fingerprint: fp)).flatMap { $0 }.map {
                                var i = $0.0.info
                                i.storeVersion = $0.version
                                i.sharedUnix = $0.0.publishedUnix
                                return i
                            } ?? SessionInfo() : SessionInfo()
                            info.session = id
                            info.state = .shared
                            out.append(info)
                        }
                    }
                    return out
                }
                completion(.success(infos))
            } catch {
                health.count { $0.errors += 1 }
                completion(.failure(error))
            }
        }
    }

    static let describeLimit = 1000

    /// Session `id` as the store describes it (state `shared`), nil when the store does not hold it.
    func describe(id: String, fingerprints: [String], completion: @escaping (Result<SessionInfo?, Error>) -> Void) {
        reader.enqueue { [self] in
            do {
                let info = try reader.withConnection { c -> SessionInfo? in
                    for fp in fingerprints {
                        guard let (entry, version) = try index.entry(c, id: id, fingerprint: fp) else { continue }
                        var i = entry.info
                        i.session = id
                        i.state = .shared
                        i.storeVersion = version
                        i.sharedUnix = entry.publishedUnix
                        return i
                    }
                    return nil
                }
                completion(.success(info))
            } catch {
                health.count { $0.errors += 1 }
                completion(.failure(error))
            }
        }
    }

    /// Publishes and drops waiting for the store, oldest first.
    var pendingCount: Int { lock.withLock { pending.count } }

    private func wait(_ id: String, _ work: PendingWork) {
        lock.withLock {
            pending.removeAll { $0.id == id }
            pending.append((id, work))
            if pending.count > Self.maxPending { pending.removeFirst(pending.count - Self.maxPending) }
        }
    }

    private func forget(_ id: String) {
        lock.withLock {
            pending.removeAll { $0.id == id }
            retryBackoff = 0.25
        }
    }

    /// On the writer lane when idle: once the store answers again, hands the waiting work back
    /// (with a backoff from 0.25 s to 8 s between attempts).
    private func retryPending() {
        let due: [(id: String, work: PendingWork)] = lock.withLock {
            guard !pending.isEmpty, Date() >= nextRetry else { return [] }
            return pending
        }
        guard !due.isEmpty else { return }
        do {
            _ = try writer.withConnection { try $0.command(["PING"]) }
        } catch {
            lock.withLock {
                nextRetry = Date().addingTimeInterval(retryBackoff)
                retryBackoff = min(retryBackoff * 2, 8)
            }
            return
        }
        // The backoff grows until a publish succeeds (`forget`): a store that answers PING but
        // refuses writes (out of memory) is not retried in a tight loop.
        lock.withLock {
            nextRetry = Date().addingTimeInterval(retryBackoff)
            retryBackoff = min(retryBackoff * 2, 8)
            pending.removeAll()
        }
        for (id, work) in due {
            switch work {
            case .publish: retryPublish?(id)
            case .drop(let fingerprints): drop(id: id, fingerprints: fingerprints) { _ in }
            }
        }
    }
}
