import XCTest
@testable import KVModel
import KVTestSupport

final class StreamingDetokenizerTests: XCTestCase {
    private static let shared = Result { try Tokenizer(gguf: TestModel.gguf()) }

    private func stream(_ t: Tokenizer, _ ids: [Int], skipSpecialTokens: Bool = false) -> (pieces: [String], flushed: String) {
        var d = StreamingDetokenizer(tokenizer: t, skipSpecialTokens: skipSpecialTokens)
        let pieces = ids.map { d.append($0) }
        return (pieces, d.flush())
    }

    func testMultiByteCharactersAreNeverSplit() throws {
        let t = try Self.shared.get()
        let texts = ["emoji 🎉🚀👩‍👩‍👧 and ❤️", "中文测试，日本語のテキスト、한국어", "Ünïcödé ΑΒΓ δέλτα русский текст",
                     "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠀀𠀁 🏳️‍🌈", "<|im_start|>user\n你好🙂<|im_end|>\n"]
        for text in texts {
            let ids = t.encode(text)
            let (pieces, flushed) = stream(t, ids)
            for p in pieces { XCTAssertFalse(p.unicodeScalars.contains("\u{FFFD}"), "broken piece in \(text)") }
            XCTAssertEqual(flushed, "")
            XCTAssertEqual(pieces.joined() + flushed, t.decode(ids))
            XCTAssertEqual(pieces.joined(), text)
        }
    }

    func testSomeTokenEndsInsideACharacter() throws {
        // Guard that the test above exercises the hold-back path: some emoji token must be a partial character.
        let t = try Self.shared.get()
        let ids = t.encode("🎉🚀👩‍👩‍👧")
        XCTAssertTrue(ids.contains { String(validatingUTF8Bytes: Array(t.bytes(of: $0))) == nil })
        let (pieces, _) = stream(t, ids)
        XCTAssertTrue(pieces.contains(""))
    }

    func testFlushReturnsUnfinishedBytes() throws {
        let t = try Self.shared.get()
        let ids = t.encode("🎉")
        XCTAssertGreaterThan(ids.count, 1)
        var d = StreamingDetokenizer(tokenizer: t)
        XCTAssertEqual(d.append(ids[0]), "")
        XCTAssertTrue(d.hasPendingBytes)
        XCTAssertEqual(d.flush(), t.decode([ids[0]]))
        XCTAssertFalse(d.hasPendingBytes)
    }

    func testSkipSpecialTokens() throws {
        let t = try Self.shared.get()
        let ids = t.encode("<|im_start|>assistant\nOK<|im_end|>")
        let (pieces, flushed) = stream(t, ids, skipSpecialTokens: true)
        XCTAssertEqual(pieces.joined() + flushed, "assistant\nOK")
    }

    func testCompletePrefixLength() {
        let f = StreamingDetokenizer.completePrefixLength
        XCTAssertEqual(f([0x61]), 1)
        XCTAssertEqual(f([0x61, 0xF0, 0x9F]), 1)  // holds an unfinished 4-byte sequence
        XCTAssertEqual(f([0xF0, 0x9F, 0x8E, 0x89]), 4)
        XCTAssertEqual(f([0x61, 0xE0, 0x80]), 3)  // E0 80 can never complete: emit (as U+FFFD)
        XCTAssertEqual(f([0x80, 0x80]), 2)  // stray continuation bytes
        XCTAssertEqual(f([0xC3]), 0)
    }
}

private extension String {
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        var it = bytes.makeIterator()
        var utf8 = UTF8()
        var s = ""
        loop: while true {
            switch utf8.decode(&it) {
            case .scalarValue(let v): s.unicodeScalars.append(v)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = s
    }
}
