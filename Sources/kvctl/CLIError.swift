import ArgumentParser
import Foundation
import KVWire

/// Why a kvctl command failed, with the exit code scripts can test.
enum CLIError: Error, CustomStringConvertible {
    /// Nothing listens on the socket.
    case cannotConnect(String)
    /// The socket's permissions do not let this user connect; `group` owns the socket, when known.
    case permissionDenied(path: String, group: String?)
    /// The daemon closed the connection mid-answer.
    case connectionLost(String)
    /// The daemon answered with an error.
    case daemon(WireError)
    /// A local problem (unreadable file, …).
    case local(String)
    /// The daemon answered something unexpected.
    case unexpected(String)

    /// The same failure, from the client.
    init(_ e: DaemonClientError) {
        switch e {
        case .cannotConnect(let path): self = .cannotConnect(path)
        case .permissionDenied(let path, let group): self = .permissionDenied(path: path, group: group)
        case .connectionLost(let path): self = .connectionLost(path)
        case .daemon(let w): self = .daemon(w)
        }
    }

    var description: String {
        switch self {
        case .cannotConnect(let path): return DaemonClientError.cannotConnect(path).description
        case .permissionDenied(let path, let group): return DaemonClientError.permissionDenied(path: path, group: group).description
        case .connectionLost(let path): return DaemonClientError.connectionLost(path).description
        case .daemon(let e): return DaemonClientError.daemon(e).description
        case .local(let m): return m
        case .unexpected(let m): return "unexpected answer from kvd: \(m)"
        }
    }

    /// Exit codes (also listed in `kvctl --help`).
    var exitCode: Int32 {
        switch self {
        case .cannotConnect, .connectionLost: return 69  // EX_UNAVAILABLE
        case .permissionDenied: return 10  // as kvd's PERMISSION_DENIED
        case .local: return 66  // EX_NOINPUT
        case .unexpected: return 70  // EX_SOFTWARE
        case .daemon(let e):
            switch e.code {
            case .invalidArgument: return 3
            case .notFound: return 4
            case .alreadyExists: return 5
            case .resourceExhausted: return 6
            case .cancelled: return 7
            case .deadlineExceeded: return 8
            case .failedPrecondition: return 9
            case .permissionDenied: return 10
            case .unavailable: return 11
            default: return 1
            }
        }
    }

    var code: String {
        switch self {
        case .cannotConnect, .connectionLost: return "UNAVAILABLE"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .local: return "INVALID_ARGUMENT"
        case .unexpected: return "INTERNAL"
        case .daemon(let e): return e.code.description
        }
    }
}

/// Runs a command body, printing failures as one line (or one JSON object) and exiting with its code.
func runReporting(json: Bool, _ body: () throws -> Void) throws {
    do {
        do { try body() } catch let e as DaemonClientError { throw CLIError(e) }
    } catch let e as CLIError {
        if json {
            printJSON(["error": ["code": e.code, "message": e.description]])
        } else {
            FileHandle.standardError.write(Data("kvctl: \(e.description)\n".utf8))
        }
        throw ExitCode(e.exitCode)
    }
}

/// Prints `value` as one line of JSON with sorted keys.
func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    if let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) {
        print(text)
    }
}
