import Foundation
import XCTest
@testable import KVServer
#if canImport(Glibc)
import Glibc
#endif

/// Two kvd processes with the default model and one `redis-server` the test starts: what a user
/// running replicas sees.
extension EndToEndTests {
    func replica(_ name: String, _ redis: RedisTestServer, extra: [String] = []) throws -> DaemonProcess {
        try DaemonProcess(directory: dir.appendingPathComponent(name),
                          extraArguments: ["--model", Self.modelPath, "--store", redis.url] + extra)
    }

    func askResult(_ c: TestClient, _ session: String, _ q: String) throws -> Response.Body {
        try c.call(.ask(AskRequest(session: session, question: q, maxNewTokens: Self.maxNewTokens))).body
    }

    /// Load on A, ask on B: token-identical answers; the ask's CSV row carries the fetch; a drop on
    /// A is refused on B; Redis killed mid-run (A degrades, keeps loading and answering, B cannot
    /// fetch), then restarted with its append-only file: the session loaded meanwhile reaches B.
    func testReplicasShareASessionThroughRedisAndSurviveItsRestart() throws {
        try requireModel()
        let document = try Self.document
        let redis = try RedisTestServer(directory: dir.appendingPathComponent("redis"), appendOnly: true)
        let a = try replica("a", redis), b = try replica("b", redis)
        defer { a.terminate(); b.terminate() }
        let ca = try a.client(), cb = try b.client()

        let loaded = try ca.call(.load(LoadRequest(session: "kestrel", document: document, press: Self.press, shared: true))).body
        guard case .load(let load) = loaded else { return XCTFail("load: \(loaded)\n\(a.log)") }
        XCTAssertGreaterThan(load.session.storeVersion, 0)
        for (q, fact) in zip(Self.questions, Self.facts) {
            guard case .ask(let onB) = try askResult(cb, "kestrel", q), case .ask(let onA) = try askResult(ca, "kestrel", q) else {
                return XCTFail("ask failed\n\(b.log)")
            }
            XCTAssertEqual(onB.tokenIDs, onA.tokenIDs, "the shared session answers token for token as the loaded one")
            XCTAssertTrue(onB.answer.contains(fact), onB.answer)
        }
        let rows = try b.telemetry("kestrel")
        XCTAssertEqual(rows.map { $0["event"] ?? "" }, ["fetch", "restore", "ask", "ask", "ask"])
        XCTAssertGreaterThan(Double(rows[2]["store_bytes"] ?? "") ?? 0, Double(load.session.kvBytes), "the first ask fetched the snapshot")
        XCTAssertGreaterThan(Double(rows[2]["store_ms"] ?? "") ?? 0, 0)
        XCTAssertEqual(rows[3]["store_bytes"], "0")

        XCTAssertEqual(try ca.call(.drop(session: "kestrel")).body, .drop(dropped: true))
        XCTAssertEqual(try askResult(cb, "kestrel", Self.questions[0]).errorCode, .notFound)

        // The store goes away: A serves and loads locally, health says degraded.
        redis.kill9()
        let during = try ca.call(.load(LoadRequest(session: "during", document: document))).body
        guard case .load = during else { return XCTFail("a load must succeed while the store is down: \(during)") }
        guard case .ask(let local) = try askResult(ca, "during", Self.questions[0]) else { return XCTFail("local ask") }
        XCTAssertTrue(local.answer.contains(Self.facts[0]), local.answer)
        let kvctl = try Products.path("kvctl")
        let health = try run(kvctl, ["health", "--socket", a.socket])
        XCTAssertEqual(health.status, 12)
        XCTAssertTrue(health.stdout.hasPrefix("degraded: store unreachable ("), health.stdout)
        XCTAssertEqual(try askResult(cb, "during", Self.questions[0]).errorCode, .unavailable)

        try redis.restart()
        var fetched: Response.Body = .error(WireError(.unknown, "not tried"))
        let deadline = Date().addingTimeInterval(30)
        repeat {
            Thread.sleep(forTimeInterval: 0.25)
            fetched = try askResult(cb, "during", Self.questions[0])
        } while fetched.errorCode != nil && Date() < deadline
        guard case .ask(let shared) = fetched else { return XCTFail("the session loaded during the outage never reached B: \(fetched)\n\(a.log)") }
        XCTAssertEqual(shared.tokenIDs, local.tokenIDs)
        XCTAssertEqual(try run(kvctl, ["health", "--socket", a.socket]).status, 0)
    }

    /// kill -9 of a replica right after its load answered (its publish in flight): no index
    /// entry points at a missing chunk, and what was left expires.
    func testAReplicaKilledMidPublishLeavesNoEntryPointingAtMissingChunks() throws {
        try requireModel()
        let document = try Self.document
        let redis = try RedisTestServer(directory: dir.appendingPathComponent("redis"))
        for round in 0..<2 {
            let a = try replica("a\(round)", redis)
            let loaded = try a.client().call(.load(LoadRequest(session: "big\(round)", document: document))).body
            kill(a.process.processIdentifier, SIGKILL)
            a.process.waitUntilExit()
            guard case .load = loaded else { return XCTFail("load: \(loaded)") }
        }
        let index = try redis.cli("--scan", "--pattern", "kvd:session:*").split(separator: "\n").map(String.init)
        for key in index {
            let sha = try redis.cli("HGET", key, "sha")
            let chunks = Int(try redis.cli("HGET", key, "chunks")) ?? 0
            XCTAssertGreaterThan(chunks, 0)
            for n in 0..<chunks {
                XCTAssertEqual(try redis.cli("PTTL", "kvd:blob:\(sha):\(n)"), "-1", "\(key) points at chunk \(n), which must exist for good")
            }
        }
        let referenced = Set(try index.map { try redis.cli("HGET", $0, "sha") })
        for chunk in try redis.cli("--scan", "--pattern", "kvd:blob:*").split(separator: "\n").map(String.init) {
            let sha = chunk.split(separator: ":")[2]
            if !referenced.contains(String(sha)) {
                XCTAssertGreaterThan(Int(try redis.cli("PTTL", chunk)) ?? -1, 0, "an unreferenced chunk expires: \(chunk)")
            }
        }
        // A replica that asks gets a session or a clean NOT_FOUND, never damage.
        let b = try replica("b", redis)
        defer { b.terminate() }
        for round in 0..<2 {
            let body = try askResult(try b.client(), "big\(round)", Self.questions[0])
            if case .ask(let r) = body { XCTAssertTrue(r.answer.contains(Self.facts[0]), r.answer) } else {
                XCTAssertEqual(body.errorCode, .notFound, "\(body)")
            }
        }
    }
}

extension EndToEndTests {
    /// Each replica and the store in its own network namespace, on one link with loopback-range
    /// addresses: the store is reached across a network (TCP, an ACL user and password), never
    /// through the machine's loopback. Clients reach each kvd through its Unix socket (a file).
    func testReplicasInTheirOwnNetworkNamespacesShareThroughTheNetwork() throws {
        try requireModel()
        let document = try Self.document
        let net = try NetworkNamespaces(count: 3)
        defer { net.tearDown() }
        let (storeNS, nsA, nsB) = (net.names[0], net.names[1], net.names[2])
        let redis = try RedisTestServer(directory: dir.appendingPathComponent("redis"), unixSocket: false,
                                        bind: net.address(of: storeNS)!, password: "replica-pw", user: "kvd", netns: storeNS)
        XCTAssertTrue(redis.url.hasPrefix("redis://kvd:"), redis.url)
        let passwordFile = dir.appendingPathComponent("store-password").path
        try "replica-pw\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(passwordFile, 0o600), 0)
        let storeURL = "redis://kvd@\(net.address(of: storeNS)!):\(redis.port ?? 0)"
        func start(_ name: String, _ ns: String) throws -> DaemonProcess {
            try DaemonProcess(directory: dir.appendingPathComponent(name),
                              extraArguments: ["--model", Self.modelPath, "--store", storeURL, "--store-password-file", passwordFile,
                                               "--store-prefix", "netns-test"],
                              launcher: [try NetworkNamespaces.ipPath(), "netns", "exec", ns])
        }
        let a = try start("a", nsA), b = try start("b", nsB)
        defer { a.terminate(); b.terminate() }
        XCTAssertFalse(a.log.contains("replica-pw"), "the password stays out of the log")

        let loaded = try a.client().call(.load(LoadRequest(session: "kestrel", document: document, press: Self.press, shared: true))).body
        guard case .load(let load) = loaded else { return XCTFail("load: \(loaded)\n\(a.log)") }
        XCTAssertGreaterThan(load.session.storeVersion, 0)
        guard case .ask(let onB) = try askResult(try b.client(), "kestrel", Self.questions[0]),
              case .ask(let onA) = try askResult(try a.client(), "kestrel", Self.questions[0]) else { return XCTFail("ask\n\(b.log)") }
        XCTAssertEqual(onB.tokenIDs, onA.tokenIDs)
        XCTAssertTrue(onB.answer.contains(Self.facts[0]), onB.answer)
        guard case .stats(let stats) = try b.client().call(.stats).body else { return XCTFail("stats") }
        XCTAssertEqual(stats.storeHits, 1)
        XCTAssertTrue(stats.store.contains(net.address(of: storeNS)!), stats.store)
        XCTAssertFalse(stats.store.contains("replica-pw"))
        XCTAssertEqual(try redis.cli("--scan", "--pattern", "netns-test:session:*").split(separator: "\n").count, 1)
    }
}
