/// One message of a conversation, as chat templates see it (`{"role": …, "content": …}`).
public struct ChatMessage: Sendable, Equatable, Hashable {
    /// `system`, `user` or `assistant` (templates may accept others).
    public var role: String
    /// The message text.
    public var content: String

    /// A message with any role.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    /// A system message.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    /// A user message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    /// An assistant message.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}
