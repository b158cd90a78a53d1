import XCTest
@testable import KVModel

/// Pre-tokenizers and error paths on tiny synthetic vocabularies (no model file needed).
final class TokenizerSyntheticTests: XCTestCase {
    /// 256 byte tokens, a few merges, and two control tokens.
    static func metadata(pre: String? = "gpt2", model: String = "gpt2", merges: [String] = [],
                         extra: [String] = []) -> [String: GGUFValue] {
        var tokens = (0..<256).map { String(ByteLevel.scalarForByte[$0]) }
        var types = [Int32](repeating: 1, count: 256)
        for m in merges {
            let parts = m.split(separator: " ")
            let merged = parts.joined()
            if !tokens.contains(merged) { tokens.append(merged); types.append(1) }
        }
        for e in extra { tokens.append(e); types.append(3) }
        var md: [String: GGUFValue] = [
            GGUFKeys.tokenizerModel: .string(model),
            GGUFKeys.tokens: .array(.string(tokens)),
            GGUFKeys.tokenTypes: .array(.int32(types)),
            GGUFKeys.merges: .array(.string(merges)),
        ]
        if let pre { md[GGUFKeys.tokenizerPre] = .string(pre) }
        return md
    }

    func testGPT2Pieces() {
        XCTAssertEqual(PreTokenizer.gpt2.pieces(of: "I'm sure it's 2024!  Yes\n\n ok  "),
                       ["I", "'m", " sure", " it", "'s", " 2024", "!", " ", " Yes", "\n\n", " ok", "  "])
        XCTAssertEqual(PreTokenizer.gpt2.pieces(of: "DON'T x\u{A0}y"), ["DON", "'", "T", " x", "\u{A0}", "y"])
    }

    func testSmolLMIsolatesDigits() {
        XCTAssertEqual(PreTokenizer.gpt2IsolatedDigits.pieces(of: "x 3.14 1e10"), ["x", " ", "3", ".", "1", "4", " ", "1", "e", "1", "0"])
        XCTAssertEqual(PreTokenizer.gpt2IsolatedDigits.pieces(of: "ab  12"), ["ab", "  ", "1", "2"])
    }

    func testLlama3Pieces() {
        XCTAssertEqual(PreTokenizer.llama3.pieces(of: "DON'T 1234567 (hi)\n\n  x\t\ny  "),
                       ["DON", "'T", " ", "123", "456", "7", " (", "hi", ")\n\n", " ", " x", "\t\n", "y", "  "])
        XCTAssertEqual(PreTokenizer.llama3.pieces(of: "a\n  b"), ["a", "\n", " ", " b"])
        XCTAssertEqual(PreTokenizer.llama3.pieces(of: "\"Hello\" world's"), ["\"Hello", "\"", " world", "'s"])
    }

    func testQwen2SingleDigits() {
        XCTAssertEqual(PreTokenizer.qwen2.pieces(of: "x 123"), ["x", " ", "1", "2", "3"])
        XCTAssertEqual(PreTokenizer(ggmlName: "qwen2"), .qwen2)
        XCTAssertEqual(PreTokenizer(ggmlName: "smollm"), .gpt2)
        XCTAssertEqual(PreTokenizer(ggmlName: "llama-bpe"), .llama3)
        XCTAssertNil(PreTokenizer(ggmlName: "deepseek-llm"))
    }

    func testTinyVocabularyEncodeDecode() throws {
        let md = Self.metadata(pre: "llama-bpe", merges: ["h e", "l l", "he ll", "hell o", "Ġ w", "1 2", "12 3"],
                               extra: ["<|eot_id|>"])
        let t = try Tokenizer(metadata: md)
        let hello = try XCTUnwrap(t.id(of: "hello"))
        let eot = try XCTUnwrap(t.id(of: "<|eot_id|>"))
        let ids = t.encode("hello<|eot_id|>1234")
        XCTAssertEqual(ids, [hello, eot, try XCTUnwrap(t.id(of: "123")), try XCTUnwrap(t.id(of: "4"))])
        XCTAssertEqual(t.decode(ids), "hello<|eot_id|>1234")
        XCTAssertEqual(t.decode(ids, skipSpecialTokens: true), "hello1234")
        XCTAssertTrue(t.eotIDs.contains(eot))
        XCTAssertEqual(t.encode(" w").count, 1)
        // qwen2 splits digits singly, so "123" never forms.
        let q = try Tokenizer(metadata: Self.metadata(pre: "qwen2", merges: ["1 2", "12 3"]))
        XCTAssertEqual(q.encode("123").count, 3)
        XCTAssertNotEqual(q.fingerprint, t.fingerprint)
        // Every byte round-trips.
        let bytes = (1..<128).map { Character(Unicode.Scalar(UInt8($0))) }
        let text = String(bytes) + "é中🎉"
        XCTAssertEqual(t.decode(t.encode(text)), text)
    }

    func testMissingPreFallsBackToGPT2WithWarning() throws {
        let t = try Tokenizer(metadata: Self.metadata(pre: nil))
        XCTAssertEqual(t.preTokenizer, .gpt2)
        XCTAssertEqual(t.warnings.count, 1)
        XCTAssertTrue(t.warnings[0].contains("tokenizer.ggml.pre"))
    }

    func testUnsupportedModelNamesTheSupportedOnes() {
        XCTAssertThrowsError(try Tokenizer(metadata: Self.metadata(model: "bert"))) { error in
            XCTAssertEqual(error as? TokenizerError, .unsupportedModel("bert"))
            let text = String(describing: error)
            XCTAssertTrue(text.contains("WordPiece") && text.contains("'gpt2'") && text.contains("'llama'"), text)
        }
    }

    func testUnknownPreTokenizerListsSupportedOnes() {
        XCTAssertThrowsError(try Tokenizer(metadata: Self.metadata(pre: "deepseek-coder"))) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("deepseek-coder"), text)
            for name in ["smollm", "gpt2", "llama-bpe", "llama3", "qwen2"] { XCTAssertTrue(text.contains(name), text) }
        }
    }

    func testMissingKeysAndBadIDs() {
        var md = Self.metadata()
        md[GGUFKeys.merges] = nil
        XCTAssertThrowsError(try Tokenizer(metadata: md)) { error in
            XCTAssertEqual(error as? TokenizerError, .missingMetadata(key: GGUFKeys.merges))
        }
        md = Self.metadata()
        md[GGUFKeys.eosTokenID] = .uint32(100_000)
        XCTAssertThrowsError(try Tokenizer(metadata: md)) { error in
            XCTAssertTrue(String(describing: error).contains("outside the vocabulary"))
        }
        md = Self.metadata()
        md[GGUFKeys.tokenTypes] = .array(.int32([1, 1]))
        XCTAssertThrowsError(try Tokenizer(metadata: md))
        XCTAssertThrowsError(try Tokenizer(metadata: [:])) { error in
            XCTAssertEqual(error as? TokenizerError, .missingMetadata(key: GGUFKeys.tokenizerModel))
        }
    }
}
