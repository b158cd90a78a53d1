import Foundation

/// Why a chat template cannot be used.
public enum ChatTemplateError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The model has no `tokenizer.chat_template`.
    case missingTemplate
    /// The template's family is not recognised.
    case unsupportedTemplate(excerpt: String)
    /// The messages cannot be rendered by this family's template.
    case invalidMessages(String)

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
/// Renderings reproduce the templates' output for plain text messages (no tools, no images).
public struct ChatTemplate: Sendable {
    /// The template families kvd renders.
    public enum Family: String, CaseIterable, Sendable {
        /// `<|im_start|>role\n…<|im_end|>\n` (SmolLM, Qwen, …), with the template's default system prompt.
        case chatML
        /// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>` (Llama 3.x).
        case llama3
        /// `<start_of_turn>user\n…<end_of_turn>\n`, assistant role named `model`, system folded into the first user turn.
        case gemma
        /// `[INST] … [/INST]` (Mistral / Mixtral instruct), system folded into the first user turn.
        case mistral

        /// Name used in messages.
        public var displayName: String {
            switch self {
            case .chatML: return "ChatML (<|im_start|>)"
            case .llama3: return "Llama 3 (<|start_header_id|>)"
            case .gemma: return "Gemma (<start_of_turn>)"
            case .mistral: return "Mistral ([INST])"
            }
        }
    }

    /// The recognised family.
    public let family: Family
    /// The Jinja source the family was recognised from.
    public let source: String
    /// The text rendered for `bos_token` (empty if the model has none).
    public let bosToken: String
    /// The text rendered for `eos_token` (empty if the model has none).
    public let eosToken: String
    /// ChatML / Llama 3: the system prompt the template inserts when the conversation has none,
    /// extracted from the template text (nil when the template inserts none).
    public let defaultSystemPrompt: String?
    /// Llama 3.1+: the knowledge-cutoff and date preamble of the system turn (nil for Llama 3.0).
    public let llama3SystemPreamble: String?

    // Mistral spacing variants: `[INST] x [/INST]` (v0.1/v0.2) or `[INST]x[/INST]` (v3+).
    private let instOpen: String
    private let instClose: String

    /// Recognises the family of `template`; `bosToken`/`eosToken` are the texts of the model's BOS/EOS tokens.
    public init(template: String, bosToken: String = "", eosToken: String = "") throws {
        source = template
        self.bosToken = bosToken
        self.eosToken = eosToken
        let literals = ChatTemplate.stringLiterals(in: template)
        var open = "[INST]", close = "[/INST]"
        var preamble: String?
        var defaultSystem: String?
        if template.contains("<|im_start|>") {
            family = .chatML
            let marker = "<|im_start|>system\n"
            for lit in literals {
                guard let r = lit.range(of: marker), let end = lit.range(of: "<|im_end|>", range: r.upperBound..<lit.endIndex)
                else { continue }
                defaultSystem = String(lit[r.upperBound..<end.lowerBound])
                break
            }
        } else if template.contains("<|start_header_id|>") {
            family = .llama3
            if let cutoff = literals.first(where: { $0.hasPrefix("Cutting Knowledge Date:") }) {
                let date = ChatTemplate.defaultDateString(in: template) ?? "26 Jul 2024"
                preamble = cutoff + "Today Date: " + date + "\n\n"
            }
        } else if template.contains("<start_of_turn>") {
            family = .gemma
        } else if template.contains("[INST]") {
            family = .mistral
            if literals.contains(where: { $0.hasPrefix("[INST] ") }) { open = "[INST] " }
            if literals.contains(where: { $0.hasPrefix(" [/INST]") || $0.hasSuffix(" [/INST]") }) { close = " [/INST]" }
        } else {
            throw ChatTemplateError.unsupportedTemplate(excerpt: String(template.prefix(80)))
        }
        defaultSystemPrompt = defaultSystem
        instOpen = open
        instClose = close
        llama3SystemPreamble = preamble
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

    // MARK: - Rendering

    /// Renders `messages` as the template does; with `addGenerationPrompt`, ends with the opening of
    /// the assistant's turn.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> String {
        guard !messages.isEmpty else { throw ChatTemplateError.invalidMessages("there are no messages") }
        switch family {
        case .chatML: return renderChatML(messages, addGenerationPrompt)
        case .llama3: return renderLlama3(messages, addGenerationPrompt)
        case .gemma: return try renderGemma(messages, addGenerationPrompt)
        case .mistral: return try renderMistral(messages)
        }
    }

    private func renderChatML(_ messages: [ChatMessage], _ generation: Bool) -> String {
        var out = ""
        if messages[0].role != "system", let s = defaultSystemPrompt {
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

    private func renderGemma(_ messages: [ChatMessage], _ generation: Bool) throws -> String {
        var rest = messages[...]
        var firstUserPrefix = ""
        if rest.first?.role == "system" { firstUserPrefix = rest.removeFirst().content + "\n\n" }
        var out = bosToken
        for (i, m) in rest.enumerated() {
            guard m.role != "system" else {
                throw ChatTemplateError.invalidMessages("Gemma accepts a system message only as the first message")
            }
            let role = m.role == "assistant" ? "model" : m.role
            out += "<start_of_turn>" + role + "\n" + (i == 0 ? firstUserPrefix : "") + ChatTemplate.trim(m.content)
                + "<end_of_turn>\n"
        }
        if generation { out += "<start_of_turn>model\n" }
        return out
    }

    private func renderMistral(_ messages: [ChatMessage]) throws -> String {
        var rest = messages[...]
        var system: String?
        if rest.first?.role == "system" { system = rest.removeFirst().content }
        var out = bosToken
        for (i, m) in rest.enumerated() {
            switch m.role {
            case "user":
                var content = m.content
                if i == 0, let system { content = system + "\n\n" + content }
                out += instOpen + content + instClose
            case "assistant":
                out += m.content + eosToken
            default:
                throw ChatTemplateError.invalidMessages(
                    "Mistral templates accept user and assistant messages (and one leading system message), not '\(m.role)'")
            }
        }
        return out
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

    // MARK: - Template text helpers

    /// Jinja's `trim` (Python `str.strip()`).
    static func trim(_ s: String) -> String {
        let scalars = s.unicodeScalars
        func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace || (0x1C...0x1F).contains(c.value) }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(scalars[first...last])
    }

    /// The string literals inside `{{ … }}` and `{% … %}` tags, with Jinja/Python escapes resolved.
    static func stringLiterals(in template: String) -> [String] {
        var out: [String] = []
        let s = Array(template.unicodeScalars)
        var i = 0
        var inTag = false
        while i < s.count {
            let c = s[i]
            if !inTag {
                if c == "{" && i + 1 < s.count && (s[i + 1] == "{" || s[i + 1] == "%") { inTag = true; i += 2 } else { i += 1 }
                continue
            }
            if (c == "}" || c == "%") && i + 1 < s.count && s[i + 1] == "}" { inTag = false; i += 2; continue }
            if c == "'" || c == "\"" {
                var lit = String.UnicodeScalarView()
                var j = i + 1
                while j < s.count && s[j] != c {
                    if s[j] == "\\" && j + 1 < s.count {
                        switch s[j + 1] {
                        case "n": lit.append("\n")
                        case "t": lit.append("\t")
                        case "r": lit.append("\r")
                        default: lit.append(s[j + 1])
                        }
                        j += 2
                    } else {
                        lit.append(s[j]); j += 1
                    }
                }
                out.append(String(lit))
                i = j + 1
                continue
            }
            i += 1
        }
        return out
    }

    /// Llama 3.1's `set date_string = "…"` default, if present.
    private static func defaultDateString(in template: String) -> String? {
        guard let r = template.range(of: "set date_string = ") else { return nil }
        let rest = template[r.upperBound...]
        guard let q = rest.first, q == "\"" || q == "'" else { return nil }
        let body = rest.dropFirst()
        guard let end = body.firstIndex(of: q) else { return nil }
        return String(body[..<end])
    }
}
