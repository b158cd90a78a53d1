import KVWire
import CLibUV

/// Calls a closure on the loop thread when a signal arrives (SIGTERM, SIGINT).
public final class UVSignalWatcher {
    private let handle: UnsafeMutablePointer<uv_signal_t>
    private let onSignal: (Int32) -> Void

    /// Starts watching `signal` on `loop`.
    public init(loop: UVLoop, signal: Int32, _ onSignal: @escaping (Int32) -> Void) throws {
        handle = .allocate(capacity: 1)
        self.onSignal = onSignal
        try UVError.check(uv_signal_init(loop.raw, handle), "uv_signal_init")
        handle.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        try UVError.check(uv_signal_start(handle, { h, signum in
            guard let data = h?.pointee.data else { return }
            Unmanaged<UVSignalWatcher>.fromOpaque(data).takeUnretainedValue().onSignal(signum)
        }, signal), "uv_signal_start")
    }

    /// Stops watching and releases the handle (the loop frees it on its next turn).
    public func close() {
        uv_signal_stop(handle)
        uv_close(uvHandle(handle)) { h in h?.deallocate() }
    }
}
