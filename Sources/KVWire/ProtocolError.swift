/// Why bytes from a peer could not be understood as kvd protocol frames.
public enum ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A frame header announced more bytes than the limit; nothing was allocated for it.
    case frameTooLarge(length: Int, limit: Int)
    /// The frame's bytes are not a valid protobuf message of the expected type.
    case malformedMessage(bytes: Int)
    /// A request arrived with no operation set.
    case missingOperation
    /// A response arrived with no body set.
    case missingBody
    /// The peer closed the connection in the middle of a frame.
    case truncatedFrame(have: Int, need: Int)
    /// A string field whose bytes are not UTF-8.
    case invalidUTF8(field: String)
    /// A field holding one of a fixed set of words (`state`, `finish_reason`) holds another.
    case unknownValue(field: String, value: String)

    /// A sentence for the user naming the limit, field or frame at fault, with a fix where there is one.
    public var description: String {
        switch self {
        case .frameTooLarge(let length, let limit):
            return "frame of \(length) bytes exceeds the maximum frame size of \(limit) bytes; send smaller documents or raise max_frame in kvd.conf"
        case .malformedMessage(let bytes):
            return "a frame of \(bytes) bytes is not a valid kvd protobuf message; frames are a 4-byte big-endian length followed by one kvd.Request (see Protos/kvd.proto)"
        case .missingOperation:
            return "the request sets no operation; set one of load, ask, sessions, info, drop, save, restore, presses, models, stats, health, cancel"
        case .missingBody:
            return "the response sets no body"
        case .truncatedFrame(let have, let need):
            return "the connection closed after \(have) of \(need) bytes of a frame"
        case .invalidUTF8(let field):
            return "the field '\(field)' is not valid UTF-8; protobuf strings must be UTF-8 text"
        case .unknownValue(let field, let value):
            return "the field '\(field)' holds '\(value)', which this client does not know; are kvd and kvctl the same version?"
        }
    }
}
