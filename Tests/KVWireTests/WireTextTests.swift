import XCTest
@testable import KVWire

/// Strings keep every byte on the wire (protobuf-c's `char *` would stop at a NUL) and must be
/// UTF-8, as with official protobuf runtimes.
final class WireTextTests: XCTestCase {
    /// A length-delimited field, as any protobuf runtime writes it (numbers and lengths < 128).
    func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] { [number << 3 | 2, UInt8(bytes.count)] + bytes }

    /// `Request{id: 1, load: {session, document}}` written by hand.
    func load(session: [UInt8], document: [UInt8]) -> [UInt8] {
        [0x08, 0x01] + field(10, field(1, session) + field(2, document))
    }

    func testADocumentKeepsItsTextAfterANUL() throws {
        let document = "The keeper is Alice.\0 Correction: the keeper is Bob."
        let r = try WireCodec.decodeRequest(load(session: Array("s".utf8), document: Array(document.utf8)))
        guard case .load(let l) = r.operation else { return XCTFail("\(r)") }
        XCTAssertEqual(l.document, document)
    }

    func testASessionIdIsNotCutAtANUL() throws {
        let r = try WireCodec.decodeRequest(load(session: Array("nul\0../../etc/x".utf8), document: Array("d".utf8)))
        guard case .load(let l) = r.operation else { return XCTFail("\(r)") }
        XCTAssertEqual(l.session, "nul\0../../etc/x")
    }

    func testInvalidUTF8IsRejectedNamingTheField() {
        XCTAssertThrowsError(try WireCodec.decodeRequest(load(session: Array("s".utf8), document: [0x41, 0xFF, 0xFE]))) {
            XCTAssertEqual($0 as? ProtocolError, .invalidUTF8(field: "document"))
        }
        let ask = [0x08, 0x02] + field(11, field(1, Array("s".utf8)) + field(2, [0xC3]))
        XCTAssertThrowsError(try WireCodec.decodeRequest(ask)) { XCTAssertEqual($0 as? ProtocolError, .invalidUTF8(field: "question")) }
    }

    /// The last value of a field wins; a repeated operation message replaces the earlier one, as
    /// protobuf-c decodes it (the strings must agree with the other fields it decoded).
    func testRepeatedFieldsFollowProtobufC() throws {
        let once = [0x08, 0x01] + field(10, field(1, Array("a".utf8)) + field(2, Array("x\0y".utf8)) + field(2, Array("z\0".utf8)))
        guard case .load(let l) = try WireCodec.decodeRequest(once).operation else { return XCTFail() }
        XCTAssertEqual(l.session, "a")
        XCTAssertEqual(l.document, "z\0")
        let twice = once + field(10, field(1, Array("b".utf8)))
        guard case .load(let m) = try WireCodec.decodeRequest(twice).operation else { return XCTFail() }
        XCTAssertEqual(m.session, "b")
        XCTAssertEqual(m.document, "")
    }

    /// kvd's own encoder keeps a NUL too, in requests (kvctl) and in answers (kvd).
    func testTheEncoderKeepsNULs() throws {
        let request = Request(id: 3, .ask(AskRequest(session: "s", question: "a\0b", answerPrefix: "\0", stream: true)))
        XCTAssertEqual(try WireCodec.decodeRequest(WireCodec.encode(request)), request)
        let load = Request(id: 4, .load(LoadRequest(session: "s", document: "x\0y\0z", press: "knorm")))
        XCTAssertEqual(try WireCodec.decodeRequest(WireCodec.encode(load)), load)
        for r in [Response(id: 1, .token(AskToken(tokenID: 0, text: "\0"))),
                  Response(id: 1, .ask(AskResult(answer: "before\0after", tokenIDs: [1], metrics: Metrics(), finishReason: .eos))),
                  Response(id: 1, .error(WireError(.invalidArgument, "id 'a\0b'")))] {
            XCTAssertEqual(try WireCodec.decodeResponse(WireCodec.encode(r)), r)
        }
    }
}
