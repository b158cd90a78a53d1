import Foundation
import Logging
import XCTest
@testable import KVServer
#if canImport(Glibc)
import Glibc
#endif

/// Replicas sharing sessions through a real `redis-server` (started by the test on a temporary
/// socket), with the model-free backend: two or three `Server`s in this process, each with its
/// own loop and state directory, like kvd processes on different machines.
final class SharedStoreTests: XCTestCase {
    var dir: URL!
    var redis: RedisTestServer!
    var replicas: [Replica] = []

    override func setUpWithError() throws {
        dir = URL(fileURLWithPath: "/tmp").appendingPathComponent("kvd-shared-\(UUID().uuidString.prefix(8))")
        redis = try RedisTestServer(directory: dir.appendingPathComponent("redis"))
    }

    override func tearDown() {
        for r in replicas { r.stop() }
        replicas = []
        redis = nil
        try? FileManager.default.removeItem(at: dir)
    }

    /// One kvd: a server with a fake backend, its loop and one client connection.
    final class Replica {
        let loop = EmbeddedLoop()
        let backend = FakeBackend()
        let server: Server
        let transport = InMemoryTransport()
        let connection: ClientConnection
        var responses: [Response] = []
        private var nextID: UInt64 = 1

        init(directory: URL, store: String?, prefix: String = "kvd", passwordFile: String? = nil) throws {
            var c = ServerConfiguration()
            c.stateDirectory = directory.appendingPathComponent("state").path
            c.telemetryDirectory = directory.appendingPathComponent("telemetry").path
            c.memoryBudget = 0
            c.defaultMaxNewTokens = 5
            c.store = try store.map { try StoreURL($0) }
            c.storePrefix = prefix
            c.storePasswordFile = passwordFile
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            server = try Server(configuration: c, backend: backend, loop: loop, logger: logger)
            connection = server.accept(transport, peer: nil)!
        }

        func stop() {
            guard !server.isStopping else { return }
            var done = false
            server.shutdown { done = true }
            loop.run(until: { done })
        }

        /// Sends a request and runs this replica's loop until its final answer.
        @discardableResult
        func call(_ op: Request.Operation, timeout: TimeInterval = 30) -> Response.Body {
            let id = nextID
            nextID += 1
            connection.received(FrameEncoder.frame(WireCodec.encode(Request(id: id, op))))
            let final = { self.responses.first { $0.id == id && $0.body.isFinal } }
            loop.run(until: {
                responses += (try? transport.readResponses()) ?? []
                connection.outputDrained()
                return final() != nil
            }, timeout: timeout)
            return final()?.body ?? .error(WireError(.unknown, "no answer in \(timeout) s"))
        }

        func load(_ id: String, _ document: String, shared: Bool = true, replace: Bool = false) -> Response.Body {
            call(.load(LoadRequest(session: id, document: document, replace: replace, shared: shared)))
        }

        func ask(_ id: String) -> Response.Body {
            call(.ask(AskRequest(session: id, question: "q", maxNewTokens: 3)))
        }

        var stats: DaemonStats {
            guard case .stats(let s) = call(.stats) else { return DaemonStats() }
            return s
        }

        var healthStatus: String {
            guard case .health(let status, _) = call(.health) else { return "" }
            return status
        }

        var sessions: [SessionInfo] {
            guard case .sessions(let list) = call(.sessions) else { return [] }
            return list
        }

        /// Runs the loop (where events from the store land) until `condition` holds.
        @discardableResult
        func wait(_ timeout: TimeInterval = 10, for condition: () -> Bool) -> Bool {
            loop.run(until: condition, timeout: timeout)
        }

        func telemetryEvents(_ session: String) -> [String] {
            let path = server.configuration.telemetryDirectory + "/" + session + ".csv"
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return TelemetryRow.records(text).map { $0["event"] ?? "" }
        }
    }

    func replica(_ name: String, prefix: String = "kvd", store: String? = nil, passwordFile: String? = nil) throws -> Replica {
        let r = try Replica(directory: dir.appendingPathComponent(name), store: store ?? redis.url, prefix: prefix, passwordFile: passwordFile)
        replicas.append(r)
        return r
    }

    func answer(_ body: Response.Body) -> String? {
        if case .ask(let r) = body { return r.answer }
        return nil
    }

    func keys(_ pattern: String = "*") throws -> [String] {
        try redis.cli("--scan", "--pattern", pattern).split(separator: "\n").map(String.init).sorted()
    }

    // MARK: Sharing

    func testAnAskOnAnotherReplicaFetchesTheSessionOnceAndAnswersTheSame() throws {
        let a = try replica("a"), b = try replica("b")
        guard case .load(let loaded) = a.load("doc", "alpha beta gamma delta") else { return XCTFail("load failed") }
        XCTAssertGreaterThan(loaded.session.storeVersion, 0, "load --shared answers once published")
        XCTAssertGreaterThan(loaded.session.sharedUnix, Date().timeIntervalSince1970 - 60)
        XCTAssertGreaterThan(loaded.metrics.storeBytes, 0)

        let first = b.ask("doc")
        XCTAssertEqual(answer(first), "alpha beta gamma")
        XCTAssertEqual(answer(first), answer(a.ask("doc")))
        guard case .ask(let r) = first else { return XCTFail("\(first)") }
        XCTAssertGreaterThan(r.metrics.storeMs, 0, "the ask's store_ms is the fetch")
        XCTAssertGreaterThan(r.metrics.storeBytes, 0)

        guard case .ask(let again) = b.ask("doc") else { return XCTFail("second ask failed") }
        XCTAssertEqual(again.metrics.storeBytes, 0, "a held session is not fetched again")
        let s = b.stats
        XCTAssertEqual(s.storeHits, 1)
        XCTAssertEqual(s.storeMisses, 0)
        XCTAssertGreaterThan(s.storeBytesIn, 0)
        XCTAssertTrue(s.store.hasPrefix("unix://"), s.store)
        XCTAssertEqual(b.telemetryEvents("doc").filter { $0 == "fetch" }.count, 1)
        XCTAssertTrue(a.telemetryEvents("doc").contains("load"))
        let info = b.sessions.first { $0.session == "doc" }
        XCTAssertEqual(info?.state, .resident)
        XCTAssertEqual(info?.storeVersion, loaded.session.storeVersion)
    }

    func testAWriteBehindLoadBecomesVisibleAndSessionsShowWhereEachLives() throws {
        let a = try replica("a"), b = try replica("b")
        guard case .load(let loaded) = a.load("doc", "one two three", shared: false) else { return XCTFail("load failed") }
        XCTAssertEqual(loaded.session.storeVersion, 0, "without --shared the answer does not wait")
        XCTAssertTrue(a.wait { a.sessions.first?.storeVersion ?? 0 > 0 }, "published in the background")
        _ = b.load("mine", "only here", shared: false)
        // Listed on B: its own (after its publish), and A's as `shared` (only in the store).
        XCTAssertTrue(b.wait { b.sessions.first { $0.session == "mine" }?.storeVersion ?? 0 > 0 })
        let listed = Dictionary(uniqueKeysWithValues: b.sessions.map { ($0.session, $0) })
        XCTAssertEqual(listed["doc"]?.state, .shared)
        XCTAssertEqual(listed["doc"]?.contextTokens, 3)
        XCTAssertEqual(listed["mine"]?.state, .resident)
        guard case .info(let info) = b.call(.info(session: "doc")) else { return XCTFail("info of a shared session") }
        XCTAssertEqual(info.state, .shared)
        XCTAssertGreaterThan(info.sharedUnix, 0)
        XCTAssertEqual(a.telemetryEvents("doc").filter { $0 == "publish" }.count, 1)
    }

    func testADropReachesEveryReplicaAndLeavesNoKeys() throws {
        let a = try replica("a"), b = try replica("b")
        _ = a.load("doc", "alpha beta gamma")
        XCTAssertEqual(answer(b.ask("doc")), "alpha beta gamma")
        XCTAssertEqual(a.call(.drop(session: "doc")), .drop(dropped: true))
        // The event unloads B's copy; and if it were missed, the ask's version check refuses it.
        XCTAssertTrue(b.wait { !b.server.store.contains("doc") }, "B forgets its copy on the drop event")
        XCTAssertEqual(b.ask("doc").errorCode, .notFound)
        XCTAssertEqual(try keys(), ["kvd:dropped:\(a.backend.storeFingerprints[0]):doc", "kvd:version"],
                       "the index entry, blob and reference count are gone; the drop is remembered")
        XCTAssertTrue(b.telemetryEvents("doc").contains("unload"))
    }

    func testAMissedDropIsCaughtByTheVersionCheck() throws {
        let a = try replica("a"), b = try replica("b")
        _ = a.load("doc", "alpha beta gamma")
        XCTAssertEqual(answer(b.ask("doc")), "alpha beta gamma")
        // As if B had been disconnected when the drop was announced: the drop script without its event.
        let fp = b.backend.storeFingerprints[0]
        _ = try redis.cli("EVAL", SharedIndex.dropScript, "2", "kvd:session:\(fp):doc", "kvd:dropped:\(fp):doc", "kvd", "unheard", "\(fp) doc", "x", "60")
        XCTAssertEqual(b.ask("doc").errorCode, .notFound)
        XCTAssertTrue(b.wait { !b.server.store.contains("doc") }, "the stale copy is forgotten")
    }

    func testAReplaceReachesTheOtherReplicaAndDeletesTheOldBlob() throws {
        let a = try replica("a"), b = try replica("b")
        _ = a.load("doc", "old words here")
        XCTAssertEqual(answer(b.ask("doc")), "old words here")
        _ = a.load("doc", "new words now", replace: true)
        XCTAssertEqual(answer(b.ask("doc")), "new words now", "the version check fetches the replacement")
        XCTAssertEqual(try keys("kvd:refs:*").count, 1, "the old blob lost its last reference")
        XCTAssertEqual(try keys("kvd:blob:*").count, 1)
    }

    func testTwoReplicasLoadingOneIdEndWithOneWinner() throws {
        let a = try replica("a"), b = try replica("b")
        // Both publishes run at once on their own writer lanes.
        a.connection.received(FrameEncoder.frame(WireCodec.encode(Request(id: 900, .load(LoadRequest(session: "x", document: "from a side", shared: true))))))
        b.connection.received(FrameEncoder.frame(WireCodec.encode(Request(id: 900, .load(LoadRequest(session: "x", document: "from b side", shared: true))))))
        for r in [a, b] {
            XCTAssertTrue(r.wait {
                r.responses += (try? r.transport.readResponses()) ?? []
                return r.responses.contains { $0.id == 900 && $0.body.isFinal }
            })
        }
        let index = try keys("kvd:session:*")
        XCTAssertEqual(index.count, 1)
        let sha = try redis.cli("HGET", index[0], "sha")
        XCTAssertEqual(try keys("kvd:refs:*"), ["kvd:refs:\(sha)"], "one blob, the winner's")
        XCTAssertEqual(try redis.cli("GET", "kvd:refs:\(sha)"), "1")
        XCTAssertEqual(try keys("kvd:blob:*"), ["kvd:blob:\(sha):0"])
        // Each replica converges on the winner through its version check.
        let winner = answer(a.ask("x"))
        XCTAssertTrue(winner == "from a side" || winner == "from b side", "\(winner ?? "nil")")
        XCTAssertEqual(answer(b.ask("x")), winner)
    }

    func testDroppingOneSessionLeavesAnotherOfTheSameTextWhole() throws {
        let a = try replica("a")
        _ = a.load("one", "same text")
        _ = a.load("two", "same text")
        XCTAssertEqual(try keys("kvd:session:*").count, 2)
        _ = a.call(.drop(session: "one"))
        let b = try replica("b")
        XCTAssertEqual(answer(b.ask("two")), "same text")
    }

    func testAPrefixKeepsDeploymentsApart() throws {
        let a = try replica("a"), other = try replica("c", prefix: "teamb")
        _ = a.load("doc", "alpha beta gamma")
        XCTAssertEqual(other.ask("doc").errorCode, .notFound)
        XCTAssertEqual(other.stats.storeMisses, 1)
        XCTAssertTrue(try keys("teamb:*").allSatisfy { $0 == "teamb:version" })
    }

    // MARK: Faults

    func testAChunkThatFailsItsHashIsNeverServed() throws {
        let a = try replica("a"), b = try replica("b")
        _ = a.load("doc", "alpha beta gamma")
        let chunk = try keys("kvd:blob:*")[0]
        _ = try redis.cli("SETRANGE", chunk, "20", "XXXX")
        let body = b.ask("doc")
        XCTAssertEqual(body.errorCode, .failedPrecondition)
        XCTAssertTrue(body.errorMessage.contains("session doc in the shared store is damaged"), body.errorMessage)
        XCTAssertTrue(body.errorMessage.contains("chunk 0"), body.errorMessage)
        XCTAssertFalse(b.server.store.contains("doc"), "nothing of it was taken in")
        XCTAssertEqual(b.stats.storeErrors, 1)
    }

    func testKeysEvictedByRedisReadAsAMiss() throws {
        let a = try replica("a"), b = try replica("b")
        _ = a.load("doc", "alpha beta gamma")
        _ = try redis.cli("DEL", try keys("kvd:blob:*")[0])
        XCTAssertEqual(b.ask("doc").errorCode, .notFound)
        XCTAssertEqual(b.stats.storeMisses, 1)
        XCTAssertEqual(try keys("kvd:session:*"), [], "an entry pointing at an evicted chunk is removed")
        XCTAssertEqual(try keys("kvd:refs:*"), [], "with its reference and what is left of its blob")
        XCTAssertEqual(try keys("kvd:blob:*"), [])
        // The replica that holds it serves it and publishes it again; then B finds it.
        XCTAssertEqual(answer(a.ask("doc")), "alpha beta gamma")
        XCTAssertTrue(a.wait { (try? self.keys("kvd:session:*").count) == 1 })
        XCTAssertEqual(answer(b.ask("doc")), "alpha beta gamma")
    }

    func testAPublishMissingAChunkLeavesNoIndexEntry() throws {
        // What a replica killed between its chunk writes and the index swap leaves: chunks with a
        // time to live, and a script that refuses to point an entry at a missing chunk.
        let index = SharedIndex(prefix: "kvd")
        let c = try RedisConnection(url: try StoreURL(redis.url), timeout: 5)
        _ = try c.command(["SET", index.blobKey("ab12", 0), "part", "NX", "PX", "600000"])
        let keys = [index.indexKey("f", "doc"), index.refsKey("ab12"), index.versionKey, index.blobKey("ab12", 0), index.blobKey("ab12", 1)]
        let reply = try c.command(["EVAL", SharedIndex.publishScript, String(keys.count)] + keys + ["{}", "ab12", "2", "kvd", "kvd:events", "f doc", "me"])
        guard case .error(let e) = reply else { return XCTFail("the script accepted a missing chunk: \(reply)") }
        XCTAssertTrue(e.contains("MISSING kvd:blob:ab12:1"), e)
        XCTAssertEqual(try c.command(["EXISTS", index.indexKey("f", "doc")]).integer, 0)
        XCTAssertGreaterThan(try c.command(["PTTL", index.blobKey("ab12", 0)]).integer ?? -1, 0, "the orphan chunk expires")
    }

    func testAnUnreachableStoreDegradesAndNothingIsLostWhenItReturns() throws {
        let a = try replica("a"), b = try replica("b")
        _ = a.load("before", "held before the outage")
        XCTAssertEqual(answer(b.ask("before")), "held before the")
        redis.kill9()
        // Loads still succeed here and are queued; asks on what each holds are served.
        guard case .load = a.load("during", "loaded during the outage", shared: false) else { return XCTFail("local load failed") }
        let refused = a.load("strict", "wants to be shared")
        XCTAssertEqual(refused.errorCode, .unavailable)
        XCTAssertTrue(refused.errorMessage.contains("loaded on this replica but not shared"), refused.errorMessage)
        XCTAssertEqual(answer(a.ask("during")), "loaded during the")
        XCTAssertEqual(answer(b.ask("before")), "held before the", "a held copy is served while the store is down")
        guard case .health(let status, _) = a.call(.health) else { return XCTFail("no health") }
        XCTAssertTrue(status.hasPrefix("degraded: store unreachable ("), status)
        XCTAssertGreaterThanOrEqual(a.stats.storePending, 2)
        let missing = b.ask("during")
        XCTAssertEqual(missing.errorCode, .unavailable)
        XCTAssertTrue(missing.errorMessage.contains("not on this replica and the shared store is unreachable"), missing.errorMessage)

        // Restarted without persistence, it lost "before" too: a replica holding a copy serves
        // it and publishes it again rather than forgetting it as if it had been dropped.
        try redis.restart()
        XCTAssertTrue(a.wait(20) { a.stats.storePending == 0 && (try? self.keys("kvd:session:*").count) == 2 },
                      "the waiting publishes go out once the store answers")
        let deadline = Date().addingTimeInterval(10)
        while b.healthStatus != "serving" && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertEqual(b.healthStatus, "serving", "B finds the store again on its own")
        XCTAssertEqual(answer(b.ask("during")), "loaded during the")
        XCTAssertEqual(answer(b.ask("strict")), "wants to be")
        XCTAssertEqual(answer(b.ask("before")), "held before the")
        XCTAssertTrue(b.wait { (try? self.keys("kvd:session:*").count) == 3 }, "the lost session is published again")
        let c = try replica("c")
        XCTAssertEqual(answer(c.ask("before")), "held before the")
        guard case .health(let after, _) = a.call(.health) else { return XCTFail("no health") }
        XCTAssertEqual(after, "serving")
    }

    func testSessionsLeftUnpublishedArePublishedAtTheNextStart() throws {
        var a = try replica("a", store: "unix://" + dir.appendingPathComponent("nothing.sock").path)
        _ = a.load("doc", "saved while alone", shared: false)
        a.stop()
        replicas.removeAll()
        a = try replica("a")
        XCTAssertTrue(a.wait { (try? self.keys("kvd:session:*").count) == 1 }, "published at start")
        let b = try replica("b")
        XCTAssertEqual(answer(b.ask("doc")), "saved while alone")
    }

    // MARK: Security

    func testAPasswordComesFromAPrivateFileAndAWrongOneDegrades() throws {
        redis = nil
        redis = try RedisTestServer(directory: dir.appendingPathComponent("redis-auth"), password: "s3cret-pw")
        let file = dir.appendingPathComponent("password").path
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "s3cret-pw\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        XCTAssertThrowsError(try replica("a", passwordFile: file)) { error in
            XCTAssertTrue("\(error)".contains("must be 0600"), "\(error)")
        }
        chmod(file, 0o600)
        let a = try replica("a", passwordFile: file)
        guard case .load(let loaded) = a.load("doc", "secret document") else { return XCTFail("load with AUTH failed") }
        XCTAssertGreaterThan(loaded.session.storeVersion, 0)

        let wrong = dir.appendingPathComponent("wrong").path
        try "nope".write(toFile: wrong, atomically: true, encoding: .utf8)
        chmod(wrong, 0o600)
        let b = try replica("b", passwordFile: wrong)
        XCTAssertEqual(b.ask("doc").errorCode, .unavailable)
        guard case .health(let status, _) = b.call(.health) else { return XCTFail("no health") }
        XCTAssertTrue(status.contains("AUTH refused"), status)
        XCTAssertFalse(b.stats.store.contains("s3cret"), "the password never shows")
    }

    func testHealthSeesAnOutageWhileIdleAndItsEnd() throws {
        let a = try replica("a")
        XCTAssertEqual(a.healthStatus, "serving")
        redis.kill9()
        var deadline = Date().addingTimeInterval(10)
        while !a.healthStatus.hasPrefix("degraded") && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertTrue(a.healthStatus.hasPrefix("degraded: store unreachable ("), "no request needed to notice: \(a.healthStatus)")
        try redis.restart()
        deadline = Date().addingTimeInterval(10)
        while a.healthStatus != "serving" && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertEqual(a.healthStatus, "serving")
    }

    func testAUserTheStoreDoesNotLetUseThePrefixDegrades() throws {
        _ = try redis.cli("ACL", "SETUSER", "teamb", "on", ">teamb-pw", "~teamb:*", "&teamb:*", "+@all")
        let file = dir.appendingPathComponent("teamb-password").path
        try "teamb-pw".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o600)
        let url = redis.url + "?user=teamb"
        let allowed = try replica("a", prefix: "teamb", store: url, passwordFile: file)
        guard case .load(let loaded) = allowed.load("doc", "team b text") else { return XCTFail("load under its own prefix") }
        XCTAssertGreaterThan(loaded.session.storeVersion, 0)
        let trespasser = try replica("b", prefix: "kvd", store: url, passwordFile: file)
        let refused = trespasser.load("doc", "not its prefix")
        XCTAssertEqual(refused.errorCode, .unavailable)
        XCTAssertTrue(refused.errorMessage.contains("NOPERM"), refused.errorMessage)
        XCTAssertTrue(trespasser.healthStatus.contains("give the store user the keys ~PREFIX:*"), trespasser.healthStatus)
    }
}
