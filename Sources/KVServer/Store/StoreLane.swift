import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A thread with its own Redis connection that runs store jobs one at a time, in order.
///
/// kvd talks to Redis with hiredis's synchronous API on lanes rather than on the libuv loop:
/// a 4 MB chunk or a slow store then never holds up the loop (which answers every client) or the
/// worker (which steps every ask), the code of an operation reads top to bottom, and timeouts are
/// the socket's. The daemon runs three lanes (writer, reader, checker), so that an ask's one-read
/// version check queues behind neither a large publish nor a large fetch.
final class StoreLane: @unchecked Sendable {
    private let url: StoreURL
    private let timeout: Double
    private let health: StoreHealth
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var stopped = false
    private var connection: RedisConnection?
    /// Called every `idleInterval` seconds while no job waits (the writer's retry of what
    /// could not be published).
    private var idleHook: (() -> Void)?
    private var idleInterval = 1.0

    init(name: String, url: StoreURL, timeout: Double, health: StoreHealth) {
        self.url = url
        self.timeout = timeout
        self.health = health
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    /// Runs `job` on the lane after the jobs already queued.
    func enqueue(_ job: @escaping () -> Void) {
        condition.withLock {
            jobs.append(job)
            condition.signal()
        }
    }

    /// Sets what runs when the lane has been idle for `interval` seconds.
    func setIdleHook(every interval: Double, _ hook: @escaping () -> Void) {
        condition.withLock {
            idleInterval = interval
            idleHook = hook
            condition.signal()
        }
    }

    /// Lets the queued jobs run, then ends the thread.
    func stop() {
        condition.withLock {
            stopped = true
            condition.signal()
        }
    }

    /// Runs `body` with a live connection (made if needed). On the lane's thread only.
    /// - Throws: `StoreError.unreachable` (the connection is then dropped, and the store marked
    ///   unreachable until an operation succeeds again), or what `body` throws.
    func withConnection<T>(_ body: (RedisConnection) throws -> T) throws -> T {
        do {
            let result: T
            if let old = connection {
                do {
                    result = try body(old)
                } catch StoreError.unreachable {
                    // A connection left from before the store restarted fails once (a broken
                    // pipe): the operation is tried again on a new one before the store counts
                    // as unreachable.
                    connection = nil
                    let c = try RedisConnection(url: url, timeout: timeout)
                    connection = c
                    result = try body(c)
                }
            } else {
                let c = try RedisConnection(url: url, timeout: timeout)
                connection = c
                result = try body(c)
            }
            health.reached()
            return result
        } catch let error as StoreError {
            switch error {
            case .unreachable:
                connection = nil
                health.unreachable(error)
            case .refused(let why) where why.hasPrefix("NOAUTH") || why.hasPrefix("NOPERM") || why.hasPrefix("WRONGPASS"):
                // A store that wants a password kvd was not given, or whose ACL does not let kvd's
                // user use the prefix, is as unusable as a missing one: health says so.
                connection = nil
                let hint = why.hasPrefix("NOPERM") ? "give the store user the keys ~PREFIX:* and channels &PREFIX:*" : "set store_password_file"
                let unusable = StoreError.unreachable("\(url): \(why); \(hint)")
                health.unreachable(unusable)
                throw unusable
            default: break
            }
            throw error
        }
    }

    private func run() {
        StoreLane.blockBrokenPipeSignal()
        while true {
            let next: (() -> Void)? = condition.withLock {
                if jobs.isEmpty && !stopped {
                    _ = condition.wait(until: Date().addingTimeInterval(idleInterval))
                }
                if !jobs.isEmpty { return jobs.removeFirst() }
                return nil
            }
            if let next {
                next()
                continue
            }
            if condition.withLock({ stopped && jobs.isEmpty }) { break }
            if let hook = condition.withLock({ idleHook }) { hook() }
        }
        connection = nil
    }
}

extension StoreLane {
    /// Blocks SIGPIPE on the calling store thread: hiredis writes with write(2), and a store that
    /// went away must fail the write with EPIPE there, not kill an embedding process that (unlike
    /// kvd) does not ignore the signal.
    static func blockBrokenPipeSignal() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}

/// Whether the store answered its last operation, and the store's counters (`kvctl stats`).
final class StoreHealth: @unchecked Sendable {
    private let lock = NSLock()
    private var problem: StoreError?
    private(set) var counters = StoreCounters()

    struct StoreCounters: Equatable {
        var hits: UInt64 = 0
        var misses: UInt64 = 0
        var bytesIn: UInt64 = 0
        var bytesOut: UInt64 = 0
        var errors: UInt64 = 0
    }

    /// Nil while the store answers; else why it does not.
    var unreachableReason: String? {
        lock.withLock {
            guard case .unreachable(let why) = problem else { return nil }
            return why
        }
    }

    func reached() { lock.withLock { problem = nil } }
    func unreachable(_ error: StoreError) { lock.withLock { problem = error } }
    func count(_ change: (inout StoreCounters) -> Void) { lock.withLock { change(&counters) } }
    var snapshot: StoreCounters { lock.withLock { counters } }
}
