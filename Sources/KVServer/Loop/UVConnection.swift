import KVWire
import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// One accepted Unix-socket connection on the libuv loop: reads bytes into a `ClientConnection`
/// and writes its frames back. Only the loop thread touches it.
final class UVConnection: Transport {
    private let pipe: UnsafeMutablePointer<uv_pipe_t>
    private var isClosed = false
    /// The protocol state this transport feeds (set right after accepting).
    var client: ClientConnection?
    /// Called once the handle is closed.
    var onClose: (() -> Void)?

    /// Wraps an initialised, accepted pipe handle and starts reading.
    init(pipe: UnsafeMutablePointer<uv_pipe_t>) {
        self.pipe = pipe
        pipe.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// The socket's file descriptor, for SO_PEERCRED.
    var fileDescriptor: Int32 {
        var fd: uv_os_fd_t = -1
        _ = uv_fileno(uvHandle(pipe), &fd)
        return fd
    }

    func startReading() {
        uv_read_start(uvStream(pipe), { _, suggested, buf in
            let size = min(max(Int(suggested), 4096), 256 << 10)
            buf?.pointee.base = malloc(size)?.assumingMemoryBound(to: CChar.self)
            buf?.pointee.len = buf?.pointee.base == nil ? 0 : size
        }, { stream, nread, buf in
            defer { free(buf?.pointee.base) }
            guard let data = stream?.pointee.data else { return }
            let me = Unmanaged<UVConnection>.fromOpaque(data).takeUnretainedValue()
            if nread > 0, let base = buf?.pointee.base {
                me.client?.received(UnsafeRawBufferPointer(start: base, count: nread))
            } else if nread < 0 {
                // UV_EOF or a read error: the peer is gone.
                me.client?.transportClosed()
                me.close()
            }
        })
    }

    func write(_ bytes: [UInt8]) {
        guard !isClosed, !bytes.isEmpty else { return }
        let req = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        let copy = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 1)
        bytes.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        req.pointee.data = copy
        var buf = uv_buf_init(copy.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        let status = uv_write(req, uvStream(pipe), &buf, 1) { req, _ in
            req?.pointee.data?.deallocate()
            if let data = req?.pointee.handle?.pointee.data {
                Unmanaged<UVConnection>.fromOpaque(data).takeUnretainedValue().client?.outputDrained()
            }
            req?.deallocate()
        }
        if status < 0 {
            copy.deallocate()
            req.deallocate()
        }
    }

    var queuedBytes: Int { Int(uv_stream_get_write_queue_size(uvStream(pipe))) }

    func setReading(_ reading: Bool) {
        guard !isClosed else { return }
        if reading { startReading() } else { uv_read_stop(uvStream(pipe)) }
    }

    /// Closes the handle now: libuv cancels the queued writes (their callbacks free them).
    func abort() {
        guard !isClosed else { return }
        isClosed = true
        uv_read_stop(uvStream(pipe))
        UVConnection.closeHandle(uvStream(pipe))
    }

    /// Stops reading, lets queued writes finish (uv_shutdown), then closes the handle.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        uv_read_stop(uvStream(pipe))
        let req = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        let status = uv_shutdown(req, uvStream(pipe)) { req, _ in
            if let stream = req?.pointee.handle { UVConnection.closeHandle(stream) }
            req?.deallocate()
        }
        if status < 0 {
            req.deallocate()
            UVConnection.closeHandle(uvStream(pipe))
        }
    }

    private static func closeHandle(_ stream: UnsafeMutablePointer<uv_stream_t>) {
        uv_close(uvHandle(stream)) { h in
            guard let h else { return }
            if let data = h.pointee.data {
                let me = Unmanaged<UVConnection>.fromOpaque(data).takeRetainedValue()
                me.onClose?()
                me.onClose = nil
                me.client = nil
            }
            h.deallocate()
        }
    }
}
