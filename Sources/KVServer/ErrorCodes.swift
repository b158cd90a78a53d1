import KVWire
import Foundation
import KVEngine
import KVModel
import KVPress

/// The one place that maps errors to wire codes.
///
/// Every error a request can end with passes through `wireError(_:)`: protocol errors, the
/// server's own, persistence, and the engine's (session, press, model). The message is always
/// the error's own description, a sentence the user can act on.
public enum ErrorCodes {
    /// The wire form of `error`.
    public static func wireError(_ error: Error) -> WireError {
        switch error {
        case let e as WireError:
            return e
        case let e as ProtocolError:
            switch e {
            case .frameTooLarge: return WireError(.resourceExhausted, e.description)
            case .malformedMessage, .missingOperation, .missingBody, .truncatedFrame, .invalidUTF8: return WireError(.invalidArgument, e.description)
            }
        case let e as ServerError:
            return WireError(code(e), e.description)
        case let e as PersistenceError:
            switch e {
            case .io: return WireError(.internal, e.description)
            case .corrupt, .unsupportedVersion, .modelMismatch: return WireError(.failedPrecondition, e.description)
            }
        case let e as SessionError:
            switch e {
            case .invalidSessionID, .emptyDocument, .emptyQuestion, .invalidParameters, .documentTooLong, .questionTooLong:
                return WireError(.invalidArgument, e.description)
            case .noChatTemplate:
                return WireError(.failedPrecondition, e.description)
            }
        case let e as PressError:
            switch e {
            case .modelRequired: return WireError(.internal, e.description)
            default: return WireError(.invalidArgument, e.description)
            }
        case let e as ModelError:
            switch e {
            case .contextOverflow, .emptyInput, .invalidToken: return WireError(.invalidArgument, e.description)
            }
        case let e as KVQuantizationError:
            return WireError(.invalidArgument, e.description)
        case let e as GGUFError:
            return WireError(.failedPrecondition, e.description)
        case let e as EngineStartupError:
            return WireError(.failedPrecondition, e.description)
        default:
            return WireError(.internal, "internal error: \(error)")
        }
    }

    static func code(_ e: ServerError) -> WireCode {
        switch e {
        case .unknownSession, .unknownModel, .notSaved: return .notFound
        case .sessionExists: return .alreadyExists
        case .invalidKVStorage, .duplicateRequestID: return .invalidArgument
        case .stopping: return .unavailable
        case .overBudget, .queueFull: return .resourceExhausted
        case .cancelled(let why, _), .loadStopped(let why):
            return why == .shutdown ? .unavailable : why == .deadline ? .deadlineExceeded : .cancelled
        case .deadlineExceeded: return .deadlineExceeded
        case .permissionDenied: return .permissionDenied
        }
    }
}
