import KVSystem
import KVWire
import Foundation
import Logging

/// The sessions the daemon knows, resident or saved, under a memory budget.
///
/// When resident sessions would exceed the budget, the least recently used ones are saved to the
/// state directory and unloaded ("evicted"); the next use restores them. Sessions found in the
/// state directory at start are registered as saved and restored lazily.
///
/// The budget is never overshot: a session with asks in flight is not evicted, so a restore or
/// load that only busy sessions (or a load in progress) keep out throws `MustWaitForRoom`, and the
/// scheduler runs its job again when an ask ends (`Scheduler.waitForRoom`). A load holds the bytes
/// it was sized for (`reserveRoom`) until its session is inserted, so restores made between its
/// layers cannot take them. When asks end, `evictWhileOverBudget` brings a store that is over
/// budget for any reason back under it.
///
/// Metadata (`list`, `info`, `stats`) may be read from any thread; everything that loads, saves
/// or restores runs on the scheduler's worker, one job at a time.
public final class SessionStore: @unchecked Sendable {
    /// One session's bookkeeping.
    final class Entry {
        let id: String
        var session: BackendSession?
        var info: SessionInfo
        /// The snapshot on disk, valid for the current content.
        var savedURL: URL?
        /// The ask counts (answered, failed) that snapshot holds (a restart reports them).
        var savedAsks: (UInt32, UInt32) = (0, 0)
        /// Why its snapshot could not be read at start: every use but drop and a replacing load
        /// answers this (FAILED_PRECONDITION, naming the file).
        var damage: Error?
        /// When it was last used (the least recently used is evicted first).
        var lastUsed: Date
        /// Asks in flight on it (it is not evicted while any run).
        var busy = 0
        /// Tells this content from the one a later load or fetch of the same id inserts (a
        /// publish that ends after a replace must not mark the new content shared).
        let generation: Int
        private static let generations = Locked(0)

        init(id: String, info: SessionInfo) {
            self.id = id
            self.info = info
            lastUsed = Date()
            var g = 0
            Entry.generations.update { $0 += 1; g = $0 }
            generation = g
        }
    }

    /// Bytes of KV cache all resident sessions may hold together.
    public let memoryBudget: Int
    /// Where snapshots are written.
    public let stateDirectory: URL
    private let backend: InferenceBackend
    private let telemetry: TelemetryCSV
    private let log: (Logger.Level, String) -> Void
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    /// Bytes held by loads in progress: sized before their prefill, released when they end.
    private var reserved = 0

    /// Thrown when the room needed is held by sessions with asks in flight, or by a load in
    /// progress: it frees up when they end, so the caller waits (its job runs again when an ask
    /// ends) rather than going over the budget. Never sent to a client.
    struct MustWaitForRoom: Error {
        let needed: Int
    }

    init(backend: InferenceBackend, stateDirectory: URL, memoryBudget: Int, telemetry: TelemetryCSV,
         log: @escaping (Logger.Level, String) -> Void) {
        self.backend = backend
        self.stateDirectory = stateDirectory
        self.memoryBudget = memoryBudget
        self.telemetry = telemetry
        self.log = log
    }

    /// The snapshot path of `id` (ids are validated, so this never leaves the directory).
    func snapshotURL(_ id: String) -> URL {
        stateDirectory.appendingPathComponent(id + "." + SnapshotFile.fileExtension)
    }

    /// Registers every snapshot in the state directory as a saved session (headers only), after
    /// removing the temporaries of saves that were killed.
    func scanStateDirectory() {
        for path in SnapshotFile.removeStaleTemporaries(in: stateDirectory) {
            log(.warning, "removed \(path), left by a save that did not finish")
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: stateDirectory.path)) ?? []
        for name in files.sorted() where name.hasSuffix("." + SnapshotFile.fileExtension) && !name.hasPrefix(".") {
            let id = String(name.dropLast(SnapshotFile.fileExtension.count + 1))
            guard (try? SessionID(id)) != nil else { continue }
            let url = stateDirectory.appendingPathComponent(name)
            do {
                var info = try backend.savedInfo(at: url)
                info.session = id
                let e = Entry(id: id, info: info)
                e.savedURL = url
                e.savedAsks = (info.asks, info.failedAsks)
                e.lastUsed = Date(timeIntervalSince1970: info.lastUsedUnix > 0 ? info.lastUsedUnix : 0)
                lock.withLock { entries[id] = e }
            } catch {
                // Listed as damaged rather than forgotten: forgetting let a later load overwrite the file.
                log(.error, "session \(id) is damaged and will not be served until dropped or replaced: \(error)")
                var info = SessionInfo()
                info.session = id
                let e = Entry(id: id, info: info)
                e.savedURL = url
                e.damage = error
                e.lastUsed = .distantPast
                lock.withLock { entries[id] = e }
            }
        }
    }

    // MARK: Metadata (any thread)

    /// Every session, sorted by id.
    public func list() -> [SessionInfo] {
        lock.withLock { entries.values.map(describe).sorted { $0.session < $1.session } }
    }

    /// One session's metadata.
    /// - Throws: `ServerError.unknownSession`.
    public func info(_ id: String) throws -> SessionInfo {
        try lock.withLock {
            guard let e = entries[id] else { throw ServerError.unknownSession(id) }
            if let damage = e.damage { throw damage }
            return describe(e)
        }
    }

    /// Whether a session of that id exists.
    public func contains(_ id: String) -> Bool { lock.withLock { entries[id] != nil } }

    /// Why the snapshot of `id` could not be read at start, if it could not.
    func damage(_ id: String) -> Error? { lock.withLock { entries[id]?.damage } }

    /// Resident/saved counts and resident KV bytes.
    public func totals() -> (resident: Int, saved: Int, kvBytes: Int) {
        lock.withLock {
            var r = 0, s = 0, b = 0
            for e in entries.values {
                if e.session != nil { r += 1; b += Int(e.info.kvBytes) } else { s += 1 }
            }
            return (r, s, b)
        }
    }

    private func describe(_ e: Entry) -> SessionInfo {
        var i = e.info
        i.session = e.id
        i.state = e.damage != nil ? .damaged : e.busy > 0 ? .busy : (e.session != nil ? .resident : .saved)
        i.lastUsedUnix = e.lastUsed.timeIntervalSince1970
        return i
    }

    // MARK: Worker-thread operations

    /// What `ensureRoom` does next.
    private enum RoomStep {
        case fits, evict(Entry), wait, stuck
    }

    /// Makes room for `bytes` more resident bytes by evicting least recently used idle sessions.
    ///
    /// The resident session `keep` (one a load replaces) is not counted and not evicted; loads in
    /// progress count with the bytes they reserved. Nothing is evicted unless that makes room.
    /// - Parameter restoring: the saved session this room is for (names it in the error).
    /// - Throws: `ServerError.overBudget` (`.restoreOverBudget`) when `bytes` alone exceed the
    ///   budget; `MustWaitForRoom` when only sessions with asks in flight or loads in progress
    ///   keep `bytes` out; `ServerError.noRoom` when sessions that cannot be saved do.
    func ensureRoom(for bytes: Int, except keep: String? = nil, restoring: String? = nil) throws {
        guard memoryBudget > 0 else { return }
        guard bytes <= memoryBudget else {
            if let restoring { throw ServerError.restoreOverBudget(session: restoring, needed: bytes, budget: memoryBudget) }
            throw ServerError.overBudget(needed: bytes, budget: memoryBudget)
        }
        var unsaved: Set<String> = []
        while true {
            let next: RoomStep = lock.withLock {
                let others = entries.values.filter { $0.session != nil && $0.id != keep }
                let used = others.reduce(reserved) { $0 + Int($1.info.kvBytes) }
                guard used + bytes > memoryBudget else { return .fits }
                // Evict only what makes room: sessions that will still be resident in any case
                // (busy ones, ones that cannot be saved) and reserved bytes must leave room too.
                let busyBytes = others.filter { $0.busy > 0 }.reduce(0) { $0 + Int($1.info.kvBytes) }
                let unsavedBytes = others.filter { $0.busy == 0 && unsaved.contains($0.id) }.reduce(0) { $0 + Int($1.info.kvBytes) }
                if unsavedBytes + bytes > memoryBudget { return .stuck }
                if busyBytes + reserved + unsavedBytes + bytes <= memoryBudget,
                   let victim = others.filter({ $0.busy == 0 && !unsaved.contains($0.id) }).min(by: { $0.lastUsed < $1.lastUsed }) {
                    return .evict(victim)
                }
                return busyBytes + reserved > 0 ? .wait : .stuck
            }
            switch next {
            case .fits: return
            case .evict(let victim): if !evict(victim) { unsaved.insert(victim.id) }
            case .wait: throw MustWaitForRoom(needed: bytes)
            case .stuck: throw ServerError.noRoom(needed: bytes, budget: memoryBudget, unsaved: unsaved.sorted())
            }
        }
    }

    /// Makes room for a load of `bytes` (as `ensureRoom`) and holds it until `releaseReservation`,
    /// so that what runs between the load's layers cannot take it.
    func reserveRoom(for bytes: Int, except keep: String) throws {
        try ensureRoom(for: bytes, except: keep)
        lock.withLock { reserved += bytes }
    }

    /// Gives back bytes `reserveRoom` held (the load ended, or is about to insert its session).
    func releaseReservation(_ bytes: Int) {
        lock.withLock { reserved = max(0, reserved - bytes) }
    }

    /// Evicts least recently used idle sessions while resident sessions exceed the budget (run
    /// when asks end, so a store over its budget for any reason returns under it once it can).
    func evictWhileOverBudget() {
        guard memoryBudget > 0 else { return }
        var unsaved: Set<String> = []
        while true {
            let victim: Entry? = lock.withLock {
                let resident = entries.values.filter { $0.session != nil }
                guard resident.reduce(0, { $0 + Int($1.info.kvBytes) }) > memoryBudget else { return nil }
                return resident.filter { $0.busy == 0 && !unsaved.contains($0.id) }.min { $0.lastUsed < $1.lastUsed }
            }
            guard let victim else { return }
            if !evict(victim) { unsaved.insert(victim.id) }
        }
    }

    /// Saves (if needed) and unloads a resident session.
    /// - Returns: false when it could not be saved (it stays resident).
    private func evict(_ e: Entry) -> Bool {
        guard let session = e.session else { return true }
        let start = ContinuousClock.now
        do {
            if e.savedURL == nil { _ = try save(e, session) }
            lock.withLock { e.session = nil }
            var row = TelemetryRow(event: .evict)
            row.describe(e.info)
            row.metrics.ioMs = start.secondsElapsed * 1000
            row.detail = e.savedURL?.path ?? ""
            telemetry.record(row)
            log(.info, "evicted session \(e.id) (\(e.info.kvBytes) bytes) to \(e.savedURL?.path ?? "?")")
            return true
        } catch {
            // Never lose a session: if it cannot be saved it stays resident.
            log(.error, "cannot evict session \(e.id): \(error)")
            lock.withLock { e.lastUsed = Date() }
            return false
        }
    }

    @discardableResult
    private func save(_ e: Entry, _ session: BackendSession) throws -> Int {
        let url = snapshotURL(e.id)
        let info = lock.withLock { describe(e) }
        let bytes = try session.save(to: url, info: info)
        lock.withLock { e.savedURL = url; e.savedAsks = (info.asks, info.failedAsks) }
        return bytes
    }

    /// Adds a freshly loaded session (evicting others to fit), replacing an old one if allowed.
    /// - Throws: `MustWaitForRoom` when sessions with asks in flight hold the room it needs (it
    ///   came out larger than the bytes its load reserved).
    /// - Returns: the generation of its entry (`markShared`).
    @discardableResult
    func insert(_ session: BackendSession, id: String, replace: Bool) throws -> Int {
        try lock.withLock {
            if entries[id] != nil && !replace { throw ServerError.sessionExists(id) }
        }
        try ensureRoom(for: Int(session.info.kvBytes), except: id)
        let e = Entry(id: id, info: session.info)
        e.session = session
        e.info.createdUnix = Date().timeIntervalSince1970
        let old: Entry? = lock.withLock {
            let old = entries[id]
            entries[id] = e
            return old
        }
        if old?.savedURL != nil { unlink(snapshotURL(id).path) }
        return e.generation
    }

    /// The resident session `id`, restoring it from disk when it was evicted or saved at shutdown.
    /// - Throws: `MustWaitForRoom` when the restore must wait for asks to end (see `ensureRoom`).
    /// - Returns: the session and whether it was just restored (with the restore's I/O time).
    func resident(_ id: String) throws -> (BackendSession, restoredMs: Double?) {
        let e: Entry = try lock.withLock {
            guard let e = entries[id] else { throw ServerError.unknownSession(id) }
            if let damage = e.damage { throw damage }
            e.lastUsed = Date()
            return e
        }
        if let s = lock.withLock({ e.session }) { return (s, nil) }
        guard let url = lock.withLock({ e.savedURL }) else { throw ServerError.unknownSession(id) }
        try ensureRoom(for: Int(e.info.kvBytes), except: id, restoring: id)
        let start = ContinuousClock.now
        let session = try backend.restore(session: id, from: url)
        let ms = start.secondsElapsed * 1000
        lock.withLock {
            e.info = session.info.keepingStoreFigures(of: e.info)
            e.session = session
        }
        var row = TelemetryRow(event: .restore)
        row.describe(e.info)
        row.metrics.ioMs = ms
        row.detail = url.path
        telemetry.record(row)
        log(.info, "restored session \(id) from \(url.path) in \(Int(ms)) ms")
        return (session, ms)
    }

    /// Counts an ask started on a session (busy sessions are not evicted).
    func askStarted(_ id: String) {
        lock.withLock {
            guard let e = entries[id] else { return }
            e.busy += 1
            e.lastUsed = Date()
        }
    }

    /// Counts an ask ended on a session: `answered` (its `AskResponse` is being sent) in `asks`,
    /// any other end (cancel, deadline, disconnect, shutdown, error) in `failedAsks`.
    func askEnded(_ id: String, answered: Bool) {
        lock.withLock {
            guard let e = entries[id] else { return }
            e.busy = max(0, e.busy - 1)
            e.lastUsed = Date()
            if answered { e.info.asks += 1 } else { e.info.failedAsks += 1 }
        }
    }

    /// Saves one session now.
    /// - Returns: the path and size written.
    func save(_ id: String) throws -> (URL, Int) {
        let (session, _) = try resident(id)
        guard let e = lock.withLock({ entries[id] }) else { throw ServerError.unknownSession(id) }
        let start = ContinuousClock.now
        let bytes = try save(e, session)
        var row = TelemetryRow(event: .save)
        row.describe(e.info)
        row.metrics.ioMs = start.secondsElapsed * 1000
        row.detail = snapshotURL(id).path
        telemetry.record(row)
        return (snapshotURL(id), bytes)
    }

    /// Saves every resident session whose content or ask count is not on disk yet (at shutdown).
    func saveAll() {
        let resident = lock.withLock {
            entries.values.filter { $0.session != nil && ($0.savedURL == nil || $0.savedAsks != ($0.info.asks, $0.info.failedAsks)) }
        }
        for e in resident.sorted(by: { $0.id < $1.id }) {
            do {
                _ = try save(e.id)
                log(.info, "saved session \(e.id)")
            } catch {
                log(.error, "cannot save session \(e.id): \(error)")
            }
        }
    }

    // MARK: The shared store

    /// The store version of the local session `id`: nil when this replica does not hold it, 0
    /// when it holds a copy the store does not have (yet).
    func storeVersion(_ id: String) -> UInt64? {
        lock.withLock { entries[id].map { $0.damage == nil ? $0.info.storeVersion : 0 } }
    }

    /// The bytes of session `id`'s snapshot file for publishing, with its info and generation:
    /// from memory when resident, else from its saved file. Nil when it is gone, damaged or
    /// already shared. Worker.
    func snapshotForPublishing(_ id: String) throws -> (image: [UInt8], info: SessionInfo, generation: Int)? {
        guard let (e, session, url) = lock.withLock({ () -> (Entry, BackendSession?, URL?)? in
            guard let e = entries[id], e.damage == nil, e.info.storeVersion == 0 else { return nil }
            return (e, e.session, e.savedURL)
        }) else { return nil }
        let info = lock.withLock { describe(e) }
        if let session { return (try session.snapshot(info: info), info, e.generation) }
        guard let url else { return nil }
        do { return ([UInt8](try Data(contentsOf: url)), info, e.generation) } catch {
            throw PersistenceError.io(path: url.path, reason: error.localizedDescription)
        }
    }

    /// Records that the content of generation `generation` of `id` is version `version` in the
    /// store (nothing if the id now holds other content).
    func markShared(_ id: String, generation: Int, version: UInt64, at unix: Double) {
        lock.withLock {
            guard let e = entries[id], e.generation == generation else { return }
            e.info.storeVersion = version
            e.info.sharedUnix = unix
        }
    }

    /// Records that the store no longer holds `id`'s content (it lost it), so that it is published again.
    func markUnshared(_ id: String) {
        lock.withLock {
            entries[id]?.info.storeVersion = 0
            entries[id]?.info.sharedUnix = 0
        }
    }

    /// Takes in a session fetched from the store: its snapshot is written to the state
    /// directory and it is registered as saved (restored on use), replacing any older copy here
    /// (asks in flight on that one finish on it). Worker.
    /// - Parameter fetchMs: how long the fetch took (the `fetch` row's `store_ms`).
    func adopt(_ id: String, snapshot: [UInt8], version: UInt64, sharedUnix: Double, fetchMs: Double) throws {
        let url = snapshotURL(id)
        let start = ContinuousClock.now
        try SnapshotFile.write(to: url, image: snapshot)
        var info = try backend.savedInfo(at: url)
        info.session = id
        info.storeVersion = version
        info.sharedUnix = sharedUnix
        let e = Entry(id: id, info: info)
        e.savedURL = url
        e.savedAsks = (info.asks, info.failedAsks)
        lock.withLock { entries[id] = e }
        var row = TelemetryRow(event: .fetch)
        row.describe(info)
        row.metrics.ioMs = start.secondsElapsed * 1000
        row.metrics.storeBytes = snapshot.count
        row.metrics.storeMs = fetchMs
        row.detail = "version \(version)"
        telemetry.record(row)
        log(.info, "fetched session \(id) version \(version) from the shared store (\(snapshot.count) bytes)")
    }

    /// Forgets the local copy of a shared session another replica dropped or replaced (the store
    /// is not touched). A copy of `keep` (the version the store holds now) and one the store
    /// never had are left alone.
    /// - Returns: whether a copy was forgotten.
    @discardableResult
    func forgetSharedCopy(_ id: String, keep: UInt64? = nil, reason: String) -> Bool {
        guard let e: Entry = lock.withLock({
            guard let e = entries[id], e.info.storeVersion != 0, e.info.storeVersion != keep else { return nil }
            entries[id] = nil
            return e
        }) else { return false }
        if e.savedURL != nil { unlink(snapshotURL(id).path) }
        var row = TelemetryRow(event: .unload)
        row.describe(e.info)
        row.detail = reason
        telemetry.record(row)
        log(.info, "forgot the local copy of session \(id) (version \(e.info.storeVersion)): \(reason)")
        return true
    }

    /// Sessions held here that the store does not have (published at start and when it returns).
    func unsharedIDs() -> [String] {
        lock.withLock { entries.values.filter { $0.damage == nil && $0.info.storeVersion == 0 }.map(\.id).sorted() }
    }

    /// Forgets a session: memory and snapshot.
    /// - Returns: whether it existed.
    func drop(_ id: String) -> Bool {
        guard let e = lock.withLock({ entries.removeValue(forKey: id) }) else { return false }
        if e.savedURL != nil || FileManager.default.fileExists(atPath: snapshotURL(id).path) {
            unlink(snapshotURL(id).path)
        }
        var row = TelemetryRow(event: .drop)
        row.describe(e.info)
        telemetry.record(row)
        return true
    }
}

