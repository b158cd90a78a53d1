import ArgumentParser
import Foundation
import KVModel
import KVServer
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// kvd: the KV-cache-compression inference daemon.
///
/// Its settings are not declared here: every flag is a row of `ServerConfiguration.settings`,
/// read by the same code as the config file, and listed in the help from the same rows.
@main
struct KVD: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "kvd",
            abstract: "Serve compressed document contexts of a language model over a Unix socket.",
            usage: "kvd [--config <file>] [--<setting> <value> ...]",
            discussion: """
            kvd holds a model and many sessions: documents prefilled once and compressed by a press. \
            Clients (kvctl) load documents and ask questions with protobuf frames over a Unix socket \
            (Protos/kvd.proto). kvd runs in the foreground and logs to stderr; systemd starts it with \
            Type=notify (READY=1 is sent once the socket accepts) and may pass the socket (LISTEN_FDS). \
            On SIGTERM or SIGINT it finishes queued work, saves every session to the state directory \
            and exits 0; saved sessions are restored lazily on their next use.

            Settings come from the defaults, then the environment, then the config file (--config), \
            then these flags; each flag is also a config-file key (systemd/kvd.conf):

            \(ServerConfiguration.settingsHelp)

            Examples:
              kvd --socket /tmp/kvd.sock --state-dir /tmp/kvd --telemetry-dir /tmp/kvd
              kvd --config /etc/kvd/kvd.conf --max-batch 8
            """,
            version: Server.version
        )
    }

    static func main() {
        BLAS.restartWithVectorKernelIfNeeded()
        CPULevel.exitIfMisconfigured(program: "kvd")
        main(nil)
    }

    @Option(help: ArgumentHelp("Config file of 'key = value' lines (see systemd/kvd.conf).", valueName: "file"))
    var config: String?

    /// The setting flags (`--max-batch 8`), read by `ServerConfiguration.apply(flags:)`.
    @Argument(parsing: .allUnrecognized, help: .hidden)
    var settings: [String] = []

    func validate() throws {
        var c = ServerConfiguration()
        do { try c.apply(flags: settings) } catch { throw ValidationError("\(error)") }
    }

    func resolvedConfiguration() throws -> ServerConfiguration {
        var text: String?
        if let config {
            do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
                throw DaemonFailure("cannot read config file \(config): \(error.localizedDescription)")
            }
        }
        do {
            return try ServerConfiguration(environment: ProcessInfo.processInfo.environment, configText: text, flags: settings)
        } catch let e as ServerConfiguration.ParseError {
            throw DaemonFailure("\(config ?? "config"): \(e)")
        } catch {
            throw DaemonFailure("\(error)")
        }
    }

    func run() throws {
        let c = try resolvedConfiguration()
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = c.logLevel
            return h
        }
        var logger = Logger(label: "kvd")
        logger.logLevel = c.logLevel
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
