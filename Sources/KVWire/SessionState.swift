/// Where a session stands in the daemon: `SessionInfo.state` on the wire, as the raw values spell it.
public enum SessionState: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Its cache is in memory and no ask runs on it.
    case resident
    /// On disk only; restored on its next use.
    case saved
    /// Asks are running on it (it is not evicted).
    case busy
    /// Its saved file cannot be read; not served until dropped or replaced.
    case damaged
    /// Only in the shared store (`kvd --store`): the first ask here fetches it.
    case shared

    /// The raw value, so that text built from it reads as the wire and the CSV do.
    public var description: String { rawValue }
}
