import KVWire
import Foundation

/// Everything kvd is configured with: the config file's keys, overridden by flags.
///
/// The config file is `key = value` lines; `#` starts a comment; blank lines are ignored; `model`
/// may repeat. Sizes accept `K`, `M`, `G` suffixes (powers of 1024). See `systemd/kvd.conf`.
public struct ServerConfiguration: Equatable, Sendable {
    /// `socket`: the Unix socket to listen on (ignored under socket activation).
    public var socketPath = "/run/kvd/kvd.sock"
    /// `state_dir`: where saved sessions live.
    public var stateDirectory = "/var/lib/kvd"
    /// `telemetry_dir`: where the CSV files go.
    public var telemetryDirectory = "/var/log/kvd"
    /// `model`: model files; the first is the default. Empty = the default model's usual places.
    public var modelPaths: [String] = []
    /// `threads`: compute threads for matrix products and attention (0 = `KVD_THREADS`, else
    /// min(2, cores); set a number to use more cores).
    public var threads = 0
    /// `memory_budget`: bytes of KV cache resident sessions may hold together (0 = unlimited).
    public var memoryBudget = 4 << 30
    /// `max_frame`: largest accepted frame in bytes.
    public var maxFrame = FrameDecoder.defaultMaxFrameSize
    /// `max_output`: bytes of answers a connection may leave unread; past it kvd stops reading
    /// that connection's requests, past four times it closes the connection.
    public var maxOutput = 8 << 20
    /// `allow_uids`: peer uids allowed besides root and kvd's own (empty with `allow_gids` empty = anyone who can open the socket).
    public var allowUIDs: [UInt32] = []
    /// `allow_gids`: peer primary gids allowed.
    public var allowGIDs: [UInt32] = []
    /// `socket_mode`: permissions of the socket file (octal).
    public var socketMode: UInt32 = 0o660
    /// `max_new_tokens`: answer length when a request does not say.
    public var defaultMaxNewTokens = 256
    /// `max_queue`: jobs and asks that may wait for the worker or run at once.
    public var maxQueue = 1024
    /// `max_batch`: asks stepped together in one forward pass; more wait their turn.
    public var maxBatch = 16
    /// `log_level`: one of `logLevels`.
    public var logLevel = "info"
    /// `store`: the shared session store replicas publish to and fetch from (`StoreURL`); nil =
    /// sessions live on this machine only.
    public var store: StoreURL?
    /// `store_prefix`: the deployment's key prefix in the store (replicas that share sessions
    /// use the same one; others use their own).
    public var storePrefix = "kvd"
    /// `store_password_file`: a file (mode 0600) holding the store's password, which replaces the URL's.
    public var storePasswordFile: String?

    public init() {}

    /// Why a config file could not be read.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// The keys a config file may set.
    public static let keys = ["socket", "state_dir", "telemetry_dir", "model", "threads", "memory_budget", "max_frame", "max_output",
                              "allow_uids", "allow_gids", "socket_mode", "max_new_tokens", "max_queue", "max_batch", "log_level",
                              "store", "store_prefix", "store_password_file"]

    /// Applies the settings of a config file's text on top of `self`.
    public mutating func apply(configText text: String) throws {
        var models: [String] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ParseError(line: n + 1, message: "expected 'key = value', got '\(line)'")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            func fail(_ expected: String) -> ParseError {
                ParseError(line: n + 1, message: Self.invalidValue(value, for: key, expected: expected))
            }
            switch key {
            case "socket": socketPath = value
            case "state_dir": stateDirectory = value
            case "telemetry_dir": telemetryDirectory = value
            case "model": models.append(value)
            case "threads": guard let v = Int(value), v >= 0 else { throw fail("a number of threads (0 = KVD_THREADS, else min(2, cores))") }; threads = v
            case "memory_budget": guard let v = Self.parseSize(value) else { throw fail("bytes, e.g. 4G or 512M") }; memoryBudget = v
            case "max_frame": guard let v = Self.parseSize(value), v >= 1024 else { throw fail("bytes ≥ 1K, e.g. 16M") }; maxFrame = v
            case "max_output": guard let v = Self.parseSize(value), v >= 64 << 10 else { throw fail("bytes ≥ 64K, e.g. 8M") }; maxOutput = v
            case "allow_uids": guard let v = Self.parseIDs(value) else { throw fail("comma-separated uids") }; allowUIDs = v
            case "allow_gids": guard let v = Self.parseIDs(value) else { throw fail("comma-separated gids") }; allowGIDs = v
            case "socket_mode": guard let v = UInt32(value, radix: 8), v <= 0o777 else { throw fail("octal permissions, e.g. 0660") }; socketMode = v
            case "max_new_tokens": guard let v = Int(value), v >= 1 else { throw fail("a positive number") }; defaultMaxNewTokens = v
            case "max_queue": guard let v = Int(value), v >= 1 else { throw fail("a positive number") }; maxQueue = v
            case "max_batch": guard let v = Int(value), (1...256).contains(v) else { throw fail("a number of asks from 1 to 256") }; maxBatch = v
            case "log_level":
                if let problem = Self.logLevelProblem(value) { throw ParseError(line: n + 1, message: problem) }
                logLevel = value
            case "store":
                do { store = try StoreURL(value) } catch { throw ParseError(line: n + 1, message: "\(error)") }
            case "store_prefix":
                if let problem = Self.storePrefixProblem(value) { throw ParseError(line: n + 1, message: problem) }
                storePrefix = value
            case "store_password_file": storePasswordFile = value
            default:
                throw ParseError(line: n + 1, message: "unknown key '\(key)'; valid keys: \(Self.keys.joined(separator: ", "))")
            }
        }
        if !models.isEmpty { modelPaths = models }
    }

    /// What is wrong with `value` for `key` (one sentence for the config file and the flags).
    static func invalidValue(_ value: String, for key: String, expected: String) -> String {
        "invalid value '\(value)' for \(key): expected \(expected)"
    }

    /// The levels `log_level` (and `kvd --log-level`) accept.
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// `trace, debug, …, error or critical`.
    public static var logLevelChoices: String {
        logLevels.dropLast().joined(separator: ", ") + " or " + logLevels[logLevels.count - 1]
    }

    /// Why `value` is not a log level (nil when it is): the config file's and the flag's message.
    public static func logLevelProblem(_ value: String) -> String? {
        logLevels.contains(value) ? nil : invalidValue(value, for: "log_level", expected: logLevelChoices)
    }

    /// Why `value` is not a store prefix (nil when it is): the config file's and the flag's message.
    public static func storePrefixProblem(_ value: String) -> String? {
        let ok = (1...64).contains(value.count) && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
        return ok ? nil : invalidValue(value, for: "store_prefix", expected: "1 to 64 of A-Z a-z 0-9 . _ -")
    }

    /// The store URL with the password of `store_password_file` in it (read now: a changed
    /// file counts at the next start).
    /// - Throws: `StoreURL.ParseError` when the file is missing, readable by others, or not one line.
    public func storeWithPassword() throws -> StoreURL? {
        guard var url = store else { return nil }
        if let file = storePasswordFile { url.password = try StoreURL.readPassword(file: file) }
        return url
    }

    /// `123`, `4K`, `512M`, `4G` → bytes.
    public static func parseSize(_ s: String) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Int)] = [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
        for (u, m) in units where t.hasSuffix(u) || t.hasSuffix(u + "B") || t.hasSuffix(u + "IB") {
            let digits = t.replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "").dropLast()
            guard let v = Double(digits), v >= 0 else { return nil }
            return Int(v * Double(m))
        }
        return Int(t).flatMap { $0 >= 0 ? $0 : nil }
    }

    static func parseIDs(_ s: String) -> [UInt32]? {
        if s.isEmpty { return [] }
        let parts = s.split(separator: ",").map { UInt32($0.trimmingCharacters(in: .whitespaces)) }
        return parts.contains(where: { $0 == nil }) ? nil : parts.compactMap { $0 }
    }

    /// Whether a peer may use the daemon: root and kvd's own uid always may; otherwise, when
    /// allow lists are set, its uid or primary gid must be listed. With no lists, the socket's
    /// file permissions (`socket_mode`) are the only gate.
    public func allows(_ peer: PeerCredentials?, ownUID: UInt32) -> Bool {
        if allowUIDs.isEmpty && allowGIDs.isEmpty { return true }
        guard let peer else { return false }
        return peer.uid == 0 || peer.uid == ownUID || allowUIDs.contains(peer.uid) || allowGIDs.contains(peer.gid)
    }
}
