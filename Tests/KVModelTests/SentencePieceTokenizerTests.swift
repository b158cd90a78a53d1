import XCTest
@testable import KVModel

/// The SentencePiece path on a hand-written vocabulary; every expected id list is worked out by hand
/// from llama.cpp's rules (highest score merges first, ties leftmost; byte fallback; unknown token;
/// space prefix at the start and after special tokens; special tokens placed longest first).
final class SentencePieceTokenizerTests: XCTestCase {
    /// `(text, score, type)`; ids are the positions.
    static let vocabulary: [(String, Float, Tokenizer.TokenType)] = [
        ("<unk>", 0, .unknown),      // 0
        ("<s>", 0, .control),        // 1
        ("</s>", 0, .control),       // 2
        ("<0x0A>", 0, .byte),        // 3
        ("<0xC3>", 0, .byte),        // 4
        ("<0xA9>", 0, .byte),        // 5
        ("▁", -1, .normal),          // 6
        ("a", -2, .normal),          // 7
        ("b", -3, .normal),          // 8
        ("c", -4, .normal),          // 9
        ("ab", -5, .normal),         // 10
        ("bc", -5, .normal),         // 11: ties with "ab"
        ("▁a", -6, .normal),         // 12
        ("▁ab", -0.5, .normal),      // 13
        ("<sep>", 0, .control),      // 14
        ("ca", -1, .normal),         // 15: outscores "ab" and "bc"
        ("x", -2, .normal),          // 16
        ("xy", 0, .control),         // 17
        ("yzw", 0, .userDefined),    // 18: longer, so placed before "xy"
    ]

    static func metadata(spacePrefix: Bool?, name: String? = nil) -> [String: GGUFValue] {
        var md: [String: GGUFValue] = [
            GGUFKeys.tokenizerModel: .string("llama"),
            GGUFKeys.tokens: .array(.string(vocabulary.map(\.0))),
            GGUFKeys.scores: .array(.float32(vocabulary.map(\.1))),
            GGUFKeys.tokenTypes: .array(.int32(vocabulary.map { Int32($0.2.rawValue) })),
        ]
        if let spacePrefix { md[GGUFKeys.addSpacePrefix] = .bool(spacePrefix) }
        if let name { md[GGUFKeys.name] = .string(name) }
        return md
    }

    func testMergesByScoreThenLeftmost() throws {
        let t = try Tokenizer(metadata: Self.metadata(spacePrefix: false))
        XCTAssertEqual(t.kind, .sentencePiece)
        XCTAssertEqual(t.encode("abc"), [10, 9])  // "ab" and "bc" tie at -5: the left pair merges
        XCTAssertEqual(t.encode("bcab"), [8, 15, 8])  // "ca" (-1) beats both, then nothing forms
        XCTAssertEqual(t.encode(" ab"), [13])  // ▁ a b -> ▁ ab -> ▁ab
        XCTAssertEqual(t.encode("ab"), [10])
        XCTAssertEqual(t.encode(""), [])
    }

    func testSpacePrefix() throws {
        let on = try Tokenizer(metadata: Self.metadata(spacePrefix: nil))  // SentencePiece default: on
        XCTAssertTrue(on.addsSpacePrefix)
        XCTAssertEqual(on.encode("ab"), [13])
        XCTAssertEqual(on.encode("a<sep>a"), [12, 14, 12])  // the prefix comes back after a special token
        XCTAssertEqual(on.encode("<s> a"), [1, 6, 12])  // "▁▁a"
        let off = try Tokenizer(metadata: Self.metadata(spacePrefix: false))
        XCTAssertFalse(off.addsSpacePrefix)
        XCTAssertEqual(off.encode("a<sep>a"), [7, 14, 7])
        XCTAssertNotEqual(on.fingerprint, off.fingerprint)
    }

    func testByteFallbackAndUnknown() throws {
        let t = try Tokenizer(metadata: Self.metadata(spacePrefix: false))
        // é has no piece: its bytes C3 A9; \n has a byte token; € (E2 82 AC) has none: unknown.
        XCTAssertEqual(t.encode("é\n€"), [4, 5, 3, 0])
        XCTAssertEqual(t.decode([4, 5, 3]), "é\n")
    }

    func testSpecialTokensLongestFirst() throws {
        let t = try Tokenizer(metadata: Self.metadata(spacePrefix: false))
        // "yzw" (3 bytes) is placed before "xy" (2), which then no longer fits: x + yzw.
        XCTAssertEqual(t.encode("xyzw"), [16, 18])
        XCTAssertEqual(t.encode("xyx"), [17, 16])
        XCTAssertEqual(t.encode("<s></s>"), [1, 2])
    }

    /// llama.cpp lets Phi-3's special tokens (except <unk>, <s>, <|endoftext|>) swallow the whitespace after them.
    func testPhi3SpecialTokensStripWhitespaceAfterThem() throws {
        let plain = try Tokenizer(metadata: Self.metadata(spacePrefix: true))
        XCTAssertEqual(plain.encode("<sep>\n a"), [14, 6, 3, 12])  // "▁\n▁a"
        let phi = try Tokenizer(metadata: Self.metadata(spacePrefix: true, name: "Phi-3 Mini 4k Instruct"))
        XCTAssertEqual(phi.encode("<sep>\n a"), [14, 12])
        XCTAssertEqual(phi.encode("<s> a"), [1, 6, 12])  // <s> keeps what follows
        XCTAssertNotEqual(plain.fingerprint, phi.fingerprint)
    }

    func testDecodeLikeLlamaCpp() throws {
        let t = try Tokenizer(metadata: Self.metadata(spacePrefix: true))
        XCTAssertEqual(t.decode([13]), " ab")  // no leading space is dropped: pieces as llama.cpp's token_to_piece gives them
        XCTAssertEqual(t.decode([1, 12, 14, 12, 2]), "<s> a<sep> a</s>")
        XCTAssertEqual(t.decode([1, 12, 14, 12, 0, 2], skipSpecialTokens: true), " a a")
        XCTAssertEqual(t.decode([0]), "<unk>")
        XCTAssertEqual(Array(t.bytes(of: 3)), [0x0A])
        XCTAssertEqual(t.tokenString(13), "▁ab")
        XCTAssertEqual(t.id(of: "▁ab"), 13)
    }

    func testSpecialIDsAndBOSDefaults() throws {
        let t = try Tokenizer(metadata: Self.metadata(spacePrefix: nil))
        XCTAssertEqual(t.bosID, 1)  // llama.cpp's SentencePiece defaults when the keys are absent
        XCTAssertEqual(t.eosID, 2)
        XCTAssertTrue(t.addsBOS)
        XCTAssertFalse(t.addsEOS)
        XCTAssertEqual(t.eotIDs, [2])
        var md = Self.metadata(spacePrefix: nil)
        md[GGUFKeys.addBOS] = .bool(false)
        md[GGUFKeys.addEOS] = .bool(true)
        md[GGUFKeys.bosTokenID] = .uint32(14)
        let other = try Tokenizer(metadata: md)
        XCTAssertFalse(other.addsBOS)
        XCTAssertTrue(other.addsEOS)
        XCTAssertEqual(other.bosID, 14)
        XCTAssertNotEqual(other.fingerprint, t.fingerprint)
    }

    func testFingerprintCoversScores() throws {
        let t = try Tokenizer(metadata: Self.metadata(spacePrefix: false))
        var md = Self.metadata(spacePrefix: false)
        var scores = Self.vocabulary.map(\.1)
        scores[10] = -4.5
        md[GGUFKeys.scores] = .array(.float32(scores))
        let rescored = try Tokenizer(metadata: md)
        XCTAssertEqual(rescored.encode("abc"), [10, 9])
        XCTAssertNotEqual(rescored.fingerprint, t.fingerprint)
        XCTAssertEqual(try Tokenizer(metadata: Self.metadata(spacePrefix: false)).fingerprint, t.fingerprint)
    }

    func testScoresMustCoverTheVocabulary() {
        var md = Self.metadata(spacePrefix: false)
        md[GGUFKeys.scores] = .array(.float32([0, 1]))
        XCTAssertThrowsError(try Tokenizer(metadata: md)) { error in
            XCTAssertTrue(String(describing: error).contains("tokenizer.ggml.scores has 2 numbers for 19 tokens"), "\(error)")
        }
    }

    /// Long text goes through the merge queue in one piece (SentencePiece has no pre-tokenizer).
    func testLongTextRoundTrips() throws {
        let t = try Tokenizer(metadata: Self.metadata(spacePrefix: false))
        let text = String(repeating: "abc cab\né ", count: 2000)
        XCTAssertEqual(t.decode(t.encode(text)), text)
    }
}
