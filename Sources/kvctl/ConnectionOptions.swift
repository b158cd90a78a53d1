import ArgumentParser
import KVWire
import Foundation

/// Options every command shares: where kvd listens, and JSON output.
struct ConnectionOptions: ParsableArguments {
    /// The default socket: `$KVD_SOCKET`, else the system service's.
    static var defaultSocket: String {
        ProcessInfo.processInfo.environment["KVD_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? DaemonClient.defaultSocketPath
    }

    @Option(help: ArgumentHelp("kvd's Unix socket (default: $KVD_SOCKET, else \(DaemonClient.defaultSocketPath)).", valueName: "path"))
    var socket: String = ConnectionOptions.defaultSocket

    @Flag(help: "Print one JSON object instead of text (errors too: {\"error\":{\"code\",\"message\"}}).")
    var json = false

    func connect() throws -> DaemonClient { try DaemonClient(socketPath: socket) }
}
