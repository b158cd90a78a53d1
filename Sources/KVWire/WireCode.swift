/// Status codes of the wire protocol, in the spirit of gRPC (`kvd.Code` in `Protos/kvd.proto`).
public enum WireCode: Int32, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Success (never sent inside an `Error`).
    case ok = 0
    /// The request was cancelled (by `Cancel`, or because its client went away).
    case cancelled = 1
    /// An error with no better code.
    case unknown = 2
    /// The request is malformed or a value is out of range; retrying it unchanged fails again.
    case invalidArgument = 3
    /// The request's deadline passed before it finished.
    case deadlineExceeded = 4
    /// The session (or model) named does not exist.
    case notFound = 5
    /// A session of that id exists and `replace` was not set.
    case alreadyExists = 6
    /// The peer's uid/gid is not allowed to use the daemon.
    case permissionDenied = 7
    /// A limit was hit: frame size, memory budget, context window, queue length.
    case resourceExhausted = 8
    /// The system is not in a state the request needs (e.g. a saved session made with another model).
    case failedPrecondition = 9
    /// A bug or an I/O failure inside the daemon.
    case `internal` = 13
    /// The daemon is stopping; retry later.
    case unavailable = 14

    /// The gRPC-style upper-case name (`INVALID_ARGUMENT`).
    public var description: String {
        switch self {
        case .ok: return "OK"
        case .cancelled: return "CANCELLED"
        case .unknown: return "UNKNOWN"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .deadlineExceeded: return "DEADLINE_EXCEEDED"
        case .notFound: return "NOT_FOUND"
        case .alreadyExists: return "ALREADY_EXISTS"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .resourceExhausted: return "RESOURCE_EXHAUSTED"
        case .failedPrecondition: return "FAILED_PRECONDITION"
        case .internal: return "INTERNAL"
        case .unavailable: return "UNAVAILABLE"
        }
    }

    /// Encodes as its upper-case name, so `--json` output reads `"code":"NOT_FOUND"`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// Decodes an upper-case name (`"NOT_FOUND"`); a name it does not know reads as `.unknown`.
    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        self = WireCode.allCases.first { $0.description == name } ?? .unknown
    }
}

/// A failure as it travels on the wire: a code and a sentence the user can act on.
public struct WireError: Error, Equatable, Sendable, Codable, CustomStringConvertible {
    /// What kind of failure (`kvd.Error.code`).
    public var code: WireCode
    /// A sentence the user can act on (`kvd.Error.message`).
    public var message: String

    /// An error of `code` saying `message`.
    public init(_ code: WireCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The code's name and the message: `NOT_FOUND: …`.
    public var description: String { "\(code): \(message)" }
}
