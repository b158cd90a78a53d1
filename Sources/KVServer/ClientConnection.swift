import KVWire
import Foundation

/// The protocol state of one client connection: splits its byte stream into requests, hands them
/// to the dispatcher, writes responses back, and cancels its work when it goes away.
///
/// Lives on the loop thread. Several requests may be in flight at once; each is tracked by its
/// client-chosen id until its final response is sent.
public final class ClientConnection {
    /// A daemon-unique number, for logs.
    public let id: Int
    /// The peer's credentials, if known.
    public let peer: PeerCredentials?
    private let transport: Transport
    private var decoder: FrameDecoder
    private weak var server: Server?
    /// Requests in flight, by id, with the token that stops them.
    private(set) var inFlight: [UInt64: CancelToken] = [:]
    /// Whether the peer is still there.
    public private(set) var isOpen = true
    /// Bytes of answers the peer may leave unread before kvd stops reading its requests.
    private let maxOutput: Int
    /// Reading is paused: the peer left `maxOutput` bytes of answers unread.
    private(set) var isThrottled = false

    init(id: Int, transport: Transport, peer: PeerCredentials?, maxFrameSize: Int, maxOutput: Int, server: Server) {
        self.maxOutput = maxOutput
        self.id = id
        self.transport = transport
        self.peer = peer
        self.server = server
        decoder = FrameDecoder(maxFrameSize: maxFrameSize)
    }

    /// Feeds bytes read from the peer.
    public func received(_ bytes: UnsafeRawBufferPointer) {
        guard isOpen else { return }
        decoder.append(bytes)
        // While throttled, frames wait in the decoder: answering them would queue more output.
        while isOpen && !isThrottled {
            let payload: [UInt8]
            do {
                guard let next = try decoder.next() else { return }
                payload = next
                server?.countRequest()
            } catch {
                // The stream cannot be resynchronised after a bad header: answer, then hang up.
                server?.countRequest()
                send(Response(id: 0, .error(ErrorCodes.wireError(error))))
                server?.log(.warning, "connection \(id): \(error); closing")
                closeFromServer()
                return
            }
            let request: Request
            do {
                request = try WireCodec.decodeRequest(payload)
            } catch {
                refuse(error, id: WireCodec.requestID(payload) ?? 0)
                continue
            }
            guard inFlight[request.id] == nil else {
                refuse(ServerError.duplicateRequestID(request.id), id: request.id)
                continue
            }
            server?.dispatcher.handle(request, from: self)
        }
    }

    /// Answers a frame that starts no request. The answer carries the frame's id, unless a request
    /// in flight has that id: then it carries id 0 and names the id, so that the request in flight
    /// goes on and still ends with exactly one final response (its tracking, and so `cancel`, stay).
    private func refuse(_ error: Error, id: UInt64) {
        let wire = ErrorCodes.wireError(error)
        guard inFlight[id] != nil else { return send(Response(id: id, .error(wire))) }
        let why = error is ServerError ? wire.message
            : wire.message + " (the frame carried id \(id), which a request in flight uses; that request goes on)"
        send(Response(id: 0, .error(WireError(wire.code, why))), final: false)
    }

    /// Feeds bytes read from the peer.
    public func received(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { received($0) }
    }

    /// Registers a request that will answer later, so `Cancel` and a disconnect can stop it.
    func track(_ requestID: UInt64, _ token: CancelToken) {
        inFlight[requestID] = token
    }

    /// The token of a request in flight, for `Cancel`.
    func token(for requestID: UInt64) -> CancelToken? { inFlight[requestID] }

    /// Writes a response; a final response ends its request's tracking.
    /// - Parameter final: pass `false` for an error that must not end the request in flight with
    ///   the response's id.
    public func send(_ response: Response, final: Bool = true) {
        if case .error = response.body { server?.countError() }
        if final && response.body.isFinal { inFlight[response.id] = nil }
        guard isOpen else { return }
        transport.write(FrameEncoder.frame(WireCodec.encode(response)))
        checkOutput()
    }

    /// Back-pressure. A peer with `maxOutput` bytes of answers unread is no longer read, so it
    /// cannot make kvd queue more; if its work in flight still piles up four times that, the
    /// connection is dropped, which cancels the work and frees the worker for other clients.
    private func checkOutput() {
        let queued = transport.queuedBytes
        if queued >= 4 * maxOutput {
            server?.log(.warning, "connection \(id): the client is not reading its answers (\(queued) bytes unread); closing it")
            transport.abort()
            transportClosed()
        } else if queued >= maxOutput && !isThrottled {
            isThrottled = true
            transport.setReading(false)
            server?.log(.info, "connection \(id): \(queued) bytes of answers unread; not reading its requests until it catches up")
        }
    }

    /// The transport handed queued bytes to the peer: once half the bound is left, read again,
    /// starting with the frames that waited in the decoder.
    public func outputDrained() {
        guard isOpen, isThrottled, transport.queuedBytes <= maxOutput / 2 else { return }
        isThrottled = false
        transport.setReading(true)
        received(UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// The peer went away: cancel everything it started (answers in progress stop).
    public func transportClosed() {
        guard isOpen else { return }
        isOpen = false
        do { try decoder.checkEndOfStream() } catch { server?.log(.debug, "connection \(id): \(error)") }
        if !inFlight.isEmpty { server?.log(.info, "connection \(id) disconnected with \(inFlight.count) request(s) in flight; cancelling") }
        for token in inFlight.values { token.cancel(.disconnected) }
        inFlight.removeAll()
        server?.connectionClosed(self)
    }

    /// Closes the connection from the daemon's side (after a protocol error or at shutdown).
    public func closeFromServer() {
        guard isOpen else { return }
        transport.close()
        transportClosed()
    }
}
