import CHiredis
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One reply of Redis.
enum RedisReply: Equatable {
    case string([UInt8])
    case integer(Int64)
    case array([RedisReply])
    case null
    case status(String)
    case error(String)

    var bytes: [UInt8]? { if case .string(let b) = self { return b }; return nil }
    var text: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
    var integer: Int64? {
        switch self {
        case .integer(let v): return v
        case .string(let b): return Int64(String(decoding: b, as: UTF8.self))
        default: return nil
        }
    }
}

/// Why a store operation failed.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// The store cannot be reached (connect, I/O or timeout): kvd serves what it holds and retries.
    case unreachable(String)
    /// Redis answered an error (a refused AUTH, a script error, out of memory).
    case refused(String)
    /// A shared session's bytes do not match their hashes even after a second fetch.
    case damaged(session: String, reason: String)

    public var description: String {
        switch self {
        case .unreachable(let why): return "store unreachable (\(why))"
        case .refused(let why): return "store refused the request (\(why))"
        case .damaged(let session, let reason): return "session \(session) in the shared store is damaged (\(reason)); load it again with replace (kvctl load --replace)"
        }
    }
}

/// A synchronous Redis connection (hiredis). Not thread-safe: each store thread owns one.
///
/// Every call has a timeout; after any I/O error the connection is unusable (hiredis's rule) and
/// the owner makes a new one.
final class RedisConnection {
    fileprivate let context: UnsafeMutablePointer<redisContext>

    /// Connects, authenticates and selects the database.
    /// - Throws: `StoreError.unreachable` when the server cannot be reached, `.refused` when it
    ///   refuses the credentials.
    init(url: StoreURL, timeout: Double) throws {
        let tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        let c: UnsafeMutablePointer<redisContext>?
        switch url.endpoint {
        case .tcp(let host, let port): c = redisConnectWithTimeout(host, Int32(port), tv)
        case .unix(let path): c = redisConnectUnixWithTimeout(path, tv)
        }
        guard let c else { throw StoreError.unreachable("cannot allocate a connection") }
        if c.pointee.err != 0 {
            let why = Self.errorText(c)
            redisFree(c)
            throw StoreError.unreachable("\(url): \(why)")
        }
        context = c
        _ = redisSetTimeout(c, tv)
        if case .tcp = url.endpoint { _ = redisEnableKeepAlive(c) }
        if let password = url.password {
            let args = url.user.map { ["AUTH", $0, password] } ?? ["AUTH", password]
            // A refused password makes the store as unusable as a missing one: health says so.
            if case .error(let e) = try command(args) { throw StoreError.unreachable("\(url): AUTH refused: \(e)") }
        }
        if url.database != 0, case .error(let e) = try command(["SELECT", String(url.database)]) {
            throw StoreError.unreachable("\(url): SELECT \(url.database) refused: \(e)")
        }
    }

    deinit { redisFree(context) }

    /// The socket, so another thread may `shutdown` it to wake a blocking read (the subscriber).
    var fileDescriptor: Int32 { context.pointee.fd }

    /// Sends one command and waits for its reply.
    /// - Throws: `StoreError.unreachable` on any I/O error or timeout (the connection is then dead).
    func command(_ args: [String]) throws -> RedisReply {
        try command(args.map { Array($0.utf8) })
    }

    func command(_ args: [[UInt8]]) throws -> RedisReply {
        try append(args)
        return try reply()
    }

    /// Sends several commands before reading their replies (one round trip).
    func pipeline(_ commands: [[[UInt8]]]) throws -> [RedisReply] {
        for c in commands { try append(c) }
        return try commands.map { _ in try reply() }
    }

    private func append(_ args: [[UInt8]]) throws {
        let lengths = args.map { $0.count }
        // hiredis copies the arguments into its output buffer before returning.
        let status: Int32 = withPointers(args) { pointers in
            lengths.withUnsafeBufferPointer { redisAppendCommandArgv(context, Int32(args.count), pointers, $0.baseAddress) }
        }
        guard status == REDIS_OK else { throw StoreError.unreachable(Self.errorText(context)) }
    }

    /// Waits for the next reply (also a pub/sub message).
    func reply() throws -> RedisReply {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw StoreError.unreachable(Self.errorText(context)) }
        defer { freeReplyObject(raw) }
        return Self.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Bounds what a reply may nest (Redis replies here are at most two deep).
    private static func convert(_ r: UnsafeMutablePointer<redisReply>, depth: Int = 0) -> RedisReply {
        let p = r.pointee
        switch p.type {
        case REDIS_REPLY_STRING: return .string(p.str.map { Array(UnsafeRawBufferPointer(start: $0, count: p.len)) } ?? [])
        case REDIS_REPLY_INTEGER: return .integer(p.integer)
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_STATUS: return .status(p.str.map { String(cString: $0) } ?? "")
        case REDIS_REPLY_ERROR: return .error(p.str.map { String(cString: $0) } ?? "error")
        case REDIS_REPLY_ARRAY:
            guard depth < 8 else { return .error("reply nested too deeply") }
            return .array((0..<p.elements).map { convert(p.element[$0]!, depth: depth + 1) })
        default: return .error("unknown reply type \(p.type)")
        }
    }

    private static func errorText(_ c: UnsafeMutablePointer<redisContext>) -> String {
        let s = withUnsafeBytes(of: c.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return s.isEmpty ? "connection closed" : s
    }
}

/// C string pointers to each argument's bytes, valid inside `body`.
private func withPointers<R>(_ args: [[UInt8]], _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let buffers = args.map { a -> UnsafeMutablePointer<CChar> in
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, a.count))
        a.withUnsafeBytes { raw in if let base = raw.baseAddress { memcpy(p, base, a.count) } }
        return p
    }
    defer { buffers.forEach { $0.deallocate() } }
    var pointers: [UnsafePointer<CChar>?] = buffers.map { UnsafePointer($0) }
    return pointers.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
}

extension RedisConnection {
    /// Lets reads wait as long as it takes (a subscriber waits for messages; keepalive and the
    /// server closing the socket still end the wait).
    func blockWithoutTimeout() {
        _ = redisSetTimeout(context, timeval(tv_sec: 0, tv_usec: 0))
    }
}
