import KVWire

/// An error that knows how the daemon answers it: a wire code, with its `description` as the message.
///
/// The server core answers errors without knowing their types: its own conform in `ErrorCodes`,
/// and a backend adapts its errors at the boundary (KVServerEngine does for the engine's).
public protocol WireCodedError: Error, CustomStringConvertible {
    /// The code the error is answered with.
    var wireCode: WireCode { get }
}
