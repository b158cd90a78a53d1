/// Why an ask's generation ended: `AskResponse.finish_reason` on the wire and the `finish_reason`
/// column of telemetry, as the raw values spell it.
public enum FinishReason: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// The model emitted an end-of-turn or end-of-sequence token.
    case eos
    /// `maxNewTokens` were generated.
    case maxNewTokens = "max_new_tokens"
    /// The caller asked to stop (cancel, disconnect).
    case cancelled
    /// The request's deadline passed.
    case deadline

    /// The raw value, so that text built from it reads as the wire and the CSV do.
    public var description: String { rawValue }
}
