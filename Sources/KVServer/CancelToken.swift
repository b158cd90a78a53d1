import KVWire
import Foundation

/// Why work in flight should stop.
public enum StopReason: String, Sendable {
    /// A `Cancel` request named it.
    case cancelled
    /// Its deadline passed.
    case deadline
    /// Its client disconnected.
    case disconnected
    /// The daemon is stopping.
    case shutdown
}

/// A thread-safe stop flag shared by the loop (which sets it) and the worker (which polls it),
/// with the request's optional deadline.
public final class CancelToken: @unchecked Sendable {
    private let lock = NSLock()
    private var reason: StopReason?
    /// When the request's deadline passes, if it has one.
    public let deadline: ContinuousClock.Instant?

    /// - Parameter deadlineMs: the request's `deadline_ms` (0 = none), counted from now.
    public init(deadlineMs: UInt32 = 0) {
        deadline = deadlineMs > 0 ? .now + .milliseconds(deadlineMs) : nil
    }

    /// Asks the work to stop; the first reason wins.
    public func cancel(_ why: StopReason) {
        lock.lock()
        if reason == nil { reason = why }
        lock.unlock()
    }

    /// Whether and why to stop now.
    public var stopReason: StopReason? {
        lock.lock()
        let r = reason
        lock.unlock()
        if let r { return r }
        if let deadline, ContinuousClock.now >= deadline { return .deadline }
        return nil
    }
}
