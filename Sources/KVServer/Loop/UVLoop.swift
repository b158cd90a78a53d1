import KVWire
import CLibUV
import Foundation

/// A libuv event loop: owns `uv_loop_t`, and wakes up through one `uv_async_t` to run closures
/// posted from other threads (the scheduler's worker).
public final class UVLoop: LoopExecutor, @unchecked Sendable {
    /// The underlying loop (valid until `close()`).
    let raw: UnsafeMutablePointer<uv_loop_t>
    private let async: UnsafeMutablePointer<uv_async_t>
    private let lock = NSLock()
    private var pending: [@Sendable () -> Void] = []
    private var closed = false

    /// Creates and initialises a loop.
    /// - Throws: `UVError` when libuv cannot create it.
    public init() throws {
        raw = .allocate(capacity: 1)
        async = .allocate(capacity: 1)
        try UVError.check(uv_loop_init(raw), "uv_loop_init")
        try UVError.check(uv_async_init(raw, async) { handle in
            guard let data = handle?.pointee.data else { return }
            Unmanaged<UVLoop>.fromOpaque(data).takeUnretainedValue().drain()
        }, "uv_async_init")
        async.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        async.deallocate()
        raw.deallocate()
    }

    public func execute(_ work: @escaping @Sendable () -> Void) {
        lock.lock()
        let accepted = !closed
        if accepted { pending.append(work) }
        lock.unlock()
        if accepted { uv_async_send(async) }
    }

    private func drain() {
        lock.lock()
        let batch = pending
        pending.removeAll()
        lock.unlock()
        for work in batch { work() }
    }

    /// Runs the loop until nothing is left to do (all handles closed) or `stop()`.
    public func run() {
        uv_run(raw, UV_RUN_DEFAULT)
    }

    /// Makes `run()` return after the current iteration.
    public func stop() {
        uv_stop(raw)
    }

    /// Closes the wake-up handle so the loop can finish, runs what is left, and frees the loop.
    public func close() {
        lock.lock()
        closed = true
        lock.unlock()
        drain()
        uv_close(UnsafeMutableRawPointer(async).assumingMemoryBound(to: uv_handle_t.self), nil)
        uv_run(raw, UV_RUN_DEFAULT)
        uv_loop_close(raw)
    }
}

/// A libuv call failed.
public struct UVError: Error, CustomStringConvertible {
    /// The negative errno libuv returned.
    public let status: Int32
    /// What was being done.
    public let operation: String

    public var description: String { "\(operation): \(String(cString: uv_strerror(status)))" }

    static func check(_ status: Int32, _ operation: String) throws {
        if status < 0 { throw UVError(status: status, operation: operation) }
    }
}

/// Casts between libuv's handle "subclasses".
@inline(__always)
func uvHandle<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_handle_t> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: uv_handle_t.self)
}

@inline(__always)
func uvStream<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_stream_t> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: uv_stream_t.self)
}
