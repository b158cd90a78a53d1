import Foundation
import Logging
import XCTest
@testable import KVServer

/// Protocol tests on an `EmbeddedLoop` and `InMemoryTransport`s with a model-free backend:
/// no sockets, no libuv, no model.
final class InMemoryServerTests: XCTestCase {
    var dir: URL!
    var loop: EmbeddedLoop!
    var backend: FakeBackend!
    var server: Server!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvd-mem-\(UUID().uuidString)")
        try makeServer()
    }

    override func tearDown() {
        if let server, !server.isStopping {
            var done = false
            server.shutdown { done = true }
            loop.run(until: { done })
        }
        try? FileManager.default.removeItem(at: dir)
    }

    func makeServer(budget: Int = 0, maxFrame: Int = 1 << 20, maxOutput: Int = 8 << 20) throws {
        if let server, !server.isStopping {
            var done = false
            server.shutdown { done = true }
            loop.run(until: { done })
        }
        var c = ServerConfiguration()
        c.stateDirectory = dir.appendingPathComponent("state").path
        c.telemetryDirectory = dir.appendingPathComponent("telemetry").path
        c.memoryBudget = budget
        c.maxFrame = maxFrame
        c.maxOutput = maxOutput
        c.defaultMaxNewTokens = 5
        loop = EmbeddedLoop()
        backend = FakeBackend()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        server = try Server(configuration: c, backend: backend, loop: loop, logger: logger)
    }

    final class Client {
        let transport = InMemoryTransport()
        let connection: ClientConnection
        var responses: [Response] = []
        init(_ server: Server) { connection = server.accept(transport, peer: nil)! }
        func send(_ r: Request) { connection.received(FrameEncoder.frame(WireCodec.encode(r))) }
        /// Reads what kvd wrote, and tells it so (as libuv's write callbacks do).
        func collect() {
            responses += (try? transport.readResponses()) ?? []
            connection.outputDrained()
        }
        func final(_ id: UInt64) -> Response? { responses.first { $0.id == id && $0.body.isFinal } }
    }

    @discardableResult
    func roundTrip(_ c: Client, _ r: Request) -> Response {
        c.send(r)
        loop.run(until: { c.collect(); return c.final(r.id) != nil })
        guard let response = c.final(r.id) else {
            XCTFail("no answer to \(r.operation.name)")
            return Response(id: r.id, .error(WireError(.unknown, "none")))
        }
        return response
    }

    func errorCode(_ r: Response) -> WireCode? {
        if case .error(let e) = r.body { return e.code }
        return nil
    }

    func testHealthCatalogsAndStats() {
        let c = Client(server)
        XCTAssertEqual(roundTrip(c, Request(id: 1, .health)).body, .health(status: "serving", version: Server.version))
        guard case .presses(let p) = roundTrip(c, Request(id: 2, .presses)).body else { return XCTFail() }
        XCTAssertEqual(p.first?.name, "knorm")
        guard case .stats(let s) = roundTrip(c, Request(id: 3, .stats)).body else { return XCTFail() }
        XCTAssertEqual(s.connections, 1)
        XCTAssertEqual(s.requests, 3)
    }

    func testLoadAskStreamsTokensThenFinal() {
        let c = Client(server)
        guard case .load(let l) = roundTrip(c, Request(id: 1, .load(LoadRequest(session: "doc", document: "alpha beta gamma delta")))).body else {
            return XCTFail("load failed: \(c.responses)")
        }
        XCTAssertEqual(l.session.contextTokens, 4)
        let final = roundTrip(c, Request(id: 2, .ask(AskRequest(session: "doc", question: "what?", maxNewTokens: 3))))
        let tokens = c.responses.filter { $0.id == 2 && !$0.body.isFinal }
        XCTAssertEqual(tokens.count, 3)
        guard case .ask(let a) = final.body else { return XCTFail("\(final)") }
        XCTAssertEqual(a.answer, "alpha beta gamma")
        XCTAssertEqual(c.responses.last?.id, 2, "the final message comes after the tokens")
        guard case .sessions(let list) = roundTrip(c, Request(id: 3, .sessions)).body else { return XCTFail() }
        XCTAssertEqual(list.map(\.session), ["doc"])
        XCTAssertEqual(list.first?.asks, 1)
    }

    func testErrorsKeepTheConnectionServing() {
        let c = Client(server)
        XCTAssertEqual(errorCode(roundTrip(c, Request(id: 1, .ask(AskRequest(session: "nope", question: "q"))))), .notFound)
        XCTAssertEqual(errorCode(roundTrip(c, Request(id: 2, .load(LoadRequest(session: "../../etc/passwd", document: "x"))))), .invalidArgument)
        XCTAssertEqual(errorCode(roundTrip(c, Request(id: 3, .load(LoadRequest(session: "a", document: "x", press: "bogus"))))), .invalidArgument)
        XCTAssertEqual(errorCode(roundTrip(c, Request(id: 4, .load(LoadRequest(session: "a", document: "  "))))), .invalidArgument)
        roundTrip(c, Request(id: 5, .load(LoadRequest(session: "a", document: "x y"))))
        XCTAssertEqual(errorCode(roundTrip(c, Request(id: 6, .load(LoadRequest(session: "a", document: "x y"))))), .alreadyExists)
        XCTAssertNil(errorCode(roundTrip(c, Request(id: 7, .load(LoadRequest(session: "a", document: "x y z", replace: true))))))
        // Malformed protobuf inside a valid frame: INVALID_ARGUMENT, connection stays open.
        c.connection.received(FrameEncoder.frame([0xFF, 0xFF, 0xFF]))
        loop.run()
        c.collect()
        XCTAssertEqual(c.responses.last.flatMap(errorCode), .invalidArgument)
        XCTAssertFalse(c.transport.isClosed)
        XCTAssertEqual(roundTrip(c, Request(id: 8, .health)).body, .health(status: "serving", version: Server.version))
    }

    func testOversizedFrameIsRefusedAndClosesOnlyThatConnection() throws {
        try makeServer(maxFrame: 1024)
        let bad = Client(server), good = Client(server)
        bad.connection.received([0x00, 0x10, 0x00, 0x00])  // 1 MiB announced
        bad.collect()
        XCTAssertEqual(bad.responses.first.flatMap(errorCode), .resourceExhausted)
        XCTAssertTrue(bad.transport.isClosed)
        XCTAssertEqual(roundTrip(good, Request(id: 1, .health)).body, .health(status: "serving", version: Server.version))
    }

    /// Loads a 200-word session with request 1 and starts a slow streamed ask `id` on it; returns
    /// once its first token arrived.
    func startStreamingAsk(_ c: Client, id: UInt64) {
        roundTrip(c, Request(id: 1, .load(LoadRequest(session: "s", document: String(repeating: "w ", count: 200)))))
        backend.tokenDelay = 0.01
        c.send(Request(id: id, .ask(AskRequest(session: "s", question: "q", maxNewTokens: 200))))
        loop.run(until: { c.collect(); return c.responses.contains { $0.id == id } })
    }

    func testCancelStopsARunningAsk() {
        let c = Client(server)
        startStreamingAsk(c, id: 2)
        XCTAssertEqual(roundTrip(c, Request(id: 3, .cancel(targetID: 2))).body, .cancel(cancelled: true))
        loop.run(until: { c.collect(); return c.final(2) != nil })
        guard let final = c.final(2) else { return XCTFail("no final answer") }
        XCTAssertEqual(errorCode(final), .cancelled)
        XCTAssertLessThan(c.responses.filter { $0.id == 2 && !$0.body.isFinal }.count, 200)
        XCTAssertEqual(roundTrip(c, Request(id: 4, .cancel(targetID: 99))).body, .cancel(cancelled: false))
    }

    func testDisconnectCancelsAndOthersAreServed() {
        let a = Client(server), b = Client(server)
        roundTrip(a, Request(id: 1, .load(LoadRequest(session: "s", document: String(repeating: "w ", count: 300)))))
        backend.tokenDelay = 0.005
        a.send(Request(id: 2, .ask(AskRequest(session: "s", question: "q", maxNewTokens: 300))))
        loop.run(until: { a.collect(); return a.responses.contains { $0.id == 2 } })
        a.connection.transportClosed()
        let start = Date()
        let r = roundTrip(b, Request(id: 1, .ask(AskRequest(session: "s", question: "q", maxNewTokens: 2))))
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.0, "the abandoned ask must stop, not run 300 tokens")
        guard case .ask(let answer) = r.body else { return XCTFail("\(r)") }
        XCTAssertEqual(answer.tokenIDs.count, 2)
    }

    func testDeadline() {
        let c = Client(server)
        roundTrip(c, Request(id: 1, .load(LoadRequest(session: "s", document: String(repeating: "w ", count: 100)))))
        backend.tokenDelay = 0.01
        XCTAssertEqual(errorCode(roundTrip(c, Request(id: 2, deadlineMs: 50, .ask(AskRequest(session: "s", question: "q", maxNewTokens: 100))))), .deadlineExceeded)
    }

    func testBudgetEvictsLeastRecentlyUsedAndRestoresLazily() throws {
        try makeServer(budget: 1000)  // 10 words per session fit at 100 bytes each
        let c = Client(server)
        let doc = "one two three four five"
        roundTrip(c, Request(id: 1, .load(LoadRequest(session: "a", document: doc))))
        roundTrip(c, Request(id: 2, .load(LoadRequest(session: "b", document: doc))))
        roundTrip(c, Request(id: 3, .load(LoadRequest(session: "c", document: doc))))  // evicts a
        guard case .info(let a) = roundTrip(c, Request(id: 4, .info(session: "a"))).body else { return XCTFail() }
        XCTAssertEqual(a.state, .saved)
        guard case .ask(let answer) = roundTrip(c, Request(id: 5, .ask(AskRequest(session: "a", question: "q", maxNewTokens: 2)))).body else { return XCTFail() }
        XCTAssertEqual(answer.answer, "one two")
        XCTAssertEqual(backend.restores, 1)
        XCTAssertEqual(backend.loads, 3)
        guard case .stats(let s) = roundTrip(c, Request(id: 6, .stats)).body else { return XCTFail() }
        XCTAssertEqual(s.sessionsResident, 2)
        XCTAssertEqual(s.sessionsSaved, 1)
        XCTAssertLessThanOrEqual(s.kvBytes, 1000)
        XCTAssertEqual(errorCode(roundTrip(c, Request(id: 7, .load(LoadRequest(session: "huge", document: String(repeating: "w ", count: 20)))))), .resourceExhausted)
        let csv = try String(contentsOf: dir.appendingPathComponent("telemetry/a.csv"), encoding: .utf8)
        XCTAssertEqual(TelemetryRow.records(csv).map { $0["event"] }, ["load", "evict", "restore", "ask"])
    }

    func testShutdownSavesAndRestartRestores() throws {
        let c = Client(server)
        roundTrip(c, Request(id: 1, .load(LoadRequest(session: "keep", document: "red green blue"))))
        var done = false
        server.shutdown { done = true }
        loop.run(until: { done })
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("state/keep.kvds").path))
        try makeServer()
        let d = Client(server)
        guard case .info(let info) = roundTrip(d, Request(id: 1, .info(session: "keep"))).body else { return XCTFail() }
        XCTAssertEqual(info.state, .saved)
        guard case .ask(let a) = roundTrip(d, Request(id: 2, .ask(AskRequest(session: "keep", question: "q", maxNewTokens: 3)))).body else { return XCTFail() }
        XCTAssertEqual(a.answer, "red green blue")
        XCTAssertEqual(backend.loads, 0)
        XCTAssertEqual(backend.restores, 1)
        XCTAssertEqual(roundTrip(d, Request(id: 3, .drop(session: "keep"))).body, .drop(dropped: true))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("state/keep.kvds").path))
    }

    func testStoppingServerRefusesWork() {
        let c = Client(server)
        server.shutdown {}
        // Both requests go in before the loop runs: with nothing to save, shutdown finishes (and
        // closes every connection) on the loop's next turn.
        c.send(Request(id: 1, .load(LoadRequest(session: "s", document: "x"))))
        c.send(Request(id: 2, .health))
        loop.run(until: { c.collect(); return c.final(1) != nil && c.final(2) != nil })
        XCTAssertEqual(c.final(1).flatMap(errorCode), .unavailable)
        XCTAssertEqual(c.final(2)?.body, .health(status: "stopping", version: Server.version))
        loop.run(until: { false }, timeout: 0.2)
    }
}
