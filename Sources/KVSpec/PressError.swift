/// Why a press could not be built from a spec, or could not compress a context.
///
/// Every case's `description` is a sentence a user can act on: it names what was wrong and
/// lists what is valid.
public enum PressError: Error, CustomStringConvertible, Equatable {
    /// The spec names no registered press. `valid` lists the registered names.
    case unknownPress(String, valid: [String])
    /// The press has no parameter of that name. `valid` lists its parameters.
    case unknownParameter(press: String, parameter: String, valid: [String])
    /// A parameter's value does not parse or is out of range; `expected` says what is allowed.
    case invalidValue(press: String, parameter: String, value: String, expected: String)
    /// The spec string itself is malformed (`position` is a character offset).
    case syntax(spec: String, position: Int, reason: String)
    /// A wrapper press was given the wrong number or kind of inner presses.
    case innerPress(press: String, reason: String)
    /// The context is too short for the press's parameters.
    case contextTooShort(press: String, tokens: Int, needed: Int)
    /// The context is too long for the press on this model (`limit` tokens at most).
    case contextTooLong(press: String, tokens: Int, limit: Int)
    /// The press needs the model's weights (e.g. the output projection) but none were given.
    case modelRequired(press: String)
    /// The press re-reads the context's token ids after the prefill (`kvzip`) but none were given.
    case contextRequired(press: String)
    /// A file the press reads (e.g. `headkv`'s head profile) is missing or malformed.
    case badFile(press: String, path: String, reason: String)
    /// The press cannot work on this model's architecture.
    case unsupportedModel(press: String, reason: String)

    public var description: String {
        switch self {
        case .unknownPress(let name, let valid):
            return "unknown press '\(name)'; valid presses: \(valid.joined(separator: ", "))"
        case .unknownParameter(let press, let parameter, let valid):
            let list = valid.isEmpty ? "it takes no parameters" : "valid parameters: \(valid.joined(separator: ", "))"
            return "press '\(press)' has no parameter '\(parameter)'; \(list)"
        case .invalidValue(let press, let parameter, let value, let expected):
            return "invalid value '\(value)' for \(press).\(parameter); expected \(expected)"
        case .syntax(let spec, let position, let reason):
            return "cannot parse press spec '\(spec)' at character \(position): \(reason); "
                + "expected NAME, NAME:key=value,… or WRAPPER(INNER,…):key=value (e.g. snapkv:ratio=0.5,window_size=64)"
        case .innerPress(let press, let reason):
            return "press '\(press)' \(reason)"
        case .contextTooShort(let press, let tokens, let needed):
            return "press '\(press)' needs a context of at least \(needed) tokens, got \(tokens); use a longer context or smaller window parameters"
        case .contextTooLong(let press, let tokens, let limit):
            return "press '\(press)' takes a context of at most \(limit) tokens on this model, got \(tokens); use a shorter document or another press"
        case .modelRequired(let press):
            return "press '\(press)' reads the model's weights; create its PressHook with the model"
        case .contextRequired(let press):
            return "press '\(press)' re-reads the context after the prefill; call PressHook.finish(_:contextIDs:) with the context's token ids"
        case .badFile(let press, let path, let reason):
            return "press '\(press)' cannot use '\(path)': \(reason)"
        case .unsupportedModel(let press, let reason):
            return "press '\(press)' cannot be used with this model: \(reason)"
        }
    }
}
