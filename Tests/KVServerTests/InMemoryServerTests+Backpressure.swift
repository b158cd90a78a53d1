import Foundation
import XCTest
@testable import KVServer

/// A client that does not read its answers cannot grow kvd's memory or hold the worker (issue 15,
/// item 3: one connection sending `presses` in a loop without reading grew kvd by 417 MB in 4 s).
extension InMemoryServerTests {
    func testAClientThatDoesNotReadIsNoLongerRead() throws {
        try makeServer(maxOutput: 64 << 10)
        let c = Client(server)
        var frames: [UInt8] = []
        for i in 1...5000 { frames += FrameEncoder.frame(WireCodec.encode(Request(id: UInt64(i), .presses))) }
        c.connection.received(frames)
        loop.run(until: { false }, timeout: 0.2)
        XCTAssertFalse(c.transport.isReading, "kvd stops reading a client that leaves its answers unread")
        XCTAssertLessThan(c.transport.written.count, (64 << 10) + 4096, "unread answers stay near max_output")
        XCTAssertFalse(c.transport.isClosed)
        // Once it reads, it is read again, up to its last request.
        loop.run(until: { c.collect(); return c.final(5000) != nil })
        XCTAssertEqual(Set(c.responses.map(\.id)).count, 5000)
        XCTAssertTrue(c.transport.isReading)
    }

    func testAStreamedAskNobodyReadsIsCutOffAndFreesTheWorker() throws {
        try makeServer(maxOutput: 64 << 10)
        let a = Client(server), b = Client(server)
        let document = Array(repeating: String(repeating: "x", count: 4000), count: 200).joined(separator: " ")
        roundTrip(a, Request(id: 1, .load(LoadRequest(session: "big", document: document))))
        backend.tokenDelay = 0.01
        a.send(Request(id: 2, .ask(AskRequest(session: "big", question: "q", maxNewTokens: 200))))  // 800 KB of tokens
        loop.run(until: { a.transport.isClosed }, timeout: 10)
        XCTAssertTrue(a.transport.isAborted, "past four times max_output the connection is dropped")
        let start = Date()
        guard case .ask(let answer) = roundTrip(b, Request(id: 1, .ask(AskRequest(session: "big", question: "q", maxNewTokens: 2)))).body else {
            return XCTFail("\(b.responses)")
        }
        XCTAssertEqual(answer.tokenIDs.count, 2)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.0, "the unread ask was cancelled, not run to 200 tokens")
    }
}
