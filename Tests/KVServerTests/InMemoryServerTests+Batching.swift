import Foundation
import XCTest
@testable import KVServer

/// Continuous batching through the whole server: asks of several clients share steps, one can
/// stop without the others, and asks run while a long load is in progress.
extension InMemoryServerTests {
    func loadTwoSessions(_ c: Client) {
        roundTrip(c, Request(id: 1, .load(LoadRequest(session: "s1", document: "a b c d e f g"))))
        roundTrip(c, Request(id: 2, .load(LoadRequest(session: "s2", document: "u v w x y z"))))
    }

    func testAsksOfSeveralClientsShareSteps() {
        let clients = (0..<4).map { _ in Client(server) }
        loadTwoSessions(clients[0])
        backend.tokenDelay = 0.02
        for (i, c) in clients.enumerated() {
            c.send(Request(id: 10, .ask(AskRequest(session: i % 2 == 0 ? "s1" : "s2", question: "q", maxNewTokens: 5))))
        }
        loop.run(until: { clients.allSatisfy { $0.collect(); return $0.final(10) != nil } })
        for (i, c) in clients.enumerated() {
            guard case .ask(let a)? = c.final(10)?.body else { return XCTFail("\(String(describing: c.final(10)))") }
            XCTAssertEqual(a.answer, i % 2 == 0 ? "a b c d e" : "u v w x y")
        }
        XCTAssertEqual(backend.batchSizes.max(), 4, "all four asks ran in the same steps")
        XCTAssertLessThan(backend.steps, 2 * 5, "four answers of five tokens in about five steps, not twenty")
        guard case .stats(let s) = roundTrip(clients[0], Request(id: 11, .stats)).body else { return XCTFail() }
        XCTAssertEqual(s.steps, UInt64(backend.steps))
        XCTAssertGreaterThan(s.meanBatchSize, 1.5)
        XCTAssertEqual(s.generatedTokens, 20)
    }

    func testCancellingOneAskOfABatchLeavesTheOthers() {
        let a = Client(server), b = Client(server)
        roundTrip(a, Request(id: 1, .load(LoadRequest(session: "s", document: String(repeating: "w ", count: 300)))))
        backend.tokenDelay = 0.005
        a.send(Request(id: 2, .ask(AskRequest(session: "s", question: "q", maxNewTokens: 300))))
        b.send(Request(id: 2, .ask(AskRequest(session: "s", question: "q", maxNewTokens: 40))))
        loop.run(until: { a.collect(); return a.responses.contains { $0.id == 2 } })
        XCTAssertEqual(roundTrip(a, Request(id: 3, .cancel(targetID: 2))).body, .cancel(cancelled: true))
        loop.run(until: { a.collect(); b.collect(); return a.final(2) != nil && b.final(2) != nil })
        XCTAssertEqual(a.final(2).flatMap(errorCode), .cancelled)
        guard case .ask(let answer)? = b.final(2)?.body else { return XCTFail("\(String(describing: b.final(2)))") }
        XCTAssertEqual(answer.tokenIDs.count, 40, "the other ask of the batch ran to its end")
        XCTAssertEqual(answer.finishReason, .maxNewTokens)
    }

    func testAnAskIsAnsweredWhileALongLoadRuns() {
        let a = Client(server), b = Client(server)
        loadTwoSessions(a)
        backend.loadLayers = 40
        backend.layerDelay = 0.025
        a.send(Request(id: 5, .load(LoadRequest(session: "long", document: "l o n g"))))
        // The ask arrives after the load has started and is answered long before it ends.
        loop.run(until: { backend.loads == 3 })
        let r = roundTrip(b, Request(id: 6, .ask(AskRequest(session: "s1", question: "q", maxNewTokens: 3))))
        guard case .ask(let answer) = r.body else { return XCTFail("\(r)") }
        XCTAssertEqual(answer.answer, "a b c")
        a.collect()
        XCTAssertNil(a.final(5), "the load is still running")
        loop.run(until: { a.collect(); return a.final(5) != nil })
        guard case .load? = a.final(5)?.body else { return XCTFail("\(String(describing: a.final(5)))") }
    }
}

extension InMemoryServerTests {
    /// A drop sent while a load of its session runs waits for that load and then drops what it
    /// loaded, whether the load is the session's first or a replacing one (jobs keep their order).
    func testADropSentDuringALoadWaitsForItAndDropsWhatItLoaded() {
        let c = Client(server)
        backend.loadLayers = 10
        backend.layerDelay = 0.02
        for (n, replace) in [(UInt64(10), false), (20, true)] {
            if replace { roundTrip(c, Request(id: n - 1, .load(LoadRequest(session: "s", document: "old words")))) }
            let loads = backend.loads
            c.send(Request(id: n, .load(LoadRequest(session: "s", document: "new words", replace: replace))))
            loop.run(until: { backend.loads > loads })
            let r = roundTrip(c, Request(id: n + 1, .drop(session: "s")))
            XCTAssertEqual(r.body, .drop(dropped: true), "replace \(replace): \(r)")
            guard case .load? = c.final(n)?.body else { return XCTFail("replace \(replace): \(String(describing: c.final(n)))") }
            guard case .sessions(let list) = roundTrip(c, Request(id: n + 2, .sessions)).body else { return XCTFail() }
            XCTAssertEqual(list.map(\.session), [], "replace \(replace)")
        }
    }
}
