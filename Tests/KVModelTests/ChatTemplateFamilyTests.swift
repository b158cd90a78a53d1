import Foundation
import XCTest
@testable import KVModel

/// Each family's real templates (`RealChatTemplates`) rendered for a system + user conversation and a
/// single user message; the expected texts are what Jinja makes of those templates, worked out by hand.
final class ChatTemplateFamilyTests: XCTestCase {
    private let system = ChatMessage.system("You are terse.")
    private let user = ChatMessage.user("Hi there")

    private func template(_ text: String, bos: String = "", eos: String = "") throws -> ChatTemplate {
        try ChatTemplate(template: text, bosToken: bos, eosToken: eos)
    }

    /// kvpress's split must cut the single-user rendering into context and question: the context is
    /// everything up to the end of the document, the question the query plus the rest of the turn.
    private func checkKvpressSplit(_ t: ChatTemplate, file: StaticString = #filePath, line: UInt = #line) throws {
        let document = "The lighthouse was designed by Thomas Hale."
        let question = "Who designed it?"
        let split = try t.kvpressPrompt(context: document, question: question, answerPrefix: "Answer:")
        let whole = try t.render([.user(document)], addGenerationPrompt: true)
        XCTAssertTrue(split.context.hasSuffix(document), split.context, file: file, line: line)
        XCTAssertTrue(split.question.hasPrefix(question) && split.question.hasSuffix("Answer:"), split.question,
                      file: file, line: line)
        XCTAssertEqual(split.context + split.question.dropFirst(question.count).dropLast("Answer:".count), whole,
                       file: file, line: line)
        let (prefix, suffix) = try t.userTurnAffixes()
        XCTAssertEqual(split.context, prefix + document, file: file, line: line)
        XCTAssertEqual(split.question, question + suffix + "Answer:", file: file, line: line)
    }

    // MARK: - ChatML

    func testQwen25() throws {
        let t = try template(RealChatTemplates.qwen25, bos: "<|endoftext|>", eos: "<|im_end|>")
        XCTAssertEqual(t.family, .chatML)
        XCTAssertEqual(try t.render([user]),
                       "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                       + "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(try t.render([system, user]),
                       "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n")
        try checkKvpressSplit(t)
    }

    // MARK: - Llama 3

    func testLlama3() throws {
        let t = try template(RealChatTemplates.llama3, bos: "<|begin_of_text|>", eos: "<|eot_id|>")
        XCTAssertEqual(t.family, .llama3)
        XCTAssertNil(t.llama3SystemPreamble)
        XCTAssertEqual(try t.render([user]),
                       "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                       + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        XCTAssertEqual(try t.render([system, .user("  Hi there \n"), .assistant("Hello."), .user("Bye")]),
                       "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                       + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                       + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                       + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
                       + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        try checkKvpressSplit(t)
        // The template trims the content, so leading whitespace of a kvpress context disappears.
        let split = try t.kvpressPrompt(context: "\n  Doc.\n", question: "Q?")
        XCTAssertEqual(split.context, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nDoc.\n")
    }

    func testLlama31() throws {
        let t = try template(RealChatTemplates.llama31, bos: "<|begin_of_text|>", eos: "<|eot_id|>")
        XCTAssertEqual(t.family, .llama3)
        let head = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
        XCTAssertEqual(try t.render([user]),
                       head + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                       + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        XCTAssertEqual(try t.render([.system(" You are terse. "), user]),
                       head + "You are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                       + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        try checkKvpressSplit(t)
    }

    /// Llama 3.2 stamps today's date (`strftime_now("%d %b %Y")`, as transformers and llama.cpp define it).
    func testLlama32DatesTheSystemTurn() throws {
        var t = try template(RealChatTemplates.llama32, bos: "<|begin_of_text|>", eos: "<|eot_id|>")
        XCTAssertEqual(t.family, .llama3)
        t.now = { Date(timeIntervalSince1970: 1_780_660_800) }  // 2026-06-05 12:00 UTC
        let head = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
            + "Cutting Knowledge Date: December 2023\nToday Date: 05 Jun 2026\n\n"
        XCTAssertEqual(try t.render([user]),
                       head + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                       + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        XCTAssertEqual(try t.render([system, user], addGenerationPrompt: false),
                       head + "You are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>")
        try checkKvpressSplit(t)
    }

    func testStrftime() {
        let date = Date(timeIntervalSince1970: 1_780_660_800)
        XCTAssertEqual(ChatTemplate.strftime("%d %b %Y", date), "05 Jun 2026")
        XCTAssertEqual(ChatTemplate.strftime("%d %B %y, %m %% %q", date), "05 June 26, 06 % %q")
    }

    // MARK: - Gemma

    func testGemma3() throws {
        let t = try template(RealChatTemplates.gemma3, bos: "<bos>", eos: "<eos>")
        XCTAssertEqual(t.family, .gemma)
        XCTAssertEqual(try t.render([user]), "<bos><start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n")
        XCTAssertEqual(try t.render([system, .user(" Hi there ")]),
                       "<bos><start_of_turn>user\nYou are terse.\n\nHi there<end_of_turn>\n<start_of_turn>model\n")
        XCTAssertEqual(try t.render([system, user, .assistant("Hello"), .user("Ça va?")], addGenerationPrompt: false),
                       "<bos><start_of_turn>user\nYou are terse.\n\nHi there<end_of_turn>\n"
                       + "<start_of_turn>model\nHello<end_of_turn>\n<start_of_turn>user\nÇa va?<end_of_turn>\n")
        // The template raises when roles do not alternate.
        XCTAssertThrowsError(try t.render([user, user])) { error in
            XCTAssertTrue("\(error)".contains("alternate"), "\(error)")
        }
        try checkKvpressSplit(t)
    }

    func testGemma2HasNoSystemRole() throws {
        let t = try template(RealChatTemplates.gemma2, bos: "<bos>", eos: "<eos>")
        XCTAssertEqual(t.family, .gemma)
        XCTAssertEqual(try t.render([user]), "<bos><start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n")
        XCTAssertThrowsError(try t.render([system, user])) { error in
            XCTAssertTrue("\(error)".contains("no system turn"), "\(error)")
        }
        try checkKvpressSplit(t)
    }

    // MARK: - Mistral

    func testMistralLegacyV01() throws {
        let t = try template(RealChatTemplates.mistralV1Legacy, bos: "<s>", eos: "</s>")
        XCTAssertEqual(t.family, .mistral)
        XCTAssertEqual(try t.render([user]), "<s>[INST] Hi there [/INST]")
        XCTAssertEqual(try t.render([user, .assistant("Hello"), .user("Joke?")]), "<s>[INST] Hi there [/INST]Hello</s>[INST] Joke? [/INST]")
        XCTAssertThrowsError(try t.render([system, user])) { error in
            XCTAssertTrue("\(error)".contains("no system message"), "\(error)")
        }
        XCTAssertThrowsError(try t.render([user, ChatMessage(role: "tool", content: "x")]))
        try checkKvpressSplit(t)
    }

    func testMistralV01Updated() throws {
        let t = try template(RealChatTemplates.mistralV1, bos: "<s>", eos: "</s>")
        XCTAssertEqual(try t.render([user]), "<s> [INST] Hi there [/INST]")
        XCTAssertEqual(try t.render([system, user]), "<s> [INST] You are terse.\n\nHi there [/INST]")
        XCTAssertEqual(try t.render([system, user, .assistant("Hello"), .user("Joke?")]),
                       "<s> [INST] You are terse.\n\nHi there [/INST] Hello</s> [INST] Joke? [/INST]")
        XCTAssertThrowsError(try t.render([.assistant("Hello")]))
        try checkKvpressSplit(t)
    }

    func testMistralV03PutsSystemBeforeTheLastUserMessage() throws {
        let t = try template(RealChatTemplates.mistralV3, bos: "<s>", eos: "</s>")
        XCTAssertEqual(t.family, .mistral)
        XCTAssertEqual(try t.render([user]), "<s>[INST] Hi there[/INST]")
        XCTAssertEqual(try t.render([system, user]), "<s>[INST] You are terse.\n\nHi there[/INST]")
        XCTAssertEqual(try t.render([system, user, .assistant(" Hello "), .user("Joke?")]),
                       "<s>[INST] Hi there[/INST] Hello</s>[INST] You are terse.\n\nJoke?[/INST]")
        try checkKvpressSplit(t)
    }

    // MARK: - Phi-3

    func testPhi3Mini() throws {
        let t = try template(RealChatTemplates.phi3mini, bos: "<s>", eos: "<|endoftext|>")
        XCTAssertEqual(t.family, .phi3)
        XCTAssertEqual(try t.render([user]), "<|user|>\nHi there<|end|>\n<|assistant|>\n")
        XCTAssertEqual(try t.render([system, user]), "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi there<|end|>\n<|assistant|>\n")
        XCTAssertEqual(try t.render([user, .assistant("Hello")], addGenerationPrompt: false),
                       "<|user|>\nHi there<|end|>\n<|assistant|>\nHello<|end|>\n<|endoftext|>")
        XCTAssertEqual(try t.render([.system(""), user]), "<|system|>\n<|end|>\n<|user|>\nHi there<|end|>\n<|assistant|>\n")
        try checkKvpressSplit(t)
    }

    func testPhi35MiniSkipsAnEmptySystemMessage() throws {
        let t = try template(RealChatTemplates.phi35mini, bos: "<s>", eos: "<|endoftext|>")
        XCTAssertEqual(t.family, .phi3)
        XCTAssertEqual(try t.render([system, user]), "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi there<|end|>\n<|assistant|>\n")
        XCTAssertEqual(try t.render([.system(""), user]), "<|user|>\nHi there<|end|>\n<|assistant|>\n")
        try checkKvpressSplit(t)
    }

    /// The first Phi-3-mini template writes BOS, drops system messages and opens the assistant's turn
    /// after every user turn.
    func testPhi3MiniAsFirstPublished() throws {
        let t = try template(RealChatTemplates.phi3miniApril2024, bos: "<s>", eos: "<|endoftext|>")
        XCTAssertEqual(t.family, .phi3)
        XCTAssertEqual(try t.render([user]), "<s><|user|>\nHi there<|end|>\n<|assistant|>\n")
        XCTAssertEqual(try t.render([system, user]), "<s><|user|>\nHi there<|end|>\n<|assistant|>\n")
        XCTAssertEqual(try t.render([user, .assistant("Hello"), .user("Bye")], addGenerationPrompt: false),
                       "<s><|user|>\nHi there<|end|>\n<|assistant|>\nHello<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n")
        try checkKvpressSplit(t)
    }

    func testLlama2IsNotTakenForMistral() {
        let llama2 = "{% if messages[0]['role'] == 'system' %}{% set system_message = '<<SYS>>\\n' + messages[0]['content'] "
            + "+ '\\n<</SYS>>\\n\\n' %}{% endif %}{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}"
        XCTAssertThrowsError(try ChatTemplate(template: llama2))
    }
}
