import XCTest
@testable import KVServer

/// A load's request is read once on the daemon's side (issue 27, item 7): `prepare` decodes it on
/// the loop thread, and the queued job hands that same prepared load to `requiredBytes` and `load`,
/// even when the job runs again after waiting for room.
extension InMemoryServerTests {
    func testALoadIsPreparedOnceAndItsJobCarriesIt() throws {
        try makeServer(budget: 1000)
        backend.bytesPerWord = 1
        // c's job first finds the room held by b's ask, waits, and runs again once the ask ends.
        let (c, d, _) = loadWhileAnAskHoldsTheRoom(residentWords: 600, maxNewTokens: 100)
        guard case .load(let l)? = d.final(3)?.body else { return XCTFail("\(String(describing: d.final(3)))") }
        XCTAssertNotNil(c.final(2), "the load waited for the ask")
        XCTAssertEqual(l.session.keptTokens, 600)
        XCTAssertEqual(backend.prepared.map(\.request.session), ["b", "c"], "one prepare per load")
        let load = backend.prepared[1]
        XCTAssertEqual([load.sized, load.loaded], [1, 1], "the job sized and ran the load it was given, once each")

        // A refused load is prepared, then answered; nothing is queued with it.
        let refused = roundTrip(d, Request(id: 4, .load(LoadRequest(session: "c", document: "again"))))
        XCTAssertEqual(errorCode(refused), .alreadyExists)
        XCTAssertEqual(backend.prepared.count, 3)
        XCTAssertEqual([backend.prepared[2].sized, backend.prepared[2].loaded], [0, 0])
    }
}
