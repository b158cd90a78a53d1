import Foundation
import XCTest
@testable import KVModel
import KVTestSupport

final class ChatTemplateTests: XCTestCase {
    private static let shared = Result { () throws -> (ChatTemplate, Tokenizer) in
        let gguf = try TestModel.gguf()
        return (try ChatTemplate(gguf: gguf), try Tokenizer(gguf: gguf))
    }

    private func model() throws -> (template: ChatTemplate, tokenizer: Tokenizer) { try Self.shared.get() }

    // MARK: - Default model (ChatML with a default system prompt)

    func testDefaultModelIsChatMLWithExtractedDefaultSystemPrompt() throws {
        let (t, _) = try model()
        XCTAssertEqual(t.family, .chatML)
        XCTAssertEqual(t.defaultSystemPrompt, "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        XCTAssertEqual(t.bosToken, "<|im_start|>")
        XCTAssertEqual(t.eosToken, "<|im_end|>")
    }

    func testGoldenChatCasesTextAndIDs() throws {
        let (t, tok) = try model()
        let g = try XCTUnwrap(TestModel.golden("tokenizer.json") as? [String: Any])
        let chats = try XCTUnwrap(g["chat"] as? [[String: Any]])
        XCTAssertEqual(chats.count, 3)
        for c in chats {
            let raw = try XCTUnwrap(c["messages"] as? [[String: String]])
            let messages = raw.map { ChatMessage(role: $0["role"]!, content: $0["content"]!) }
            let text = try t.render(messages, addGenerationPrompt: true)
            XCTAssertEqual(text, c["text"] as? String)
            XCTAssertEqual(tok.encode(text), c["ids"] as? [Int])
        }
    }

    func testNoGenerationPrompt() throws {
        let (t, _) = try model()
        XCTAssertEqual(try t.render([.system("S"), .user("U")], addGenerationPrompt: false),
                       "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n")
    }

    func testUserTurnAffixes() throws {
        let (t, _) = try model()
        let (prefix, suffix) = try t.userTurnAffixes()
        XCTAssertEqual(prefix, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
            + "<|im_end|>\n<|im_start|>user\n")
        XCTAssertEqual(suffix, "<|im_end|>\n<|im_start|>assistant\n")
        let custom = try t.userTurnAffixes(systemPrompt: "Be brief.")
        XCTAssertEqual(custom.prefix, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n")
        XCTAssertEqual(custom.suffix, suffix)
    }

    /// kvpress 0.5.5's pipeline layout on the golden press document (`presses/none.json`).
    func testKvpressContextAndQuestionIDs() throws {
        let (t, tok) = try model()
        let g = try XCTUnwrap(TestModel.golden("presses/none.json") as? [String: Any])
        let contextIDs = try XCTUnwrap(g["context_ids"] as? [Int])
        let questionIDs = try XCTUnwrap(g["question_ids"] as? [Int])
        XCTAssertEqual(g["n_context"] as? Int, contextIDs.count)

        let (prefix, suffix) = try t.userTurnAffixes()
        let prefixIDs = tok.encode(prefix)
        XCTAssertEqual(Array(contextIDs.prefix(prefixIDs.count)), prefixIDs)

        let question = "What is the special magic number for river-gamma mentioned in the provided text?"
        let answerPrefix = "The special magic number for river-gamma mentioned in the provided text is"
        let q = tok.encode(question)
        let s = tok.encode(suffix)
        XCTAssertEqual(s, [2, 198, 1, 520, 9531, 198])  // <|im_end|> \n <|im_start|> assistant \n
        XCTAssertEqual(questionIDs, q + s + tok.encode(answerPrefix))
        XCTAssertEqual(tok.decode(questionIDs), question + suffix + answerPrefix)

        // The whole kvpress preprocessing, with the document recovered from the reference ids.
        let document = String(tok.decode(contextIDs).dropFirst(prefix.count))
        XCTAssertEqual(tok.decode(contextIDs), prefix + document)
        let split = try t.kvpressPrompt(context: document, question: question, answerPrefix: answerPrefix)
        XCTAssertEqual(tok.encode(split.context), contextIDs)
        XCTAssertEqual(tok.encode(split.question), questionIDs)
    }

    func testChatMLWithoutDefaultSystemPrompt() throws {
        let template = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] "
            + "+ '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
        let t = try ChatTemplate(template: template)
        XCTAssertNil(t.defaultSystemPrompt)
        XCTAssertEqual(try t.render([.user("Hi")]), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    // MARK: - Errors

    func testUnknownTemplateNamesSupportedFamilies() {
        XCTAssertThrowsError(try ChatTemplate(template: "{{ messages[0]['content'] }}<|assistant|>")) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("unrecognised chat template"), text)
            for family in ["ChatML", "Llama 3", "Gemma", "Mistral", "Phi-3"] { XCTAssertTrue(text.contains(family), text) }
        }
    }

    func testNoMessagesIsAnError() throws {
        let (t, _) = try model()
        XCTAssertThrowsError(try t.render([])) { error in
            XCTAssertEqual(error as? ChatTemplateError, .invalidMessages("there are no messages"))
        }
    }

    func testStringLiteralsResolveEscapes() {
        XCTAssertEqual(ChatTemplate.stringLiterals(in: #"text 'not' {{ 'a\n' + "b\"c" }} {% if x == 'y' %}"#),
                       ["a\n", "b\"c", "y"])
    }
}
