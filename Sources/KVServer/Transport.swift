import KVWire
/// Moves bytes for one client connection: a libuv pipe in the daemon, memory in tests.
///
/// Everything here runs on the loop thread.
public protocol Transport: AnyObject {
    /// Queues `bytes` for the peer.
    func write(_ bytes: [UInt8])
    /// Closes the connection once queued bytes are written.
    func close()
}

/// A transport that keeps what the server writes, for protocol tests without sockets
/// (the counterpart of NIOEmbedded's channel).
public final class InMemoryTransport: Transport {
    /// Bytes written by the server, not yet taken by `readResponses()`.
    public private(set) var written: [UInt8] = []
    /// Whether the server closed the connection.
    public private(set) var isClosed = false
    private var decoder = FrameDecoder(maxFrameSize: Int(Int32.max))

    public init() {}

    public func write(_ bytes: [UInt8]) {
        guard !isClosed else { return }
        written += bytes
    }

    public func close() { isClosed = true }

    /// Decodes and removes every complete response frame written so far.
    public func readResponses() throws -> [Response] {
        decoder.append(written)
        written.removeAll()
        var out: [Response] = []
        while let payload = try decoder.next() { out.append(try WireCodec.decodeResponse(payload)) }
        return out
    }
}
