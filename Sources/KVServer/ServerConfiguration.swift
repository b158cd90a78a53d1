import Foundation
import KVWire
import Logging

/// Everything kvd is configured with: defaults, then the environment, then the config file, then
/// flags (`ServerConfiguration+Sources.swift`).
///
/// Each property is one setting; its initial value is the default, and its row in `settings`
/// (key, flag, environment variable, parser and range, help) is everything else about it, so
/// adding a setting is a property and a row. See `systemd/kvd.conf` for the file.
public struct ServerConfiguration: Equatable, Sendable {
    public var socketPath = DaemonClient.defaultSocketPath
    public var socketMode: UInt32 = 0o660
    public var allowUIDs: [UInt32] = []
    public var allowGIDs: [UInt32] = []
    public var stateDirectory = "/var/lib/kvd"
    public var telemetryDirectory = "/var/log/kvd"
    /// Empty: the default model's usual places (the engine's `DefaultModel`).
    public var modelPaths: [String] = []
    /// 0: the compute pool's own default (`$KVD_THREADS`, else min(2, cores)).
    public var threads = 0
    public var memoryBudget = 4 << 30
    public var maxFrame = FrameDecoder.defaultMaxFrameSize
    public var maxOutput = 8 << 20
    public var defaultMaxNewTokens = 256
    public var maxQueue = 1024
    public var maxBatch = 16
    public var logLevel = Logger.Level.info
    public var store: StoreURL?
    public var storePrefix = "kvd"
    public var storePasswordFile: String?

    public init() {}

    /// The settings, in the order `kvd --help` and `systemd/kvd.conf` list them.
    public static let settings: [ServerSetting] = [
        .one("socket", \.socketPath, valueName: "path", expected: "a path",
             help: "Unix socket to listen on (ignored when systemd passes the socket).",
             parse: SettingValue.path, text: { $0 }),
        .one("socket_mode", \.socketMode, valueName: "octal", expected: "octal permissions, e.g. 0660",
             help: "Permissions of the socket file; members of its group may connect.",
             parse: SettingValue.mode, text: SettingValue.modeText),
        .list("allow_uids", \.allowUIDs, flag: "allow-uid", valueName: "uid", expected: "comma-separated uids",
              help: "Peer uids allowed besides root and kvd's own (checked with SO_PEERCRED). With allow_gids empty too, anyone who may open the socket.",
              parse: SettingValue.ids, text: { "\($0)" }),
        .list("allow_gids", \.allowGIDs, flag: "allow-gid", valueName: "gid", expected: "comma-separated gids",
              help: "Peer primary gids allowed.",
              parse: SettingValue.ids, text: { "\($0)" }),
        .one("state_dir", \.stateDirectory, valueName: "dir", expected: "a path",
             help: "Directory for saved sessions.",
             parse: SettingValue.path, text: { $0 }),
        .one("telemetry_dir", \.telemetryDirectory, valueName: "dir", expected: "a path",
             help: "Directory for the telemetry CSV files.",
             parse: SettingValue.path, text: { $0 }),
        .list("model", \.modelPaths, flag: "model", environment: "KVD_MODEL", valueName: "path", expected: "a path",
              help: "Model file (GGUF); repeat to serve several, the first is the default. None: the model scripts/fetch-model installs.",
              parse: { SettingValue.path($0).map { [$0] } }, text: { $0 }),
        .one("threads", \.threads, environment: "KVD_THREADS", valueName: "n", expected: "a number of threads from 0 to 4096",
             help: "Compute threads for matrix products and attention (0 = $KVD_THREADS, else min(2, cores)).",
             parse: SettingValue.integer(in: 0...4096), text: { "\($0)" }),
        .one("memory_budget", \.memoryBudget, valueName: "bytes", expected: "bytes, e.g. 4G or 512M",
             help: "Bytes of KV cache resident sessions may hold together (K/M/G suffixes; 0 = unlimited). Beyond it the least recently used sessions are saved and unloaded.",
             parse: SettingValue.size(atLeast: 0), text: SettingValue.sizeText),
        .one("max_frame", \.maxFrame, valueName: "bytes", expected: "bytes ≥ 1K, e.g. 16M",
             help: "Largest request frame accepted (documents travel in one frame).",
             parse: SettingValue.size(atLeast: 1 << 10), text: SettingValue.sizeText),
        .one("max_output", \.maxOutput, valueName: "bytes", expected: "bytes ≥ 64K, e.g. 8M",
             help: "Bytes of answers a client may leave unread: past it kvd stops reading its requests, past four times it closes the connection.",
             parse: SettingValue.size(atLeast: 64 << 10), text: SettingValue.sizeText),
        .one("max_new_tokens", \.defaultMaxNewTokens, valueName: "n", expected: "a positive number",
             help: "Answer length when a request does not set max_new_tokens.",
             parse: SettingValue.integer(in: 1...Int.max), text: { "\($0)" }),
        .one("max_queue", \.maxQueue, valueName: "n", expected: "a positive number",
             help: "Jobs (loads, asks) that may wait for the inference worker, asks in flight included.",
             parse: SettingValue.integer(in: 1...Int.max), text: { "\($0)" }),
        .one("max_batch", \.maxBatch, valueName: "n", expected: "a number of asks from 1 to 256",
             help: "Asks stepped together in one forward pass (continuous batching); more wait their turn.",
             parse: SettingValue.integer(in: 1...256), text: { "\($0)" }),
        .one("log_level", \.logLevel, valueName: "level", expected: logLevelChoices,
             help: logLevelChoices + " (logs go to stderr or the journal).",
             parse: { Logger.Level(rawValue: $0) }, text: { $0.rawValue }),
        .one("store", \.store, valueName: "url", expected: "a store URL",
             help: "Shared session store: redis://[user:password@]host:port[/db] or unix:///path/to/redis.sock. Replicas with the same store and prefix share their sessions. Unset: sessions stay on this machine.",
             parse: { $0.isEmpty ? .some(nil) : .some(try StoreURL($0)) }, text: { $0.map { "\($0)" } ?? "" }),
        .one("store_prefix", \.storePrefix, valueName: "prefix", expected: "1 to 64 of A-Z a-z 0-9 . _ -",
             help: "Key prefix of this deployment in the store; replicas that share sessions use the same one.",
             parse: { isStorePrefix($0) ? $0 : nil }, text: { $0 }),
        .one("store_password_file", \.storePasswordFile, valueName: "file", expected: "a path",
             help: "File (mode 0600) holding the store's password, which replaces the URL's; kept out of ps.",
             parse: SettingValue.optionalPath, text: { $0 ?? "" }),
    ]

    /// `trace, debug, …, error or critical`.
    static var logLevelChoices: String {
        let levels = Logger.Level.allCases.map(\.rawValue)
        return levels.dropLast().joined(separator: ", ") + " or " + levels[levels.count - 1]
    }

    /// 1 to 64 of `[A-Za-z0-9._-]`.
    static func isStorePrefix(_ value: String) -> Bool {
        (1...64).contains(value.count) && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// The store URL with the password of `store_password_file` in it (read now: a changed
    /// file counts at the next start).
    /// - Throws: `StoreURL.ParseError` when the file is missing, readable by others, or not one line.
    public func storeWithPassword() throws -> StoreURL? {
        guard var url = store else { return nil }
        if let file = storePasswordFile { url.password = try StoreURL.readPassword(file: file) }
        return url
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
