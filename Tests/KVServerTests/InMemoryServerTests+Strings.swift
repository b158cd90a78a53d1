import Foundation
import XCTest
@testable import KVServer

/// Strings arrive whole (issue 15, item 4): protobuf-c's `char *` once cut them at a NUL, so
/// `nul\0../../etc/x` created session `nul` and a document lost its text after a NUL.
extension InMemoryServerTests {
    /// `Request{id, load: {session, document}}` as any protobuf runtime writes it.
    func rawLoad(id: UInt8, session: [UInt8], document: [UInt8]) -> [UInt8] {
        func field(_ n: UInt8, _ b: [UInt8]) -> [UInt8] { [n << 3 | 2, UInt8(b.count)] + b }
        return [0x08, id] + field(10, field(1, session) + field(2, document))
    }

    func send(_ c: Client, raw: [UInt8], id: UInt64) -> Response? {
        c.connection.received(FrameEncoder.frame(raw))
        loop.run(until: { c.collect(); return c.final(id) != nil })
        return c.final(id)
    }

    func testAnIdWithANULIsRefusedAndATextKeepsItsNUL() throws {
        let c = Client(server)
        let refused = send(c, raw: rawLoad(id: 1, session: Array("nul\0../../etc/x".utf8), document: Array("x".utf8)), id: 1)
        XCTAssertEqual(refused.flatMap(errorCode), .invalidArgument)
        XCTAssertTrue(refused?.body.errorMessage.contains("NUL") ?? false, "\(String(describing: refused))")

        let document = "The keeper is Alice.\0 Correction: the keeper is Bob"
        guard case .load(let l) = send(c, raw: rawLoad(id: 2, session: Array("doc".utf8), document: Array(document.utf8)), id: 2)?.body else {
            return XCTFail("\(c.responses)")
        }
        XCTAssertEqual(l.session.contextTokens, UInt32(document.split(separator: " ").count), "every word after the NUL is there")
        guard case .sessions(let list) = roundTrip(c, Request(id: 3, .sessions)).body else { return XCTFail() }
        XCTAssertEqual(list.map(\.session), ["doc"], "no session 'nul'")
    }

    func testInvalidUTF8IsInvalidArgumentAndTheConnectionServes() {
        let c = Client(server)
        let r = send(c, raw: rawLoad(id: 1, session: Array("s".utf8), document: [0x41, 0xFF]), id: 1)
        XCTAssertEqual(r.flatMap(errorCode), .invalidArgument)
        XCTAssertTrue(r?.body.errorMessage.contains("'document' is not valid UTF-8") ?? false, "\(String(describing: r))")
        XCTAssertEqual(roundTrip(c, Request(id: 2, .health)).body, .health(status: "serving", version: Server.version))
    }
}
