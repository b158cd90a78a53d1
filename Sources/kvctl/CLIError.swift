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

    var description: String {
        switch self {
        case .cannotConnect(let path): return "cannot connect to \(path): is kvd running? (systemctl status kvd)"
        case .permissionDenied(let path, let group?):
            return "permission denied on \(path): join group '\(group)' to use kvd (sudo usermod -aG \(group) $USER, then log in again)"
        case .permissionDenied(let path, nil):
            return "permission denied on \(path): this user cannot reach the socket (its directory is closed to it); ask the administrator for access"
        case .connectionLost(let path): return "kvd closed the connection on \(path) before answering (it may be stopping; see journalctl -u kvd)"
        case .daemon(let e): return "\(e.message) (\(e.code))"
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
        try body()
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
