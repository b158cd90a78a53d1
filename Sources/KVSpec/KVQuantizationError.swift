/// A KV-cache quantization spec, configuration or use that cannot work, with a sentence saying
/// what would.
public enum KVQuantizationError: Error, Equatable, CustomStringConvertible {
    /// A spec names no known method.
    case unknownMethod(String, valid: [String])
    /// A spec gives a parameter the method does not take.
    case unknownParameter(String, method: String, valid: [String])
    /// A parameter's value does not parse or is out of range; `expected` says what is allowed.
    case invalidValue(method: String, parameter: String, value: String, expected: String)
    /// The spec string itself is malformed (`position` is a character offset).
    case syntax(spec: String, position: Int, reason: String)
    /// A configuration or stored form that does not fit (a group size against a head width, a
    /// cache already quantized, blocks of the wrong size).
    case invalid(String)

    /// A sentence for the user naming the method, parameter or value at fault and what is valid.
    public var description: String {
        switch self {
        case .unknownMethod(let name, let valid):
            return "unknown KV quantization method '\(name)'; valid methods: \(valid.joined(separator: ", "))"
        case .unknownParameter(let name, let method, let valid):
            return "KV quantization method '\(method)' has no parameter '\(name)'; valid parameters: \(valid.joined(separator: ", "))"
        case .invalidValue(let method, let parameter, let value, let expected):
            return "invalid value '\(value)' for \(method).\(parameter); expected \(expected)"
        case .syntax(let spec, let position, let reason):
            return "cannot parse KV quantization spec '\(spec)' at character \(position): \(reason); "
                + "expected METHOD or METHOD:key=value,… (e.g. kivi:bits=4,group_size=32)"
        case .invalid(let reason):
            return "invalid KV quantization: \(reason)"
        }
    }
}
