import KVWire

extension Server {
    /// Accepts a libuv connection: checks its peer, then starts reading requests from it.
    public func accept(_ handle: UVConnectionHandle) {
        let connection = handle.connection
        guard let client = accept(connection, peer: handle.peer) else { return }
        connection.client = client
        connection.startReading()
    }
}
