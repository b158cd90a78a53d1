import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The Redis fixture itself (RedisTestServer, NetworkNamespaces): the shared-session tests build on
/// it, so it must be right first. Every server, namespace and directory is removed by a teardown
/// block, which runs when a test fails too (last made, first removed: servers before namespaces).
final class RedisTestServerTests: XCTestCase {
    func testUnixSocketPingSetGet() throws {
        let redis = try server()
        let socket = try XCTUnwrap(redis.socketPath)
        XCTAssertEqual(redis.url, "unix://" + socket)
        XCTAssertEqual(try redis.cli("PING"), "PONG")
        XCTAssertEqual(try redis.cli("SET", "session:1", "hello world"), "OK")
        XCTAssertEqual(try redis.cli("GET", "session:1"), "hello world")
        XCTAssertEqual(try redis.cli("CONFIG", "GET", "port"), "port\n0", "no TCP listener")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int, 0o700)
    }

    func testTCPWithPasswordRefusesAWrongOne() throws {
        // Quotes, a backslash, a space, ':' and '@': redis.conf quoting and the URL's percent-encoding.
        let redis = try server(unixSocket: false, password: #"s3cret "pw" \ :@"#)
        let port = try XCTUnwrap(redis.port)
        XCTAssertNil(redis.socketPath)
        XCTAssertEqual(redis.url, "redis://:s3cret%20%22pw%22%20%5C%20%3A%40@127.0.0.1:\(port)")
        XCTAssertEqual(try redis.cli("SET", "k", "v"), "OK")
        XCTAssertEqual(try redis.cli("GET", "k"), "v")
        XCTAssertTrue(try redis.cli(user: nil, password: "wrong", ["GET", "k"]).hasPrefix("NOAUTH"))
        XCTAssertTrue(try redis.cli(user: nil, password: nil, ["GET", "k"]).hasPrefix("NOAUTH"))
    }

    func testTCPWithACLUserTurnsTheDefaultUserOff() throws {
        let redis = try server(unixSocket: false, password: "pw", user: "replica")
        let port = try XCTUnwrap(redis.port)
        XCTAssertEqual(redis.url, "redis://replica:pw@127.0.0.1:\(port)")
        XCTAssertEqual(try redis.cli("ACL", "WHOAMI"), "replica")
        XCTAssertTrue(try redis.cli(user: "replica", password: "wrong", ["PING"]).hasPrefix("NOAUTH"))
        XCTAssertTrue(try redis.cli(user: nil, password: "pw", ["PING"]).hasPrefix("NOAUTH"), "the default user is off")
    }

    func testMaxMemorySetsTheLimitAndLRUEviction() throws {
        let redis = try server(maxMemory: "4mb")
        XCTAssertEqual(try redis.cli("CONFIG", "GET", "maxmemory"), "maxmemory\n4194304")
        XCTAssertEqual(try redis.cli("CONFIG", "GET", "maxmemory-policy"), "maxmemory-policy\nallkeys-lru")
    }

    func testAStartFailureCarriesRedisOwnWords() throws {
        XCTAssertThrowsError(try RedisTestServer(directory: makeDirectory(), maxMemory: "plenty")) {
            XCTAssertTrue("\($0)".contains("FATAL CONFIG FILE ERROR"), "\($0)")
        }
    }

    func testAppendOnlyDataSurvivesKill9AndRestart() throws {
        let redis = try server(appendOnly: true)
        XCTAssertEqual(try redis.cli("SET", "survives", "yes"), "OK")
        let firstPID = redis.pid
        redis.kill9()
        XCTAssertFalse(redis.isRunning)
        XCTAssertThrowsError(try redis.cli("PING"), "nobody listens after kill9")
        try redis.restart()
        XCTAssertNotEqual(redis.pid, firstPID)
        XCTAssertEqual(try redis.cli("GET", "survives"), "yes")
        XCTAssertEqual(try redis.cli("SET", "after", "stop"), "OK")
        try redis.restart()
        XCTAssertEqual(try redis.cli("MGET", "survives", "after"), "yes\nstop")
    }

    /// The control of the test above: without the AOF a crash loses everything.
    func testWithoutAppendOnlyKill9LosesTheData() throws {
        let redis = try server()
        XCTAssertEqual(try redis.cli("SET", "lost", "yes"), "OK")
        redis.kill9()
        try redis.restart()
        XCTAssertEqual(try redis.cli("EXISTS", "lost"), "0")
    }

    func testServerInOneNamespaceIsReachedFromTheOther() throws {
        let ns = try namespaces(count: 2)
        let (a, b) = (ns.names[0], ns.names[1])
        let redis = try server(unixSocket: false, bind: ns.addresses[1], password: "pw", netns: b)
        let port = try XCTUnwrap(redis.port)
        XCTAssertEqual(redis.url, "redis://:pw@127.77.0.2:\(port)")

        let set = try ns.run(a, cliArgv(host: ns.addresses[1], port: port, password: "pw", "SET", "shared", "from-a"))
        XCTAssertEqual(set.trimmed, "OK", set.transcript)
        XCTAssertEqual(try redis.cli("GET", "shared"), "from-a")
        let info = try ns.run(a, cliArgv(host: ns.addresses[1], port: port, password: "pw", "CLIENT", "INFO"))
        XCTAssertTrue(info.stdout.contains("addr=127.77.0.1:"), "the client comes from A's address: \(info.transcript)")

        // A's 127.0.0.1 is its own loopback: a server on the machine's 127.0.0.1 is out of reach.
        let machine = try server(unixSocket: false)
        let machinePort = try XCTUnwrap(machine.port)
        XCTAssertEqual(try machine.cli("PING"), "PONG")
        let probe = try ns.run(a, cliArgv(host: "127.0.0.1", port: machinePort, "PING"), timeout: 10)
        XCTAssertNotEqual(probe.trimmed, "PONG")
        XCTAssertTrue(probe.stderr.contains("Connection refused"), probe.transcript)

        // And B's server is not on the machine's network (127.77.0.2 here is the machine's loopback).
        let outside = Process()
        outside.executableURL = URL(fileURLWithPath: RedisTestServer.cliPath)
        outside.arguments = Array(cliArgv(host: ns.addresses[1], port: port, password: "pw", "PING").dropFirst())
        XCTAssertNotEqual(try outside.runCapturingOutput(timeout: 10).trimmed, "PONG")
    }

    func testThreeNamespacesShareOneLinkAndInstancesDoNotCollide() throws {
        let ns = try namespaces(count: 3)
        let other = try namespaces(count: 2)
        XCTAssertTrue(Set(ns.names + [ns.hub]).isDisjoint(with: other.names + [other.hub]))
        for name in ns.names + ns.interfaces + [ns.hub] {
            XCTAssertTrue(name.hasPrefix("kvdt") && name.count <= 15, name)
        }
        XCTAssertEqual(ns.addresses, ["127.77.0.1", "127.77.0.2", "127.77.0.3"])

        let redis = try server(unixSocket: false, bind: ns.addresses[1], netns: ns.names[1])
        let port = try XCTUnwrap(redis.port)
        // A policy rule unmerges the local and main tables: the link still wins over 127.0.0.0/8.
        let rule = try ns.run(ns.names[2], [try NetworkNamespaces.ipPath(), "rule", "add", "pref", "100", "from", "10.9.9.9", "lookup", "main"])
        XCTAssertEqual(rule.status, 0, rule.transcript)
        for client in [ns.names[0], ns.names[2]] {
            let ping = try ns.run(client, cliArgv(host: ns.addresses[1], port: port, "PING"))
            XCTAssertEqual(ping.trimmed, "PONG", "\(client): \(ping.transcript)")
        }
        // The same address in another instance is another link: there nobody listens on it.
        let probe = try other.run(other.names[0], cliArgv(host: other.addresses[1], port: port, "PING"), timeout: 10)
        XCTAssertTrue(probe.stderr.contains("Connection refused"), probe.transcript)
    }

    func testTearDownKillsWhatRunsInsideAndDeletesTheNamespaces() throws {
        let ns = try NetworkNamespaces(count: 2)
        addTeardownBlock { ns.tearDown() }
        let sleeper = ns.exec(ns.names[0], ["/bin/sleep", "600"])
        try sleeper.run()
        XCTAssertTrue(try namespaceList().contains(ns.names[0]))
        ns.tearDown()
        let deadline = Date().addingTimeInterval(10)
        while sleeper.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertFalse(sleeper.isRunning)
        if sleeper.isRunning { kill(sleeper.processIdentifier, SIGKILL) }
        let left = try namespaceList()
        for name in ns.names + [ns.hub] { XCTAssertFalse(left.contains(name), "\(name) is left: \(left)") }
    }

    // MARK: Helpers

    /// A fresh directory under /tmp (short: the unix socket path must fit sun_path), removed after the test.
    private func makeDirectory() throws -> URL {
        let dir = URL(fileURLWithPath: "/tmp/kvd-redis-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// A server stopped after the test, whatever its outcome.
    private func server(unixSocket: Bool = true, bind: String = "127.0.0.1", password: String? = nil, user: String? = nil,
                        appendOnly: Bool = false, maxMemory: String? = nil, netns: String? = nil) throws -> RedisTestServer {
        let s = try RedisTestServer(directory: makeDirectory(), unixSocket: unixSocket, bind: bind, password: password, user: user,
                                    appendOnly: appendOnly, maxMemory: maxMemory, netns: netns)
        addTeardownBlock { s.stop() }
        return s
    }

    /// Namespaces deleted after the test, after the servers made later are stopped.
    private func namespaces(count: Int) throws -> NetworkNamespaces {
        let ns = try NetworkNamespaces(count: count)
        addTeardownBlock { ns.tearDown() }
        return ns
    }

    /// redis-cli's argv for a client that is not the fixture's own (in another namespace).
    private func cliArgv(host: String, port: Int, password: String? = nil, _ args: String...) -> [String] {
        [RedisTestServer.cliPath, "-h", host, "-p", String(port)] + (password.map { ["--pass", $0] } ?? [])
            + ["--no-auth-warning", "--raw"] + args
    }

    private func namespaceList() throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try NetworkNamespaces.ipPath())
        p.arguments = ["netns", "list"]
        return try p.runCapturingOutput().stdout
    }
}
