import ArgumentParser
import Foundation
import KVModel
import KVServer
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// kvd: the KV-cache-compression inference daemon.
@main
struct KVD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvd",
        abstract: "Serve compressed document contexts of a language model over a Unix socket.",
        discussion: """
        kvd holds a model and many sessions: documents prefilled once and compressed by a press. \
        Clients (kvctl) load documents and ask questions with protobuf frames over a Unix socket \
        (Protos/kvd.proto). kvd runs in the foreground and logs to stderr; systemd starts it with \
        Type=notify (READY=1 is sent once the socket accepts) and may pass the socket (LISTEN_FDS). \
        On SIGTERM or SIGINT it finishes queued work, saves every session to the state directory \
        and exits 0; saved sessions are restored lazily on their next use.

        Settings come from the defaults, then the config file, then these flags.

        Examples:
          kvd --socket /tmp/kvd.sock --state-dir /tmp/kvd/st --telemetry-dir /tmp/kvd/tm
          kvd --config /etc/kvd/kvd.conf
        """,
        version: Server.version
    )

    static func main() {
        BLAS.restartWithVectorKernelIfNeeded()
        CPULevel.exitIfMisconfigured(program: "kvd")
        main(nil)
    }

    @Option(help: ArgumentHelp("Unix socket to listen on (ignored under socket activation).", valueName: "path"))
    var socket: String?

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Directory for saved sessions.", valueName: "dir"))
    var stateDir: String?

    @Option(name: .customLong("telemetry-dir"), help: ArgumentHelp("Directory for the telemetry CSV files.", valueName: "dir"))
    var telemetryDir: String?

    @Option(name: .customLong("model"), help: ArgumentHelp("Model file (GGUF); repeat to serve several, the first is the default. Default: $KVD_MODEL or models/SmolLM2-135M-Instruct.Q4_1.gguf.", valueName: "path"))
    var models: [String] = []

    @Option(help: ArgumentHelp("Config file of 'key = value' lines (see systemd/kvd.conf).", valueName: "file"))
    var config: String?

    @Option(help: "Compute threads for matrix products and attention (0 = KVD_THREADS, else min(2, cores)).")
    var threads: Int?

    @Option(name: .customLong("memory-budget"), help: ArgumentHelp("Bytes of KV cache resident sessions may hold (K/M/G suffixes; 0 = unlimited). Least recently used sessions are saved and unloaded beyond it.", valueName: "bytes"))
    var memoryBudget: String?

    @Option(name: .customLong("max-frame"), help: ArgumentHelp("Largest accepted frame (K/M/G suffixes).", valueName: "bytes"))
    var maxFrame: String?

    @Option(name: .customLong("allow-uid"), help: ArgumentHelp("Peer uid allowed besides root and kvd's own (repeatable; checked with SO_PEERCRED).", valueName: "uid"))
    var allowUIDs: [UInt32] = []

    @Option(name: .customLong("allow-gid"), help: ArgumentHelp("Peer primary gid allowed (repeatable).", valueName: "gid"))
    var allowGIDs: [UInt32] = []

    @Option(name: .customLong("log-level"), help: ArgumentHelp(ServerConfiguration.logLevelChoices + "."))
    var logLevel: String?

    @Option(help: ArgumentHelp("Shared session store: redis://[user:password@]host:port[/db] or unix:///path/to/redis.sock. Replicas with the same store and prefix share their sessions.", valueName: "url"))
    var store: String?

    @Option(name: .customLong("store-prefix"), help: ArgumentHelp("Key prefix of this deployment in the store (default kvd).", valueName: "prefix"))
    var storePrefix: String?

    @Option(name: .customLong("store-password-file"), help: ArgumentHelp("File (mode 0600) holding the store's password, kept out of ps.", valueName: "file"))
    var storePasswordFile: String?

    func validate() throws {
        if let memoryBudget, ServerConfiguration.parseSize(memoryBudget) == nil {
            throw ValidationError("--memory-budget '\(memoryBudget)' is not a size; use bytes or K/M/G, e.g. 2G")
        }
        if let maxFrame, (ServerConfiguration.parseSize(maxFrame) ?? 0) < 1024 {
            throw ValidationError("--max-frame '\(maxFrame)' must be a size of at least 1K, e.g. 16M")
        }
        if let threads, threads < 0 { throw ValidationError("--threads must be 0 or more") }
        if let logLevel, let problem = ServerConfiguration.logLevelProblem(logLevel) { throw ValidationError(problem) }
        if let store { do { _ = try StoreURL(store) } catch { throw ValidationError("--store: \(error)") } }
        if let storePrefix, let problem = ServerConfiguration.storePrefixProblem(storePrefix) { throw ValidationError(problem) }
    }

    func resolvedConfiguration() throws -> ServerConfiguration {
        var c = ServerConfiguration()
        if let config {
            let text: String
            do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
                throw DaemonFailure("cannot read config file \(config): \(error.localizedDescription)")
            }
            do { try c.apply(configText: text) } catch { throw DaemonFailure("\(config): \(error)") }
        }
        if let socket { c.socketPath = socket }
        if let stateDir { c.stateDirectory = stateDir }
        if let telemetryDir { c.telemetryDirectory = telemetryDir }
        if !models.isEmpty { c.modelPaths = models }
        if let threads { c.threads = threads }
        if let memoryBudget, let v = ServerConfiguration.parseSize(memoryBudget) { c.memoryBudget = v }
        if let maxFrame, let v = ServerConfiguration.parseSize(maxFrame) { c.maxFrame = v }
        if !allowUIDs.isEmpty { c.allowUIDs = allowUIDs }
        if !allowGIDs.isEmpty { c.allowGIDs = allowGIDs }
        if let logLevel { c.logLevel = logLevel }
        if let store { c.store = try StoreURL(store) }
        if let storePrefix { c.storePrefix = storePrefix }
        if let storePasswordFile { c.storePasswordFile = storePasswordFile }
        return c
    }

    func run() throws {
        let c = try resolvedConfiguration()
        let level = Logger.Level(rawValue: c.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        var logger = Logger(label: "kvd")
        logger.logLevel = level
        do {
            try Daemon(configuration: c, logger: logger).run()
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
    }
}

/// A startup failure with a message for the operator.
struct DaemonFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
