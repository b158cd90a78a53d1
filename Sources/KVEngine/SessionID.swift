/// A validated session id: 1 to 64 characters from `[A-Za-z0-9._-]`, not starting with `.`.
///
/// Ids name files in the state and telemetry directories, so nothing else is accepted: an id
/// can never become a path such as `../../etc/passwd`, nor a hidden file (the state directory's
/// scan at start skips those, so a session saved as one would be lost at the next restart).
public struct SessionID: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let rawValue: String

    /// - Throws: `SessionError.invalidSessionID` with the rule spelled out.
    public init(_ raw: String) throws {
        let allowed = raw.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
        }
        guard (1...64).contains(raw.utf8.count), allowed, raw.utf8.first != 0x2E else {
            throw SessionError.invalidSessionID(raw)
        }
        rawValue = raw
    }

    public var description: String { rawValue }

    public static func < (a: SessionID, b: SessionID) -> Bool { a.rawValue < b.rawValue }
}
