import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking client of kvd's socket: sends requests, reads response frames (kvctl, kvbench's
/// load benchmark and the end-to-end tests use it). One per thread.
public final class DaemonClient {
    /// The path of kvd's Unix socket this client connected to.
    public let socketPath: String
    private let fd: Int32
    private var decoder = FrameDecoder(maxFrameSize: 1 << 30)
    private var nextID: UInt64 = 1

    /// The system service's socket: kvd's default `socket`, kvctl's default without `$KVD_SOCKET`.
    public static let defaultSocketPath = "/run/kvd/kvd.sock"

    /// Connects to `socketPath`.
    /// - Throws: `DaemonClientError.cannotConnect` when nothing listens there, `.permissionDenied` when this
    ///   user may not open the socket.
    public init(socketPath: String) throws {
        self.socketPath = socketPath
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard socketPath.utf8.count < capacity else { throw DaemonClientError.cannotConnect(socketPath) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in socketPath.utf8.enumerated() { raw[i] = b }
        }
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DaemonClientError.cannotConnect(socketPath) }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
        guard ok else {
            let why = errno
            close(fd)
            // A socket kvd listens on but this user may not open: say so, not "is kvd running?".
            if why == EACCES || why == EPERM { throw DaemonClientError.permissionDenied(path: socketPath, group: Self.group(of: socketPath)) }
            throw DaemonClientError.cannotConnect(socketPath)
        }
    }

    /// The name (or number) of the group owning `path`, if it can be looked at.
    private static func group(of path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        guard let g = getgrgid(st.st_gid), let name = g.pointee.gr_name else { return String(st.st_gid) }
        return String(cString: name)
    }

    deinit { close(fd) }

    /// Sends `operation` as a new request.
    /// - Returns: the request's id.
    @discardableResult
    public func send(_ operation: Request.Operation, deadlineMs: UInt32 = 0) throws -> UInt64 {
        let id = nextID
        nextID += 1
        try writeAll(FrameEncoder.frame(WireCodec.encode(Request(id: id, deadlineMs: deadlineMs, operation))))
        return id
    }

    /// Writes raw bytes (for tests of malformed input).
    public func writeAll(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DaemonClientError.connectionLost(socketPath)
            }
            done += n
        }
    }

    /// The next response frame.
    public func receive() throws -> Response {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            if let payload = try decoder.next() { return try WireCodec.decodeResponse(payload) }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw DaemonClientError.connectionLost(socketPath) }
            buffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// Sends a request and waits for its final response; streamed tokens go to `onToken`.
    /// - Throws: `DaemonClientError.daemon` when the answer is an error.
    public func call(_ operation: Request.Operation, deadlineMs: UInt32 = 0, onToken: (AskToken) -> Void = { _ in }) throws -> Response.Body {
        let id: UInt64
        do {
            id = try send(operation, deadlineMs: deadlineMs)
        } catch {
            // kvd may have refused the connection (PERMISSION_DENIED, stopping) and closed it:
            // its error frame is still there to read.
            if let r = try? receive(), case .error(let e) = r.body { throw DaemonClientError.daemon(e) }
            throw error
        }
        while true {
            let r = try receive()
            // id 0: an error about the connection itself (refused peer, oversized frame).
            guard r.id == id || r.id == 0 else { continue }
            switch r.body {
            case .token(let t): onToken(t)
            case .error(let e): throw DaemonClientError.daemon(e)
            default: return r.body
            }
        }
    }
}

/// Why a call to kvd failed.
public enum DaemonClientError: Error, CustomStringConvertible, Equatable {
    /// Nothing listens on the socket.
    case cannotConnect(String)
    /// The socket's permissions do not let this user connect; `group` owns the socket, when known.
    case permissionDenied(path: String, group: String?)
    /// The daemon closed the connection mid-answer.
    case connectionLost(String)
    /// The daemon answered with an error.
    case daemon(WireError)

    /// A sentence for the user: what failed and what to do about it (start kvd, join the
    /// socket's group, read kvd's journal), or the daemon's message and code.
    public var description: String {
        switch self {
        case .cannotConnect(let path): return "cannot connect to \(path): is kvd running? (systemctl status kvd)"
        case .permissionDenied(let path, let group?):
            return "permission denied on \(path): join group '\(group)' to use kvd (sudo usermod -aG \(group) $USER, then log in again)"
        case .permissionDenied(let path, nil):
            return "permission denied on \(path): this user cannot reach the socket (its directory is closed to it); ask the administrator for access"
        case .connectionLost(let path): return "kvd closed the connection on \(path) before answering (it may be stopping; see journalctl -u kvd)"
        case .daemon(let e): return "\(e.message) (\(e.code))"
        }
    }
}
