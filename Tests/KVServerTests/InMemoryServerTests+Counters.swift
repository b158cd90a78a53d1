import Foundation
import XCTest
@testable import KVServer

/// What `stats` and a session's description count: answered asks apart from the others, every
/// frame as a request, no phantom job in the queue once kvd is idle.
extension InMemoryServerTests {
    /// A cancelled ask, one whose client went away and one past its deadline are not answers:
    /// `asks` counts only the answered ask, `failed_asks` the three others.
    func testAsksCountAnsweredAsksOnly() throws {
        let c = Client(server)
        startStreamingAsk(c, id: 2)
        XCTAssertEqual(roundTrip(c, Request(id: 3, .cancel(targetID: 2))).body, .cancel(cancelled: true))
        loop.run(until: { c.collect(); return c.final(2) != nil })
        XCTAssertEqual(c.final(2).flatMap(errorCode), .cancelled)
        guard case .info(let afterCancel) = roundTrip(c, Request(id: 4, .info(session: "s"))).body else { return XCTFail() }
        XCTAssertEqual(afterCancel.asks, 0, "a cancelled ask is not an answer")
        XCTAssertEqual(afterCancel.failedAsks, 1)

        let gone = Client(server)
        gone.send(Request(id: 1, .ask(AskRequest(session: "s", question: "q", maxNewTokens: 200))))
        loop.run(until: { gone.collect(); return gone.responses.contains { $0.id == 1 } })
        gone.connection.transportClosed()
        XCTAssertEqual(errorCode(roundTrip(c, Request(id: 5, deadlineMs: 30, .ask(AskRequest(session: "s", question: "q", maxNewTokens: 200))))),
                       .deadlineExceeded)
        backend.tokenDelay = 0
        guard case .ask = roundTrip(c, Request(id: 6, .ask(AskRequest(session: "s", question: "q", maxNewTokens: 2)))).body else { return XCTFail() }
        // The abandoned ask stopped at the step after its client left, before this answer's second step.
        guard case .info(let info) = roundTrip(c, Request(id: 8, .info(session: "s"))).body else { return XCTFail() }
        XCTAssertEqual(info.state, .resident)
        XCTAssertEqual(info.asks, 1, "only the answered ask counts")
        XCTAssertEqual(info.failedAsks, 3, "cancelled, client gone, past its deadline")
        // Both counts survive a restart.
        try restart()
        guard case .info(let restarted) = roundTrip(Client(server), Request(id: 1, .info(session: "s"))).body else { return XCTFail() }
        XCTAssertEqual([restarted.asks, restarted.failedAsks], [1, 3])
    }

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

    /// `stats` says where the worker's time went: loads (with their layers' time), prompt steps,
    /// decode steps, and the attention inside the steps, all within the busy time.
    func testStatsSplitTheWorkersBusyTime() {
        let c = Client(server)
        backend.loadLayers = 4
        backend.layerDelay = 0.02
        backend.tokenDelay = 0.01
        guard case .load = roundTrip(c, Request(id: 1, .load(LoadRequest(session: "t", document: "a b c d e f g h")))).body else { return XCTFail() }
        guard case .ask = roundTrip(c, Request(id: 2, .ask(AskRequest(session: "t", question: "two words", maxNewTokens: 6)))).body else { return XCTFail() }
        guard case .stats(let s) = roundTrip(c, Request(id: 3, .stats)).body else { return XCTFail() }
        XCTAssertGreaterThanOrEqual(s.jobS, 0.08, "the load's four layers")
        XCTAssertGreaterThanOrEqual(s.promptStepS, 0.01, "the question's step")
        XCTAssertGreaterThanOrEqual(s.decodeStepS, 0.05, "five decode steps")
        XCTAssertLessThan(s.promptStepS, s.decodeStepS)
        XCTAssertEqual(s.stepAttentionS, 0.03, accuracy: 0.0001, "half of each of six steps' delay")
        XCTAssertEqual(s.busyS, s.jobS + s.promptStepS + s.decodeStepS)
        XCTAssertLessThanOrEqual(s.busyS, s.uptimeS)
    }
}
