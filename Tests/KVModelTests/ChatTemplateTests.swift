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

    // MARK: - Other families (real template texts, hand-written expected renderings)

    /// Meta-Llama-3-8B-Instruct's template.
    static let llama3Template = """
    {% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + \
    message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}\
    {% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}\
    {{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}
    """

    func testLlama3() throws {
        let t = try ChatTemplate(template: Self.llama3Template, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>")
        XCTAssertEqual(t.family, .llama3)
        XCTAssertNil(t.llama3SystemPreamble)
        let text = try t.render([.system("You are terse."), .user("  Hi there \n"), .assistant("Hello."), .user("Bye")])
        XCTAssertEqual(text, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        let (prefix, suffix) = try t.userTurnAffixes()
        XCTAssertEqual(prefix, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n")
        XCTAssertEqual(suffix, "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        // kvpress: the template trims the content, so leading whitespace of the context disappears.
        let split = try t.kvpressPrompt(context: "\n  Doc.\n", question: "Q?")
        XCTAssertEqual(split.context, prefix + "Doc.\n")
        XCTAssertEqual(split.question, "Q?" + suffix)
    }

    /// The system-turn part of Llama 3.1-8B-Instruct's template (tool branches elided).
    static let llama31Template = """
    {{- bos_token }}
    {%- if not date_string is defined %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
    {%- if messages[0]['role'] == 'system' %}
        {%- set system_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {%- set system_message = "" %}
    {%- endif %}
    {{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
    {{- "Cutting Knowledge Date: December 2023\\n" }}
    {{- "Today Date: " + date_string + "\\n\\n" }}
    {{- system_message }}
    {{- "<|eot_id|>" }}
    {%- for message in messages %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- endfor %}
    {%- if add_generation_prompt %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
    {%- endif %}
    """

    func testLlama31SystemPreamble() throws {
        let t = try ChatTemplate(template: Self.llama31Template, bosToken: "<|begin_of_text|>")
        XCTAssertEqual(t.family, .llama3)
        XCTAssertEqual(try t.render([.user("Hi")]),
                       "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                       + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>"
                       + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                       + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        XCTAssertEqual(try t.render([.system(" Be kind. "), .user("Hi")], addGenerationPrompt: false),
                       "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                       + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe kind.<|eot_id|>"
                       + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>")
    }

    /// Gemma 3 instruct's template (image branches elided).
    static let gemmaTemplate = """
    {{ bos_token }}
    {%- if messages[0]['role'] == 'system' -%}
        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
        {%- set loop_messages = messages[1:] -%}
    {%- else -%}
        {%- set first_user_prefix = "" -%}
        {%- set loop_messages = messages -%}
    {%- endif -%}
    {%- for message in loop_messages -%}
        {%- if (message['role'] == 'assistant') -%}
            {%- set role = "model" -%}
        {%- else -%}
            {%- set role = message['role'] -%}
        {%- endif -%}
        {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
        {{ message['content'] | trim }}
        {{ '<end_of_turn>\n' }}
    {%- endfor -%}
    {%- if add_generation_prompt -%}
        {{'<start_of_turn>model\n'}}
    {%- endif -%}
    """

    func testGemmaFoldsSystemIntoFirstUserTurn() throws {
        let t = try ChatTemplate(template: Self.gemmaTemplate, bosToken: "<bos>", eosToken: "<eos>")
        XCTAssertEqual(t.family, .gemma)
        XCTAssertEqual(try t.render([.system("Answer in French."), .user(" Hi "), .assistant("Salut"), .user("Ça va?")]),
                       "<bos><start_of_turn>user\nAnswer in French.\n\nHi<end_of_turn>\n"
                       + "<start_of_turn>model\nSalut<end_of_turn>\n"
                       + "<start_of_turn>user\nÇa va?<end_of_turn>\n"
                       + "<start_of_turn>model\n")
        let (prefix, suffix) = try t.userTurnAffixes()
        XCTAssertEqual(prefix, "<bos><start_of_turn>user\n")
        XCTAssertEqual(suffix, "<end_of_turn>\n<start_of_turn>model\n")
        XCTAssertThrowsError(try t.render([.user("a"), .system("late")]))
    }

    /// Mistral-7B-Instruct-v0.1's template.
    static let mistralTemplate = """
    {{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\
    {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}\
    {% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}\
    {% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}\
    {% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}
    """

    func testMistral() throws {
        let t = try ChatTemplate(template: Self.mistralTemplate, bosToken: "<s>", eosToken: "</s>")
        XCTAssertEqual(t.family, .mistral)
        XCTAssertEqual(try t.render([.user("Hi"), .assistant("Hello"), .user("Joke?")]),
                       "<s>[INST] Hi [/INST]Hello</s>[INST] Joke? [/INST]")
        XCTAssertEqual(try t.render([.system("Sys"), .user("Hi")]), "<s>[INST] Sys\n\nHi [/INST]")
        let (prefix, suffix) = try t.userTurnAffixes()
        XCTAssertEqual(prefix, "<s>[INST] ")
        XCTAssertEqual(suffix, " [/INST]")
        XCTAssertThrowsError(try t.render([.user("a"), ChatMessage(role: "tool", content: "x")]))
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
            for family in ["ChatML", "Llama 3", "Gemma", "Mistral"] { XCTAssertTrue(text.contains(family), text) }
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
