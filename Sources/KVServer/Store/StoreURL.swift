import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the shared session store is: `redis://[user:password@]host:port[/db]` (also `user@`,
/// `:password@`) or
/// `unix:///path/to/redis.sock[?db=N][&user=NAME]` (`store` in kvd.conf, `kvd --store`).
///
/// A password in the URL shows in `ps` when given as a flag: `store_password_file` (mode 0600)
/// is the way to give one; a password from the file replaces the URL's.
public struct StoreURL: Equatable, Sendable, CustomStringConvertible {
    public enum Endpoint: Equatable, Sendable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var endpoint: Endpoint
    /// Redis 6 ACL user (`AUTH user password`); nil with a password = `AUTH password`.
    public var user: String?
    public var password: String?
    /// `SELECT db` after connecting.
    public var database: Int

    /// Parses a store URL.
    /// - Throws: `ParseError` naming what is wrong.
    public init(_ text: String) throws {
        func fail(_ why: String) -> ParseError {
            ParseError(message: "invalid store URL '\(Self.redacted(text))': \(why); expected redis://[user:password@]host:port[/db] or unix:///path/to/redis.sock[?db=N][&user=NAME]")
        }
        guard text.count <= 4096 else { throw fail("longer than 4096 characters") }
        if text.hasPrefix("unix://") {
            var rest = String(text.dropFirst("unix://".count))
            database = 0
            user = nil
            password = nil
            if let q = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: q)...]
                rest = String(rest[..<q])
                for item in query.split(separator: "&") {
                    if item.hasPrefix("db="), let db = Int(item.dropFirst(3)), (0...15).contains(db) {
                        database = db
                    } else if item.hasPrefix("user="), let u = String(item.dropFirst(5)).removingPercentEncoding, !u.isEmpty {
                        user = u
                    } else {
                        throw fail("the queries are db=N (N from 0 to 15) and user=NAME")
                    }
                }
            }
            guard rest.hasPrefix("/"), rest.count > 1 else { throw fail("the socket path must be absolute") }
            endpoint = .unix(path: rest)
            return
        }
        guard text.hasPrefix("redis://") else { throw fail("the scheme must be redis:// or unix://") }
        var rest = Substring(text.dropFirst("redis://".count))
        user = nil
        password = nil
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let u = String(credentials[..<colon]).removingPercentEncoding ?? ""
                user = u.isEmpty ? nil : u
                password = String(credentials[credentials.index(after: colon)...]).removingPercentEncoding
            } else {
                // `user@host` names the user only (its password from store_password_file).
                let u = String(credentials).removingPercentEncoding ?? ""
                user = u.isEmpty ? nil : u
            }
        }
        database = 0
        if let slash = rest.firstIndex(of: "/") {
            let db = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !db.isEmpty {
                guard let n = Int(db), (0...15).contains(n) else { throw fail("the database must be a number from 0 to 15") }
                database = n
            }
        }
        let host: Substring, portText: Substring
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else { throw fail("a port is required") }
            portText = after.dropFirst()
        } else {
            guard let colon = rest.lastIndex(of: ":") else { throw fail("a port is required") }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard !host.isEmpty else { throw fail("a host is required") }
        guard let port = Int(portText), (1...65535).contains(port) else { throw fail("the port must be a number from 1 to 65535") }
        endpoint = .tcp(host: String(host), port: port)
    }

    /// The URL without its password (what logs, `kvctl stats` and errors show).
    public var description: String {
        switch endpoint {
        case .unix(let path):
            let query = (database != 0 ? ["db=\(database)"] : []) + (user.map { ["user=\($0)"] } ?? [])
            return "unix://\(path)" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        case .tcp(let host, let port):
            let who = user.map { password != nil ? "\($0):***@" : "\($0)@" } ?? (password != nil ? ":***@" : "")
            let h = host.contains(":") ? "[\(host)]" : host
            return "redis://\(who)\(h):\(port)" + (database != 0 ? "/\(database)" : "")
        }
    }

    /// `text` with any password replaced by `***` (for an error about an unparsable URL).
    static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text.range(of: "@", options: .backwards),
              scheme.upperBound <= at.lowerBound else { return text }
        let credentials = text[scheme.upperBound..<at.lowerBound]
        let user = credentials.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        return String(text[..<scheme.upperBound]) + (credentials.contains(":") ? user + ":***" : String(credentials)) + String(text[at.lowerBound...])
    }

    /// Why a store URL could not be read.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { message }
    }

    /// Reads a password file: refused unless it is a regular file that only its owner can read
    /// or write (mode 0600 or 0400), so the secret is not readable by others. One trailing
    /// newline is dropped.
    public static func readPassword(file path: String) throws -> String {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw ParseError(message: "cannot read store_password_file \(path): \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw ParseError(message: "store_password_file \(path) is not a regular file") }
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw ParseError(message: "store_password_file \(path) has mode \(String(mode, radix: 8)); it must be 0600 (chmod 600 \(path)) so that only its owner reads the password")
        }
        guard let data = FileManager.default.contents(atPath: path), data.count <= 4096,
              var text = String(data: data, encoding: .utf8) else {
            throw ParseError(message: "store_password_file \(path) is not a UTF-8 text of at most 4096 bytes")
        }
        if text.hasSuffix("\r\n") { text.removeLast(2) } else if text.hasSuffix("\n") { text.removeLast() }
        guard !text.isEmpty, !text.contains("\n") else { throw ParseError(message: "store_password_file \(path) must hold one line: the password") }
        return text
    }
}
