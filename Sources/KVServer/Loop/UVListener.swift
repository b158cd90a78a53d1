import KVWire
import CLibUV
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The credentials of a peer process, read with SO_PEERCRED when it connects.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
}

/// Listens on a Unix stream socket on the libuv loop and hands each accepted connection over.
public final class UVListener {
    private let loop: UVLoop
    private let pipe: UnsafeMutablePointer<uv_pipe_t>
    private let onAccept: (UVConnectionHandle) -> Void

    /// Starts listening on the already bound and listening socket `fd` (ours, or systemd's).
    public init(loop: UVLoop, fd: Int32, onAccept: @escaping (UVConnectionHandle) -> Void) throws {
        self.loop = loop
        self.onAccept = onAccept
        pipe = .allocate(capacity: 1)
        try UVError.check(uv_pipe_init(loop.raw, pipe, 0), "uv_pipe_init")
        try UVError.check(uv_pipe_open(pipe, fd), "uv_pipe_open")
        pipe.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        try UVError.check(uv_listen(uvStream(pipe), 128) { server, status in
            guard status >= 0, let server, let data = server.pointee.data else { return }
            Unmanaged<UVListener>.fromOpaque(data).takeUnretainedValue().accept(server)
        }, "uv_listen")
    }

    private func accept(_ server: UnsafeMutablePointer<uv_stream_t>) {
        let client = UnsafeMutablePointer<uv_pipe_t>.allocate(capacity: 1)
        guard uv_pipe_init(loop.raw, client, 0) == 0 else { client.deallocate(); return }
        guard uv_accept(server, uvStream(client)) == 0 else {
            uv_close(uvHandle(client)) { $0?.deallocate() }
            return
        }
        let connection = UVConnection(pipe: client)
        var pid: Int32 = 0, uid: UInt32 = 0, gid: UInt32 = 0
        let peer = kvd_peer_credentials(connection.fileDescriptor, &pid, &uid, &gid) == 0
            ? PeerCredentials(pid: pid, uid: uid, gid: gid) : nil
        onAccept(UVConnectionHandle(connection: connection, peer: peer))
    }

    /// Stops accepting connections.
    public func close() {
        uv_close(uvHandle(pipe)) { $0?.deallocate() }
    }

    /// Creates, binds and listens on a Unix socket at `path` with permissions `mode`.
    ///
    /// A stale socket file left by a dead daemon is replaced; a live one (something answers on
    /// it) or a non-socket file at that path is an error.
    /// - Returns: the listening file descriptor.
    public static func bindUnixSocket(path: String, mode: mode_t) throws -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard path.utf8.count < capacity else { throw ListenError("socket path is longer than \(capacity - 1) bytes: \(path)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
            raw[path.utf8.count] = 0
        }
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else { throw ListenError("\(path) exists and is not a socket; remove it or choose another --socket") }
            let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            let alive = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
            }
            Glibc.close(probe)
            if alive { throw ListenError("another daemon is already listening on \(path)") }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenError("socket(): \(String(cString: strerror(errno)))") }
        // Bind with a restrictive umask so the socket never exists with looser permissions.
        let old = umask(0o177)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(old)
        guard bound == 0 else {
            let why = String(cString: strerror(errno))
            Glibc.close(fd)
            throw ListenError("cannot bind \(path): \(why)")
        }
        guard chmod(path, mode) == 0, listen(fd, 128) == 0 else {
            let why = String(cString: strerror(errno))
            Glibc.close(fd)
            throw ListenError("cannot listen on \(path): \(why)")
        }
        return fd
    }

    /// The first socket systemd passed (socket activation), if `LISTEN_PID`/`LISTEN_FDS` name this process.
    public static func systemdSocket(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int32? {
        guard let pid = environment["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
              let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1 else { return nil }
        let fd: Int32 = 3  // SD_LISTEN_FDS_START
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
        return fd
    }
}

/// An accepted connection and its peer, as the listener hands it over.
public struct UVConnectionHandle {
    let connection: UVConnection
    /// The peer's credentials (nil if SO_PEERCRED failed).
    public let peer: PeerCredentials?
}

/// The daemon could not set up its socket.
public struct ListenError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
