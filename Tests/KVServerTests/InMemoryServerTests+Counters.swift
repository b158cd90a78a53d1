import Foundation
import XCTest
@testable import KVServer

/// What `stats` and a session's description count: answered asks apart from the others, every
/// frame as a request, no phantom job in the queue once kvd is idle.
extension InMemoryServerTests {
    /// Once every ask has ended, nothing is queued or running.
    func testQueueDepthIsZeroWhenIdle() {
        let c = Client(server)
        roundTrip(c, Request(id: 1, .load(LoadRequest(session: "s", document: "a b c"))))
        guard case .ask = roundTrip(c, Request(id: 2, .ask(AskRequest(session: "s", question: "q", maxNewTokens: 2)))).body else { return XCTFail() }
        guard case .stats(let s) = roundTrip(c, Request(id: 3, .stats)).body else { return XCTFail() }
        XCTAssertEqual(s.queueDepth, 0)
    }

    /// `requests` counts every frame received, well-formed or not; `errors` every error answered:
    /// a malformed frame is one of each.
    func testRequestsCountEveryFrameAndErrorsEveryErrorAnswer() {
        let c = Client(server)
        roundTrip(c, Request(id: 1, .health))
        c.connection.received(FrameEncoder.frame([0xFF, 0xFF, 0xFF]))
        loop.run()
        c.collect()
        XCTAssertEqual(c.responses.last.flatMap(errorCode), .invalidArgument)
        XCTAssertEqual(errorCode(roundTrip(c, Request(id: 2, .info(session: "nope")))), .notFound)
        guard case .stats(let s) = roundTrip(c, Request(id: 3, .stats)).body else { return XCTFail() }
        XCTAssertEqual(s.requests, 4, "health, the malformed frame, info, stats")
        XCTAssertEqual(s.errors, 2, "the malformed frame and the unknown session")
    }
}
