import Foundation

/// Why a chat template cannot be used.
public enum ChatTemplateError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The model has no `tokenizer.chat_template`.
    case missingTemplate
    /// The template's family is not recognised.
    case unsupportedTemplate(excerpt: String)
    /// The messages cannot be rendered by this family's template.
    case invalidMessages(String)

    /// A sentence for the user; an unrecognised template lists the families kvd renders.
    public var description: String {
        switch self {
        case .missingTemplate:
            return "the model has no chat template (tokenizer.chat_template is missing)"
        case .unsupportedTemplate(let excerpt):
            return "unrecognised chat template (starts with \(excerpt.debugDescription)); supported families: "
                + ChatTemplate.Family.allCases.map(\.displayName).joined(separator: ", ")
        case .invalidMessages(let why):
            return "cannot render these chat messages: \(why)"
        }
    }
}

/// A model's chat template, recognised by family from the Jinja text in `tokenizer.chat_template`
/// and rendered natively (no Jinja interpreter).
///
/// Renderings reproduce what Jinja (as transformers runs it) makes of the real templates for plain
/// text messages (no tools, no images), including their errors: where a template raises (roles
/// that do not alternate, a system message it has no place for) `render` throws.
public struct ChatTemplate: Sendable {
    /// The template families kvd renders.
    public enum Family: String, CaseIterable, Sendable {
        /// `<|im_start|>role\n…<|im_end|>\n` (SmolLM, Qwen, …), with the template's default system prompt.
        case chatML
        /// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>` (Llama 3, 3.1, 3.2, 3.3).
        case llama3
        /// `<start_of_turn>user\n…<end_of_turn>\n`, assistant role named `model` (Gemma 1–3).
        case gemma
        /// `[INST] … [/INST]` (Mistral / Mixtral instruct, v0.1 to v0.3 spacing).
        case mistral
        /// `<|user|>\n…<|end|>\n<|assistant|>\n` (Phi-3, Phi-3.5).
        case phi3

        /// Name used in messages.
        public var displayName: String {
            switch self {
            case .chatML: return "ChatML (<|im_start|>)"
            case .llama3: return "Llama 3 (<|start_header_id|>)"
            case .gemma: return "Gemma (<start_of_turn>)"
            case .mistral: return "Mistral ([INST])"
            case .phi3: return "Phi-3 (<|user|>)"
            }
        }
    }

    /// The recognised family.
    public var family: Family {
        switch layout {
        case .chatML: return .chatML
        case .llama3: return .llama3
        case .gemma: return .gemma
        case .mistral: return .mistral
        case .phi3: return .phi3
        }
    }
    /// The Jinja source the family was recognised from.
    public let source: String
    /// The text rendered for `bos_token` (empty if the model has none).
    public let bosToken: String
    /// The text rendered for `eos_token` (empty if the model has none).
    public let eosToken: String
    /// The clock for templates that write today's date (Llama 3.2's `strftime_now`); tests pin it.
    public var now: @Sendable () -> Date = { Date() }

    private let layout: Layout

    /// What sets the templates of one family apart, read from the template text.
    private enum Layout: Sendable {
        case chatML(defaultSystem: String?)
        case llama3(Llama3Preamble?)
        case gemma(GemmaStyle)
        case mistral(MistralStyle)
        case phi3(Phi3Style)
    }

    /// Llama 3.1+: the system turn always opens with the knowledge cutoff and a date.
    private struct Llama3Preamble: Sendable {
        var cutoff: String  // "Cutting Knowledge Date: December 2023\n"
        /// `strftime_now("…")`'s format: the date is today's, as transformers and llama.cpp render it.
        var dateFormat: String?
        /// `set date_string = "…"`: the date when the template has no `strftime_now`.
        var fixedDate: String
    }

    private struct GemmaStyle: Sendable {
        /// Gemma 3 puts a system message in front of the first user turn; Gemma 1 and 2 raise.
        var foldsSystem: Bool
        var alternates: Bool
    }

    private struct MistralStyle: Sendable {
        var open: String  // "[INST] " (v0.1 legacy, v0.3) or " [INST] " (v0.1/v0.2 current)
        var close: String  // " [/INST]" or "[/INST]" (v0.3)
        var assistantPrefix: String  // " " in the current templates, "" in the legacy one
        var trimsAssistant: Bool  // v0.3
        var system: SystemPlace
        enum SystemPlace: Sendable { case none, firstUser, lastUser }
    }

    private struct Phi3Style: Sendable {
        var writesBOS: Bool
        /// `<|system|>` turns exist (Phi-3-mini since mid 2024, Phi-3.5); the first Phi-3-mini
        /// and Phi-3-medium templates drop system messages.
        var systemTurn: Bool
        /// Phi-3.5 skips an empty system message.
        var skipsEmptySystem: Bool
        /// Phi-3-small writes `<|role|>` for any role.
        var anyRole: Bool
        /// Templates without `add_generation_prompt` open the assistant's turn after every user turn.
        var opensAssistantAfterUser: Bool
        /// Without the generation prompt the newer templates end with `eos_token`.
        var eosWithoutGenerationPrompt: Bool
    }

    /// Recognises the family of `template`; `bosToken`/`eosToken` are the texts of the model's BOS/EOS tokens.
    public init(template: String, bosToken: String = "", eosToken: String = "") throws {
        source = template
        self.bosToken = bosToken
        self.eosToken = eosToken
        let literals = ChatTemplate.stringLiterals(in: template)
        if template.contains("<|im_start|>") {
            var defaultSystem: String?
            let marker = "<|im_start|>system\n"
            for lit in literals {
                guard let r = lit.range(of: marker), let end = lit.range(of: "<|im_end|>", range: r.upperBound..<lit.endIndex)
                else { continue }
                defaultSystem = String(lit[r.upperBound..<end.lowerBound])
                break
            }
            layout = .chatML(defaultSystem: defaultSystem)
        } else if template.contains("<|start_header_id|>") {
            var preamble: Llama3Preamble?
            if let cutoff = literals.first(where: { $0.hasPrefix("Cutting Knowledge Date:") }) {
                preamble = Llama3Preamble(cutoff: cutoff, dateFormat: ChatTemplate.strftimeFormat(in: template),
                                          fixedDate: ChatTemplate.defaultDateString(in: template) ?? "26 Jul 2024")
            }
            layout = .llama3(preamble)
        } else if template.contains("<start_of_turn>") {
            layout = .gemma(GemmaStyle(foldsSystem: template.contains("first_user_prefix"),
                                       alternates: template.contains("must alternate")))
        } else if template.contains("[INST]") && !template.contains("<<SYS>>") {  // Llama 2's <<SYS>> layout is another family
            let open = literals.first { $0.trimmingCharacters(in: .whitespaces) == "[INST]" } ?? "[INST] "
            let close = literals.first { $0.trimmingCharacters(in: .whitespaces) == "[/INST]" } ?? " [/INST]"
            let system: MistralStyle.SystemPlace = template.contains("loop.last and system_message") ? .lastUser
                : template.contains("loop.first and system_message") ? .firstUser : .none
            layout = .mistral(MistralStyle(
                open: open, close: close,
                assistantPrefix: template.contains("' ' + message['content']") || template.contains("\" \" + message[\"content\"]")
                    ? " " : "",
                trimsAssistant: template.contains("message[\"content\"]|trim + eos_token")
                    || template.contains("message['content']|trim + eos_token"),
                system: system))
        } else if template.contains("<|end|>") && (template.contains("<|user|>") || template.contains("<|assistant|>")) {
            layout = .phi3(Phi3Style(
                writesBOS: template.contains("bos_token"),
                systemTurn: template.contains("<|system|>") || literals.contains("<|"),
                skipsEmptySystem: template.contains("'system' and message['content']"),
                anyRole: literals.contains("<|"),
                opensAssistantAfterUser: !template.contains("add_generation_prompt"),
                eosWithoutGenerationPrompt: template.contains("eos_token")))
        } else {
            throw ChatTemplateError.unsupportedTemplate(excerpt: String(template.prefix(80)))
        }
    }

    /// The chat template of a GGUF model (`tokenizer.chat_template`, BOS/EOS texts from its vocabulary).
    public init(gguf: GGUFFile) throws {
        guard let template = gguf.metadata[GGUFKeys.chatTemplate]?.string else { throw ChatTemplateError.missingTemplate }
        let tokens = gguf.metadata[GGUFKeys.tokens]?.array?.strings ?? []
        func text(_ key: String) -> String {
            guard let id = gguf.metadata[key]?.int, id >= 0, id < tokens.count else { return "" }
            return tokens[id]
        }
        try self.init(template: template, bosToken: text(GGUFKeys.bosTokenID), eosToken: text(GGUFKeys.eosTokenID))
    }

    /// ChatML: the system prompt the template inserts when the conversation has none, extracted
    /// from the template text (nil when it inserts none, and for other families).
    public var defaultSystemPrompt: String? {
        if case .chatML(let s) = layout { return s }
        return nil
    }

    /// Llama 3.1+: the knowledge-cutoff and date preamble of the system turn as rendered now (nil for
    /// Llama 3.0 and other families).
    public var llama3SystemPreamble: String? {
        guard case .llama3(let p?) = layout else { return nil }
        let date = p.dateFormat.map { ChatTemplate.strftime($0, now()) } ?? p.fixedDate
        return p.cutoff + "Today Date: " + date + "\n\n"
    }

    // MARK: - Rendering

    /// Renders `messages` as the template does; with `addGenerationPrompt`, ends with the opening of
    /// the assistant's turn (Mistral's templates have none; the first Phi-3 templates always write it).
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> String {
        guard !messages.isEmpty else { throw ChatTemplateError.invalidMessages("there are no messages") }
        switch layout {
        case .chatML(let defaultSystem): return renderChatML(messages, defaultSystem, addGenerationPrompt)
        case .llama3: return renderLlama3(messages, addGenerationPrompt)
        case .gemma(let style): return try renderGemma(messages, style, addGenerationPrompt)
        case .mistral(let style): return try renderMistral(messages, style)
        case .phi3(let style): return renderPhi3(messages, style, addGenerationPrompt)
        }
    }

    private func renderChatML(_ messages: [ChatMessage], _ defaultSystem: String?, _ generation: Bool) -> String {
        var out = ""
        if messages[0].role != "system", let s = defaultSystem {
            out += "<|im_start|>system\n" + s + "<|im_end|>\n"
        }
        for m in messages { out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n" }
        if generation { out += "<|im_start|>assistant\n" }
        return out
    }

    private func renderLlama3(_ messages: [ChatMessage], _ generation: Bool) -> String {
        var out = bosToken
        var rest = messages[...]
        if let preamble = llama3SystemPreamble {
            var system = ""
            if rest.first?.role == "system" { system = ChatTemplate.trim(rest.removeFirst().content) }
            out += "<|start_header_id|>system<|end_header_id|>\n\n" + preamble + system + "<|eot_id|>"
        }
        for m in rest {
            out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + ChatTemplate.trim(m.content) + "<|eot_id|>"
        }
        if generation { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        return out
    }

    private func renderGemma(_ messages: [ChatMessage], _ style: GemmaStyle, _ generation: Bool) throws -> String {
        var rest = messages[...]
        var firstUserPrefix = ""
        if rest.first?.role == "system" {
            guard style.foldsSystem else {
                throw ChatTemplateError.invalidMessages("this Gemma template has no system turn (put the instructions "
                    + "in the first user message)")
            }
            firstUserPrefix = rest.removeFirst().content + "\n\n"
        }
        if style.alternates { try ChatTemplate.checkAlternation(rest) }
        var out = bosToken
        for (i, m) in rest.enumerated() {
            let role = m.role == "assistant" ? "model" : m.role
            out += "<start_of_turn>" + role + "\n" + (i == 0 ? firstUserPrefix : "") + ChatTemplate.trim(m.content)
                + "<end_of_turn>\n"
        }
        if generation { out += "<start_of_turn>model\n" }
        return out
    }

    private func renderMistral(_ messages: [ChatMessage], _ style: MistralStyle) throws -> String {
        var rest = messages[...]
        var system: String?
        if rest.first?.role == "system" {
            guard style.system != .none else {
                throw ChatTemplateError.invalidMessages("this Mistral template has no system message (put the "
                    + "instructions in the first user message)")
            }
            system = rest.removeFirst().content
        }
        try ChatTemplate.checkAlternation(rest)
        var out = bosToken
        for (i, m) in rest.enumerated() {
            switch m.role {
            case "user":
                var content = m.content
                let here = style.system == .firstUser ? i == 0 : i == rest.count - 1
                if here, let system { content = system + "\n\n" + content }
                out += style.open + content + style.close
            case "assistant":
                out += style.assistantPrefix + (style.trimsAssistant ? ChatTemplate.trim(m.content) : m.content) + eosToken
            default:
                throw ChatTemplateError.invalidMessages(
                    "Mistral templates accept user and assistant messages (and one leading system message), not '\(m.role)'")
            }
        }
        return out
    }

    private func renderPhi3(_ messages: [ChatMessage], _ style: Phi3Style, _ generation: Bool) -> String {
        var out = style.writesBOS ? bosToken : ""
        for m in messages {
            switch m.role {
            case "user":
                out += "<|user|>\n" + m.content + "<|end|>\n" + (style.opensAssistantAfterUser ? "<|assistant|>\n" : "")
            case "assistant":
                out += (style.opensAssistantAfterUser ? "" : "<|assistant|>\n") + m.content + "<|end|>\n"
            case "system" where !style.systemTurn, "system" where style.skipsEmptySystem && m.content.isEmpty:
                break  // the template drops it
            default:
                if m.role == "system" || style.anyRole { out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n" }
            }
        }
        if !style.opensAssistantAfterUser {
            if generation { out += "<|assistant|>\n" } else if style.eosWithoutGenerationPrompt { out += eosToken }
        }
        return out
    }

    /// The templates' `(message['role'] == 'user') != (loop.index0 % 2 == 0)` check.
    private static func checkAlternation(_ messages: ArraySlice<ChatMessage>) throws {
        for (i, m) in messages.enumerated() where (m.role == "user") != (i % 2 == 0) {
            throw ChatTemplateError.invalidMessages("conversation roles must alternate user/assistant/user/… "
                + "(after an optional system message); message \(i + 1) is '\(m.role)'")
        }
    }

    // MARK: - The context / question split (kvpress)

    /// The rendering of a single user turn (after an optional system message) split around the
    /// user's content: `prefix` is everything up to where the content starts (context goes right
    /// after it), `suffix` everything after the content (end of turn plus the assistant's opening).
    public func userTurnAffixes(systemPrompt: String? = nil) throws -> (prefix: String, suffix: String) {
        let sentinel = "\u{E000}kvd-user-content\u{E001}"
        var messages: [ChatMessage] = []
        if let systemPrompt { messages.append(.system(systemPrompt)) }
        messages.append(.user(sentinel))
        let text = try render(messages, addGenerationPrompt: true)
        guard let r = text.range(of: sentinel) else {
            throw ChatTemplateError.invalidMessages("the template drops the user's content")
        }
        return (String(text[..<r.lowerBound]), String(text[r.upperBound...]))
    }

    /// The context and question texts exactly as kvpress 0.5.5's pipeline builds them: the template
    /// is rendered for one user message holding the context followed by a separator (`"\n"` and
    /// as many `#` as the context has characters), with the generation prompt; the text before the
    /// separator is the context, and the question becomes `question + <text after the separator> + answerPrefix`.
    /// Tokenize both with `Tokenizer.encode` (no special tokens added) to get kvpress's context_ids / question_ids.
    public func kvpressPrompt(context: String, question: String, answerPrefix: String = "") throws
        -> (context: String, question: String) {
        let separator = "\n" + String(repeating: "#", count: context.unicodeScalars.count)
        let text = try render([.user(context + separator)], addGenerationPrompt: true)
        guard let r = text.range(of: separator) else {
            throw ChatTemplateError.invalidMessages("the template drops the user's content")
        }
        return (String(text[..<r.lowerBound]), question + String(text[r.upperBound...]) + answerPrefix)
    }
}
