import KVWire

/// How the server core answers any error a request ends with.
///
/// A `WireError` is sent as it is, an `InvalidSessionID` as its `wireError`; a `WireCodedError` with its code and its own description (a
/// sentence the user can act on); anything else is an internal error. The core's own errors get
/// their codes here; a backend's get theirs beside the backend (KVServerEngine's `EngineErrorCodes`).
public enum ErrorCodes {
    /// The wire form of `error`.
    public static func wireError(_ error: Error) -> WireError {
        switch error {
        case let e as WireError: return e
        case let e as InvalidSessionID: return e.wireError
        case let e as WireCodedError: return WireError(e.wireCode, e.description)
        default: return WireError(.internal, "internal error: \(error)")
        }
    }
}

extension ProtocolError: WireCodedError {
    public var wireCode: WireCode {
        switch self {
        case .frameTooLarge: return .resourceExhausted
        case .malformedMessage, .missingOperation, .missingBody, .truncatedFrame, .invalidUTF8, .unknownValue: return .invalidArgument
        }
    }
}

extension ServerError: WireCodedError {
    public var wireCode: WireCode {
        switch self {
        case .unknownSession, .unknownModel: return .notFound
        case .sessionExists: return .alreadyExists
        case .invalidKVStorage, .duplicateRequestID: return .invalidArgument
        case .stopping: return .unavailable
        case .overBudget, .restoreOverBudget, .noRoom, .queueFull: return .resourceExhausted
        case .cancelled(let why, _), .loadStopped(let why):
            return why == .shutdown ? .unavailable : why == .deadline ? .deadlineExceeded : .cancelled
        case .deadlineExceeded: return .deadlineExceeded
        case .permissionDenied: return .permissionDenied
        case .storeUnreachable, .notShared: return .unavailable
        }
    }
}

extension PersistenceError: WireCodedError {
    public var wireCode: WireCode {
        switch self {
        case .io: return .internal
        case .corrupt, .unsupportedVersion, .modelMismatch: return .failedPrecondition
        }
    }
}

extension StoreError: WireCodedError {
    public var wireCode: WireCode {
        switch self {
        case .unreachable, .refused: return .unavailable
        case .damaged: return .failedPrecondition
        }
    }
}
