import KVEngine
import KVModel
import KVPress
import KVServer
import KVWire

// The wire codes of the engine's errors: the boundary where the engine's types meet the server
// core, which answers any `WireCodedError` without knowing its type. Each error's description is
// its message.

extension SessionError: WireCodedError {
    public var wireCode: WireCode {
        switch self {
        case .emptyDocument, .emptyQuestion, .invalidParameters, .documentTooLong, .questionTooLong:
            return .invalidArgument
        case .noChatTemplate:
            return .failedPrecondition
        }
    }
}

extension PressError: WireCodedError {
    public var wireCode: WireCode {
        switch self {
        case .modelRequired: return .internal
        default: return .invalidArgument
        }
    }
}

extension ModelError: WireCodedError {
    public var wireCode: WireCode {
        switch self {
        case .contextOverflow, .emptyInput, .invalidToken: return .invalidArgument
        }
    }
}

extension KVQuantizationError: WireCodedError {
    public var wireCode: WireCode { .invalidArgument }
}

extension GGUFError: WireCodedError {
    public var wireCode: WireCode { .failedPrecondition }
}

extension EngineStartupError: WireCodedError {
    public var wireCode: WireCode { .failedPrecondition }
}
