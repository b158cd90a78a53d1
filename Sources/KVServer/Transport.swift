import KVWire
/// Moves bytes for one client connection: a libuv pipe in the daemon, memory in tests.
///
/// Everything here runs on the loop thread.
public protocol Transport: AnyObject {
    /// Queues `bytes` for the peer.
    func write(_ bytes: [UInt8])
    /// Bytes queued for the peer that it has not taken yet.
    var queuedBytes: Int { get }
    /// Stops (`false`) or resumes (`true`) taking bytes from the peer.
    func setReading(_ reading: Bool)
    /// Closes the connection once queued bytes are written.
    func close()
    /// Closes the connection now, dropping queued bytes (for a peer that does not take them).
    func abort()
}

/// A transport that keeps what the server writes, for protocol tests without sockets
/// (the counterpart of NIOEmbedded's channel).
public final class InMemoryTransport: Transport {
    /// Bytes written by the server, not yet taken by `readResponses()`.
    public private(set) var written: [UInt8] = []
    /// Whether the server closed the connection.
    public private(set) var isClosed = false
    /// Whether the server dropped what it had queued when it closed.
    public private(set) var isAborted = false
    /// Whether the server takes bytes from this peer.
    public private(set) var isReading = true
    private var decoder = FrameDecoder(maxFrameSize: Int(Int32.max))

    public init() {}

    public func write(_ bytes: [UInt8]) {
        guard !isClosed else { return }
        written += bytes
    }

    public var queuedBytes: Int { written.count }

    public func setReading(_ reading: Bool) { isReading = reading }

    public func close() { isClosed = true }

    public func abort() {
        isClosed = true
        isAborted = true
        written.removeAll()
    }

    /// Decodes and removes every complete response frame written so far.
    public func readResponses() throws -> [Response] {
        decoder.append(written)
        written.removeAll()
        var out: [Response] = []
        while let payload = try decoder.next() { out.append(try WireCodec.decodeResponse(payload)) }
        return out
    }
}
