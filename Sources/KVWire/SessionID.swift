/// A validated session id: 1 to 64 characters from `[A-Za-z0-9._-]`, not starting with `.`.
///
/// The one rule for ids, shared by kvctl, the daemon and the engine. Ids name files in the state
/// and telemetry directories, so nothing else is accepted: an id can never become a path such as
/// `../../etc/passwd`, nor a hidden file (the state directory's scan at start skips those, so a
/// session saved as one would be lost at the next restart).
public struct SessionID: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let rawValue: String

    /// - Throws: `InvalidSessionID`, whose description spells the rule out.
    public init(_ raw: String) throws {
        let allowed = raw.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
        }
        guard (1...64).contains(raw.utf8.count), allowed, raw.utf8.first != 0x2E else {
            throw InvalidSessionID(id: raw)
        }
        rawValue = raw
    }

    public var description: String { rawValue }

    public static func < (a: SessionID, b: SessionID) -> Bool { a.rawValue < b.rawValue }
}

/// An id that breaks `SessionID`'s rule. kvd answers it, and kvctl reports it, as `wireError`.
public struct InvalidSessionID: Error, Equatable, Sendable, CustomStringConvertible {
    /// The id as it was given.
    public let id: String

    /// The refusal of `id`.
    public init(id: String) {
        self.id = id
    }

    /// The id (control characters escaped, so a NUL or a newline is visible; cut at 80) and the rule.
    public var description: String {
        let cut = id.count > 80 ? String(id.prefix(80)) + "…" : id
        let shown = cut.unicodeScalars.map { $0.value < 0x20 ? $0.escaped(asASCII: true) : String($0) }.joined()
        let why = id.contains("\0") ? " (it contains a NUL character)" : ""
        return "invalid session id '\(shown)'\(why): use 1 to 64 characters from A-Z a-z 0-9 . _ - (not starting with '.')"
    }

    /// `INVALID_ARGUMENT` with `description`.
    public var wireError: WireError { WireError(.invalidArgument, description) }
}
