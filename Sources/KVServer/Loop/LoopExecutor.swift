import KVWire
import Foundation

/// Runs closures on the thread that owns the connections (the event loop).
///
/// The scheduler's worker thread posts every result and streamed token through this, so
/// connections are only ever touched from one thread.
public protocol LoopExecutor: AnyObject, Sendable {
    /// Queues `work` to run on the loop thread. Safe to call from any thread.
    func execute(_ work: @escaping @Sendable () -> Void)
}

/// A loop for tests, in the spirit of NIOEmbedded: closures queue up until the test drains them,
/// so the protocol layers run deterministically without sockets or libuv.
public final class EmbeddedLoop: LoopExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [@Sendable () -> Void] = []

    public init() {}

    public func execute(_ work: @escaping @Sendable () -> Void) {
        condition.lock()
        pending.append(work)
        condition.signal()
        condition.unlock()
    }

    /// Runs every queued closure (and those they queue) on the calling thread.
    public func run() {
        while true {
            condition.lock()
            let batch = pending
            pending.removeAll()
            condition.unlock()
            if batch.isEmpty { return }
            for work in batch { work() }
        }
    }

    /// Runs queued closures, waiting for more, until `done()` holds or `timeout` seconds pass.
    /// - Returns: whether `done()` became true.
    @discardableResult
    public func run(until done: () -> Bool, timeout: TimeInterval = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            run()
            if done() { return true }
            condition.lock()
            if pending.isEmpty { _ = condition.wait(until: min(deadline, Date().addingTimeInterval(0.05))) }
            condition.unlock()
            if Date() >= deadline { run(); return done() }
        }
    }
}
