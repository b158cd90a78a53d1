import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private redis-server for one test. Sessions shared across replicas live in Redis, so their tests
/// need a server they can crash, restart, lock with a password or move into a network namespace:
/// Debian's `/usr/bin/redis-server`, started by the test itself with a redis.conf in `directory`
/// (never the system service, whose port and data belong to the machine). A missing redis-server is
/// an error, not a skip: the tests would otherwise pass without testing anything.
final class RedisTestServer {
    static let serverPath = "/usr/bin/redis-server"
    static let cliPath = "/usr/bin/redis-cli"

    /// Holds redis.conf, redis.log, redis.sock and the data (appendonly directory).
    let directory: URL
    /// `<directory>/redis.sock`, or nil when the server has no unix socket.
    let socketPath: String?
    /// The TCP address it binds (also the host of `url`).
    let bind: String
    /// The TCP port, or nil when it listens on the unix socket only.
    private(set) var port: Int?
    let password: String?
    let user: String?
    let appendOnly: Bool
    let maxMemory: String?
    /// The network namespace it runs in (`ip netns exec`), nil for the test's own.
    let netns: String?

    var configPath: String { directory.appendingPathComponent("redis.conf").path }
    var logPath: String { directory.appendingPathComponent("redis.log").path }
    /// redis-server's own stdout and stderr (a config error is printed there, before the log opens).
    var outputPath: String { directory.appendingPathComponent("redis.out").path }

    private var process: Process?

    /// Writes redis.conf and starts the server; returns once it answers PING (10 s at most).
    /// TCP is on when `unixSocket` is false or a `port` is given; with no port a free one is chosen.
    /// `user` makes an ACL user with `password` and turns the default user off; a password alone is
    /// `requirepass`.
    init(directory: URL, unixSocket: Bool = true, bind: String = "127.0.0.1", port: Int? = nil,
         password: String? = nil, user: String? = nil, appendOnly: Bool = false, maxMemory: String? = nil,
         netns: String? = nil) throws {
        self.directory = directory
        self.bind = bind
        self.password = password
        self.user = user
        self.appendOnly = appendOnly
        self.maxMemory = maxMemory
        self.netns = netns
        socketPath = unixSocket ? directory.appendingPathComponent("redis.sock").path : nil
        for tool in [Self.serverPath, Self.cliPath] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw Failure("\(URL(fileURLWithPath: tool).lastPathComponent) is not installed; run scripts/install-deps")
        }
        if netns != nil { _ = try NetworkNamespaces.ipPath() }
        if let socketPath, socketPath.utf8.count > 107 {
            throw Failure("unix socket path too long for sun_path (\(socketPath.utf8.count) > 107 bytes): \(socketPath)")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

        // A chosen port can be taken between the probe and redis's bind: choose again then.
        let choosesPort = port == nil && !unixSocket
        self.port = choosesPort ? try Self.freePort(on: netns == nil ? bind : "127.0.0.1") : port
        var attempt = 1
        while true {
            try writeConfig()
            do {
                try start()
                return
            } catch let failure as Failure where choosesPort && attempt < 3 && failure.message.contains("Address already in use") {
                attempt += 1
                self.port = try Self.freePort(on: netns == nil ? bind : "127.0.0.1")
            }
        }
    }

    deinit { stop() }

    /// `unix://<socket>` when it has a unix socket, else `redis://[user:password@]host:port`.
    var url: String {
        if let socketPath { return "unix://" + socketPath }
        var auth = ""
        if let password { auth = (user.map(Self.percentEncoded) ?? "") + ":" + Self.percentEncoded(password) + "@" }
        let host = bind.contains(":") ? "[\(bind)]" : bind
        return "redis://\(auth)\(host):\(port ?? 0)"
    }

    var isRunning: Bool { process?.isRunning ?? false }

    /// redis-server's pid (`ip netns exec` execs it, so this is the server itself in a namespace too).
    var pid: Int32? { isRunning ? process?.processIdentifier : nil }

    /// redis.log and redis-server's own output, for failure messages.
    var log: String {
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let out = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return "redis.log:\n\(log)" + (out.isEmpty ? "" : "\nredis-server output:\n\(out)")
    }

    /// Runs redis-cli against this server with its credentials (`--raw`: replies as plain lines) and
    /// returns stdout trimmed. Error replies are output too ("ERR …", "NOAUTH …"): redis-cli exits 0 on
    /// them; it throws only when redis-cli itself fails (no connection).
    func cli(_ args: String...) throws -> String {
        try cli(user: user, password: password, args)
    }

    /// redis-cli with other credentials than the server's (a wrong password, none): the refusal is
    /// the output, e.g. "NOAUTH Authentication required.".
    func cli(user: String?, password: String?, _ args: [String], timeout: TimeInterval = 30) throws -> String {
        var argv = [Self.cliPath]
        if let socketPath { argv += ["-s", socketPath] } else { argv += ["-h", bind, "-p", String(port ?? 0)] }
        if let user { argv += ["--user", user] }
        if let password { argv += ["--pass", password] }
        argv += ["--no-auth-warning", "--raw"] + args
        let result = try command(argv).runCapturingOutput(timeout: timeout)
        guard result.status == 0 else { throw Failure("redis-cli \(args.joined(separator: " ")) failed: \(result.transcript)") }
        return result.trimmed
    }

    /// SIGKILL, as a crash: no AOF rewrite, no shutdown save.
    func kill9() { send(SIGKILL, wait: 10) }

    /// SIGTERM (redis flushes the AOF and exits) and waits; SIGKILL after 10 s.
    func stop() {
        send(SIGTERM, wait: 10)
        if isRunning { kill9() }
    }

    /// Starts it again with the same redis.conf and data directory (stopping it first if it runs):
    /// with `appendOnly` the data written before a `kill9` or `stop` is back.
    func restart() throws {
        stop()
        try start()
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        init(_ message: String) { self.message = message }
        var description: String { message }
    }

    // MARK: Private

    private func send(_ sig: Int32, wait seconds: TimeInterval) {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, sig)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if !process.isRunning { process.waitUntilExit() }
    }

    /// A process running `argv` in this server's namespace.
    private func command(_ argv: [String]) -> Process {
        let p = Process()
        if let netns, let ip = try? NetworkNamespaces.ipPath() {
            p.executableURL = URL(fileURLWithPath: ip)
            p.arguments = ["netns", "exec", netns] + argv
        } else {
            p.executableURL = URL(fileURLWithPath: argv[0])
            p.arguments = Array(argv.dropFirst())
        }
        return p
    }

    private func writeConfig() throws {
        var lines = [
            "# Written by RedisTestServer (Tests/KVServerTests) for one test: a private server, not the system service.",
            "daemonize no",
            "port \(port ?? 0)",
            "dir \(Self.quoted(directory.path))",
            "logfile \(Self.quoted(logPath))",
            // No RDB snapshots: a test's data lives in memory, or in the AOF when asked for.
            "save \"\"",
            "appendonly \(appendOnly ? "yes" : "no")",
            // Protected mode trusts only 127.0.0.1 and ::1 as peers; a test client at another address
            // (127.77.0.1 in a network namespace) would be refused. These servers are test-private.
            "protected-mode no",
        ]
        if port != nil { lines.append("bind \(bind)") }
        if let socketPath { lines += ["unixsocket \(Self.quoted(socketPath))", "unixsocketperm 700"] }
        // Every write on disk before its reply, so what a client was told OK survives kill9.
        if appendOnly { lines.append("appendfsync always") }
        if let maxMemory { lines += ["maxmemory \(maxMemory)", "maxmemory-policy allkeys-lru"] }
        if let user {
            let secret = password.map { Self.quoted(">" + $0) } ?? "nopass"
            lines += ["user \(Self.quoted(user)) on \(secret) ~* &* +@all", "user default off"]
        } else if let password {
            lines.append("requirepass \(Self.quoted(password))")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    private func start() throws {
        if !FileManager.default.fileExists(atPath: outputPath) { _ = FileManager.default.createFile(atPath: outputPath, contents: nil) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? output.close() }
        try output.seekToEnd()
        let p = command([Self.serverPath, configPath])
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = output
        p.standardError = output
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(10)
        var last = ""
        while Date() < deadline {
            guard p.isRunning else {
                p.waitUntilExit()
                throw Failure("redis-server exited (status \(p.terminationStatus)) before answering PING\n\(log)")
            }
            do {
                last = try cli(user: user, password: password, ["PING"], timeout: 2)
                if last == "PONG" { return }
            } catch {
                last = "\(error)"
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill9()
        throw Failure("redis-server did not answer PING within 10 s (last: \(last))\n\(log)")
    }

    /// A TCP port nobody listens on: the one the kernel gives a socket bound to port 0. In a network
    /// namespace the probe runs in the test's own namespace; a fresh namespace has every port free.
    static func freePort(on host: String) throws -> Int {
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var storage = sockaddr_storage()
        var length: socklen_t
        if v6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            guard inet_pton(AF_INET6, host, &a.sin6_addr) == 1 else { throw Failure("not an IPv6 address: \(host)") }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: a, as: sockaddr_in6.self) }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else { throw Failure("not an IPv4 address: \(host)") }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: a, as: sockaddr_in.self) }
        }
        let bound = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure("cannot bind a probe socket on \(host): \(String(cString: strerror(errno)))") }
        let port = withUnsafeBytes(of: storage) { raw in
            v6 ? raw.load(as: sockaddr_in6.self).sin6_port : raw.load(as: sockaddr_in.self).sin_port
        }
        return Int(UInt16(bigEndian: port))
    }

    /// A redis.conf argument in double quotes (sdssplitargs escapes), so paths and passwords may hold spaces.
    private static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    /// The URL userinfo form of a user or password (unreserved characters kept, the rest %XX).
    private static func percentEncoded(_ s: String) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}
