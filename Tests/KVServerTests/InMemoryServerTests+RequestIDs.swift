import Foundation
import XCTest
@testable import KVServer

/// A frame that reuses the id of an ask in flight, malformed or not, is answered with id 0 and
/// leaves the ask alone (issue 15, item 5): kvd used to answer with the ask's id and stop tracking
/// it, so `cancel` said false and the ask later sent a second final response.
extension InMemoryServerTests {
    func testAFrameReusingAnIdInFlightLeavesThatRequestAlone() {
        let c = Client(server)
        startStreamingAsk(c, id: 5)

        c.connection.received(FrameEncoder.frame([0x08, 0x05]))  // id 5, no operation
        c.send(Request(id: 5, .health))                          // a well-formed duplicate
        loop.run(until: { c.collect(); return c.responses.filter { $0.id == 0 }.count == 2 })
        let refusals = c.responses.filter { $0.id == 0 }
        XCTAssertEqual(refusals.map(errorCode), [.invalidArgument, .invalidArgument])
        XCTAssertTrue(refusals[0].body.errorMessage.contains("the frame carried id 5"), refusals[0].body.errorMessage)
        XCTAssertTrue(refusals[1].body.errorMessage.contains("request id 5 is already in flight"), refusals[1].body.errorMessage)

        XCTAssertEqual(roundTrip(c, Request(id: 6, .cancel(targetID: 5))).body, .cancel(cancelled: true))
        loop.run(until: { c.collect(); return c.final(5) != nil })
        loop.run(until: { false }, timeout: 0.1)
        c.collect()
        let finals = c.responses.filter { $0.id == 5 && $0.body.isFinal }
        XCTAssertEqual(finals.map(errorCode), [.cancelled], "exactly one final response for id 5")

        // With no request in flight under that id, the frame's id comes back as before.
        c.connection.received(FrameEncoder.frame([0x08, 0x07]))
        loop.run(until: { c.collect(); return c.final(7) != nil })
        XCTAssertEqual(c.final(7).flatMap(errorCode), .invalidArgument)
    }
}
