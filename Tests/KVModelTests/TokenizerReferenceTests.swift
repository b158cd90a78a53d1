import Foundation
import XCTest
@testable import KVModel
import KVTestSupport

/// Gemma 3 (SentencePiece) and Qwen2.5 (byte-level BPE, ChatML) against llama.cpp's ids
/// (`Fixtures/golden/models/*.llamacpp.json`, see `/work/shared/golden/models/README.md`).
/// Needs `models/gemma-3-270m.Q4_K_M.gguf` and `models/Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf`.
final class TokenizerReferenceTests: XCTestCase {
    private static let gemma = Result { try Tokenizer(gguf: TestModel.gguf(TestModel.gemma3)) }
    private static let qwen = Result { () throws -> (Tokenizer, ChatTemplate) in
        let gguf = try TestModel.gguf(TestModel.qwen25Coder)
        return (try Tokenizer(gguf: gguf), try ChatTemplate(gguf: gguf))
    }

    private func reference(_ name: String) throws -> (tokenizer: [[String: Any]], generate: [[String: Any]]) {
        let json = try XCTUnwrap(TestModel.golden("models/\(name).llamacpp.json") as? [String: Any])
        return (try XCTUnwrap(json["tokenizer"] as? [[String: Any]]), try XCTUnwrap(json["generate"] as? [[String: Any]]))
    }

    /// Every `tokenizer[]` case: the ids exactly, and the ids decode back to the text.
    private func checkTokenizerCases(_ t: Tokenizer, _ cases: [[String: Any]]) throws {
        XCTAssertEqual(cases.count, 12)
        for c in cases {
            let text = try XCTUnwrap(c["text"] as? String)
            let ids = try XCTUnwrap(c["ids"] as? [Int])
            XCTAssertEqual(t.encode(text), ids, "encode \(text.debugDescription)")
            XCTAssertEqual(t.decode(ids), text, "decode of \(text.debugDescription)")
        }
    }

    /// The greedy continuations decode to llama.cpp's text (end-of-generation tokens produce none),
    /// in one go and token by token.
    private func checkGreedyText(_ t: Tokenizer, _ cases: [[String: Any]]) throws {
        for c in cases {
            let ids = try XCTUnwrap(c["greedy_ids"] as? [Int])
            let text = try XCTUnwrap(c["greedy_text"] as? String)
            XCTAssertEqual(t.decode(ids, skipSpecialTokens: true), text)
            var stream = StreamingDetokenizer(tokenizer: t, skipSpecialTokens: true)
            XCTAssertEqual(ids.map { stream.append($0) }.joined() + stream.flush(), text)
        }
    }

    // MARK: - Gemma 3

    func testGemmaVocabulary() throws {
        let t = try Self.gemma.get()
        XCTAssertEqual(t.kind, .sentencePiece)
        XCTAssertNil(t.preTokenizer)
        XCTAssertEqual(t.vocabularySize, 262_144)
        XCTAssertEqual(t.bosID, 2)
        XCTAssertEqual(t.eosID, 1)
        XCTAssertTrue(t.addsBOS)
        XCTAssertFalse(t.addsEOS)
        XCTAssertFalse(t.addsSpacePrefix)
        let endOfTurn = try XCTUnwrap(t.id(of: "<end_of_turn>"))
        XCTAssertEqual(t.eotIDs, [1, endOfTurn])
        XCTAssertEqual(t.encode("<start_of_turn>user\nHi<end_of_turn>"),
                       [try XCTUnwrap(t.id(of: "<start_of_turn>")), 2364, 107, 10979, endOfTurn])
        XCTAssertEqual(t.decode([2, 9259, 1902]), "<bos>Hello world")
        XCTAssertEqual(t.decode([2, 9259, 1902], skipSpecialTokens: true), "Hello world")
        XCTAssertEqual(Array(t.bytes(of: 248)), [0x0A])  // <0x0A>
        XCTAssertTrue(t.warnings.isEmpty, "\(t.warnings)")
    }

    func testGemmaTokenizerCases() throws {
        try checkTokenizerCases(try Self.gemma.get(), try reference("gemma-3-270m").tokenizer)
    }

    /// The base model's prompts are raw text after BOS.
    func testGemmaPromptIDs() throws {
        let t = try Self.gemma.get()
        let cases = try reference("gemma-3-270m").generate
        XCTAssertEqual(cases.count, 6)
        let bos = try XCTUnwrap(t.bosID)
        for c in cases {
            let prompt = try XCTUnwrap(c["prompt"] as? String)
            XCTAssertTrue(t.addsBOS)
            XCTAssertEqual([bos] + t.encode(prompt), try XCTUnwrap(c["prompt_ids"] as? [Int]), prompt)
        }
        try checkGreedyText(t, cases)
    }

    /// Byte fallback: a character with no piece is spelled as its UTF-8 bytes.
    func testGemmaByteFallbackRoundTrips() throws {
        let t = try Self.gemma.get()
        let text = "\u{10FFFD}x"  // a private-use character: no piece in the vocabulary
        let ids = t.encode(text)
        XCTAssertTrue(ids.contains { t.tokenType($0) == .byte }, "\(ids)")
        XCTAssertEqual(t.decode(ids), text)
        // Streamed, the character's bytes are held back until it is complete.
        var stream = StreamingDetokenizer(tokenizer: t)
        let pieces = ids.map { stream.append($0) }
        XCTAssertEqual(pieces.filter(\.isEmpty).count, 3)  // 4 byte tokens: 3 wait for the 4th
        XCTAssertEqual(pieces.joined() + stream.flush(), text)
    }

    /// Prints Gemma's encode speed on ~50 KB of English (SentencePiece merges the whole text at once; no
    /// timing assertion).
    func testGemmaEncodeSpeedReport() throws {
        let t = try Self.gemma.get()
        let paragraph = "The quick brown fox jumps over the lazy dog. In 2024, researchers measured 3.14159 units of "
            + "\"compression\" across 1,234 documents; they've found it's surprisingly effective.\n\n"
        let doc = String(repeating: paragraph, count: 50_000 / paragraph.utf8.count + 1)
        let start = DispatchTime.now()
        let ids = t.encode(doc)
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        XCTAssertEqual(t.decode(ids), doc)
        print("gemma encode speed: \(doc.utf8.count) bytes -> \(ids.count) tokens: \(String(format: "%.1f", ms)) ms")
    }

    // MARK: - Qwen2.5

    func testQwenTokenizerCases() throws {
        let (t, _) = try Self.qwen.get()
        XCTAssertEqual(t.kind, .bytePairEncoding)
        XCTAssertEqual(t.preTokenizer, .qwen2)
        XCTAssertFalse(t.addsBOS)  // tokenizer.ggml.add_bos_token = false
        try checkTokenizerCases(t, try reference("qwen2.5-coder-0.5b-instruct").tokenizer)
    }

    /// One user message through the model's own template, with its default system prompt.
    func testQwenChatPromptIDs() throws {
        let (t, template) = try Self.qwen.get()
        XCTAssertEqual(template.family, .chatML)
        XCTAssertEqual(template.defaultSystemPrompt, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
        let cases = try reference("qwen2.5-coder-0.5b-instruct").generate
        XCTAssertEqual(cases.count, 6)
        for c in cases {
            let prompt = try XCTUnwrap(c["prompt"] as? String)
            let text = try template.render([.user(prompt)], addGenerationPrompt: true)
            XCTAssertEqual(text, try XCTUnwrap(c["chat_text"] as? String))
            XCTAssertEqual(t.encode(text), try XCTUnwrap(c["prompt_ids"] as? [Int]), prompt)
        }
        try checkGreedyText(t, cases)
    }
}
