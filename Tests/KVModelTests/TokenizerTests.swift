import Foundation
import XCTest
@testable import KVModel
import KVTestSupport

/// The default model's tokenizer against the Python reference (golden `tokenizer.json`).
final class TokenizerTests: XCTestCase {
    private static let shared = Result { try Tokenizer(gguf: TestModel.gguf()) }

    private func tokenizer() throws -> Tokenizer { try Self.shared.get() }

    private func golden() throws -> [String: Any] {
        try XCTUnwrap(TestModel.golden("tokenizer.json") as? [String: Any])
    }

    func testVocabularyFacts() throws {
        let t = try tokenizer()
        let g = try golden()
        XCTAssertEqual(t.vocabularySize, 49152)
        XCTAssertEqual(t.bosID, g["bos_id"] as? Int)
        // The golden file's eos_id (1) comes from transformers' GGUF loader; the GGUF itself declares
        // eos = 2 (<|im_end|>), which is also where the golden generations stop.
        XCTAssertEqual(g["eos_id"] as? Int, 1)
        XCTAssertEqual(t.eosID, 2)
        XCTAssertEqual(t.preTokenizer, .gpt2)  // tokenizer.ggml.pre = smollm; see PreTokenizer
        XCTAssertEqual(t.id(of: "<|im_end|>"), 2)
        XCTAssertEqual(t.id(of: "Ċ"), 198)
        XCTAssertEqual(t.decode([520, 9531]), "assistant")
        XCTAssertEqual(t.tokenString(198), "Ċ")
        XCTAssertNil(t.tokenString(-1))
        XCTAssertNil(t.tokenString(49152))
        XCTAssertTrue(t.eotIDs.contains(2))  // <|im_end|> = eos
        XCTAssertTrue(t.eotIDs.contains(0))  // <|endoftext|>
        XCTAssertFalse(t.eotIDs.contains(1))  // <|im_start|>
        XCTAssertTrue(t.warnings.isEmpty, "\(t.warnings)")
    }

    func testGoldenCasesEncodeAndDecodeExactly() throws {
        let t = try tokenizer()
        let cases = try XCTUnwrap(golden()["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 28)
        for c in cases {
            let text = try XCTUnwrap(c["text"] as? String)
            let ids = try XCTUnwrap(c["ids"] as? [Int])
            let decoded = try XCTUnwrap(c["decoded"] as? String)
            XCTAssertEqual(t.encode(text), ids, "encode \(text.debugDescription)")
            XCTAssertEqual(t.decode(ids), decoded, "decode of \(text.debugDescription)")
        }
    }

    func testGoldenChatIDs() throws {
        let t = try tokenizer()
        let chats = try XCTUnwrap(golden()["chat"] as? [[String: Any]])
        for c in chats {
            let text = try XCTUnwrap(c["text"] as? String)
            XCTAssertEqual(t.encode(text), try XCTUnwrap(c["ids"] as? [Int]))
        }
    }

    /// The reference stack does not isolate digits before the GPT-2 split (see `PreTokenizer`): the
    /// press golden document has `follows:\n\n1.` as `Ċ Ċ 1`; the hub tokenizer.json / llama.cpp way gives `ĊĊ 1`.
    func testSmolLMDigitsFollowTheReferenceStack() throws {
        let t = try tokenizer()
        let text = "follows:\n\n1. The"
        XCTAssertEqual(t.encode(text), [21162, 99, 42, 198, 198, 33, 30, 378])
        let isolated = try Tokenizer(gguf: TestModel.gguf(), preTokenizer: .gpt2IsolatedDigits)
        XCTAssertEqual(isolated.encode(text), [21162, 99, 42, 1116, 33, 30, 378])
        XCTAssertNotEqual(isolated.fingerprint, t.fingerprint)
        // Both agree on every golden case.
        let cases = try XCTUnwrap(golden()["cases"] as? [[String: Any]])
        for c in cases { XCTAssertEqual(isolated.encode(c["text"] as! String), c["ids"] as! [Int]) }
    }

    func testConcurrentEncodingSharesTheCacheSafely() throws {
        let t = try Tokenizer(gguf: TestModel.gguf())
        let cases = try XCTUnwrap(golden()["cases"] as? [[String: Any]])
        let texts = cases.map { $0["text"] as! String }
        let expected = cases.map { $0["ids"] as! [Int] }
        let failures = UnsafeMutableBufferPointer<Int>.allocate(capacity: 8)
        failures.initialize(repeating: 0)
        defer { failures.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<50 {
                let k = (worker * 7 + round) % texts.count
                if t.encode(texts[k]) != expected[k] { failures[worker] += 1 }
            }
        }
        XCTAssertEqual(failures.reduce(0, +), 0)
    }

    func testSkipSpecialTokens() throws {
        let t = try tokenizer()
        let ids = t.encode("<|im_start|>assistant\nHi!<|im_end|>")
        XCTAssertEqual(t.decode(ids, skipSpecialTokens: true), "assistant\nHi!")
    }

    func testFingerprintIsStable() throws {
        let t = try tokenizer()
        let again = try Tokenizer(gguf: TestModel.gguf())
        XCTAssertEqual(t.fingerprint, again.fingerprint)
        // FNV-1a of model, pre-tokenizer, tokens and types, merges: the layout before SentencePiece support,
        // computed independently (Python over the GGUF), so caches saved for SmolLM2 stay valid.
        XCTAssertEqual(t.fingerprint, 0xF1E1_5223_DD5C_B99F)
    }

    func testCacheGivesSameResultTwice() throws {
        let t = try tokenizer()
        let text = "The cache must not change results: The cache must not change results."
        XCTAssertEqual(t.encode(text), t.encode(text))
        XCTAssertEqual(t.decode(t.encode(text)), text)
    }

    func testLongWordUsesHeapMergeConsistently() throws {
        // Words longer than the quadratic path's limit go through the heap; both must agree.
        let t = try tokenizer()
        let word = String(repeating: "abracadabra", count: 20)
        let ids = t.encode(word)
        XCTAssertEqual(t.decode(ids), word)
        let golden = try XCTUnwrap(golden()["cases"] as? [[String: Any]])
        let aaaa = try XCTUnwrap(golden.first { ($0["text"] as? String)?.hasPrefix("aaaa") == true })
        XCTAssertEqual(t.encode(aaaa["text"] as! String), aaaa["ids"] as! [Int])
    }

    /// Prints the encode speed on a ~50 KB English document (no timing assertion).
    func testEncodeSpeedReport() throws {
        let t = try tokenizer()
        let paragraph = """
        The quick brown fox jumps over the lazy dog. In 2024, researchers measured 3.14159 units of \
        "compression" across 1,234 documents; they've found it's surprisingly effective (about 42% smaller). \
        Python's dict type maps keys to values: d = {"a": 1, "b": 2}.\n\n
        """
        var doc = ""
        var k = 0
        while doc.utf8.count < 50_000 { doc += paragraph.replacingOccurrences(of: "1,234", with: "\(k)"); k += 1 }
        let fresh = try Tokenizer(gguf: TestModel.gguf())
        var start = DispatchTime.now()
        let ids = fresh.encode(doc)
        let cold = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        start = DispatchTime.now()
        _ = t.encode(doc)
        let warm = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        XCTAssertEqual(fresh.decode(ids), doc)
        print("encode speed: \(doc.utf8.count) bytes -> \(ids.count) tokens: cold cache \(String(format: "%.1f", cold)) ms, "
            + "warm \(String(format: "%.1f", warm)) ms")
        // Worst case for the word cache: ~50 KB of distinct pseudo-random words.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var words = ""
        let letters = Array("etaoinshrdlucmfwypvbgkjqxz")
        while words.utf8.count < 50_000 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            let n = 3 + Int(state % 9)
            words += " " + String((0..<n).map { letters[Int((state >> (UInt64($0) * 5 + 8)) % 26)] })
        }
        let other = try Tokenizer(gguf: TestModel.gguf())
        start = DispatchTime.now()
        let wordIDs = other.encode(words)
        let distinct = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        XCTAssertEqual(other.decode(wordIDs), words)
        print("encode speed: \(words.utf8.count) bytes of distinct random words -> \(wordIDs.count) tokens: "
            + "\(String(format: "%.1f", distinct)) ms")
    }
}
