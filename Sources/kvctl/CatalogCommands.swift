import ArgumentParser
import Foundation
import KVWire

struct Presses: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the presses kvd knows, with their parameters and defaults.",
        discussion: "Names and parameters follow kvpress 0.5.5; `ratio` is accepted for compression_ratio.\n\nExamples:\n  kvctl presses\n  kvctl presses --json")
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReporting(json: connection.json) {
            let body = try connection.connect().call(.presses)
            guard case .presses(let list) = body else { throw CLIError.unexpected("\(body)") }
            if connection.json { printJSON(["presses": list]); return }
            for p in list {
                print("\(p.name)\(p.wraps ? "(INNER)" : "") — \(p.summary)")
                for q in p.parameters { print("    \(q.name) = \(q.defaultValue)    \(q.help)") }
            }
        }
    }
}

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the models kvd serves.", discussion: "Example:\n  kvctl models")
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReporting(json: connection.json) {
            let body = try connection.connect().call(.models)
            guard case .models(let list) = body else { throw CLIError.unexpected("\(body)") }
            if connection.json { printJSON(["models": list]); return }
            printTable(["NAME", "ARCH", "LAYERS", "CONTEXT", "VOCAB", "DEFAULT", "PATH"], list.map {
                [$0.name, $0.architecture, String($0.layers), String($0.contextLength), String($0.vocabularySize), $0.isDefault ? "yes" : "", $0.path]
            })
        }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show daemon-wide counters: sessions, memory, requests.", discussion: "Example:\n  kvctl stats --json")
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReporting(json: connection.json) {
            let body = try connection.connect().call(.stats)
            guard case .stats(let s) = body else { throw CLIError.unexpected("\(body)") }
            if connection.json { printJSON(s); return }
            print("""
            sessions:      \(s.sessionsResident) resident, \(s.sessionsSaved) saved
            kv cache:      \(formatBytes(s.kvBytes)) of \(s.memoryBudgetBytes == 0 ? "unlimited" : formatBytes(s.memoryBudgetBytes)) budget
            memory:        \(formatBytes(s.rssBytes)) resident, \(formatBytes(s.peakRssBytes)) peak
            requests:      \(s.requests) (\(s.errors) errors), \(s.connections) connections, \(s.queueDepth) queued
            uptime:        \(String(format: "%.0f", s.uptimeS)) s
            batching:      \(s.steps) steps, \(String(format: "%.2f", s.meanBatchSize)) asks per step, \(s.generatedTokens) tokens (\(String(format: "%.1f", s.uptimeS > 0 ? Double(s.generatedTokens) / s.uptimeS : 0)) per second of uptime)
            telemetry:     \(s.telemetryDir)
            state:         \(s.stateDir)
            """)
        }
    }
}

struct Health: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that kvd answers.",
        discussion: "Exits 0 when kvd is serving, 11 when it is stopping, 69 when it is not reachable.\n\nExample:\n  kvctl health && echo up")
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReporting(json: connection.json) {
            let body = try connection.connect().call(.health)
            guard case .health(let status, let version) = body else { throw CLIError.unexpected("\(body)") }
            if connection.json { printJSON(["status": status, "version": version]) } else { print("\(status) (kvd \(version))") }
            if status != "serving" { throw ExitCode(11) }
        }
    }
}

struct Telemetry: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a session's telemetry CSV (timings and memory of each event).",
        discussion: """
        Reads <telemetry-dir>/SESSION.csv; the directory is asked from kvd unless --telemetry-dir \
        is given. With --follow, new rows are printed as they are written (like tail -f). With \
        --json, one JSON object: {"session", "rows": [{column: value}]}; with --json --follow, one \
        object per row.

        Examples:
          kvctl telemetry manual
          kvctl telemetry manual --follow
        """)
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The session.") var session: String
    @Flag(help: "Keep printing rows as they are written.") var follow = false
    @Option(name: .customLong("telemetry-dir"), help: "Read the CSV from this directory instead of asking kvd.") var telemetryDir: String?

    func run() throws {
        try runReporting(json: connection.json) {
            var dir = telemetryDir
            if dir == nil {
                let body = try connection.connect().call(.stats)
                guard case .stats(let s) = body else { throw CLIError.unexpected("\(body)") }
                dir = s.telemetryDir
            }
            let allowed = session.utf8.allSatisfy { c in (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D }
            guard allowed, !session.isEmpty, session != ".", session != ".." else {
                throw CLIError.daemon(WireError(.invalidArgument, "invalid session id '\(session)'"))
            }
            let path = (dir ?? ".") + "/" + session + ".csv"
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw CLIError.daemon(WireError(.notFound, "no telemetry for session '\(session)' at \(path)"))
            }
            var pending = ""
            var header: [String]?
            var rows: [[String: String]] = []
            func consume(_ text: String) {
                pending += text
                while let nl = pending.firstIndex(of: "\n") {
                    let line = String(pending[..<nl])
                    pending = String(pending[pending.index(after: nl)...])
                    if connection.json {
                        let fields = splitCSV(line)
                        if header == nil { header = fields; continue }
                        let row = Dictionary(zip(header ?? [], fields), uniquingKeysWith: { a, _ in a })
                        if follow { printJSON(row); fflush(stdout) } else { rows.append(row) }
                    } else {
                        print(line)
                        fflush(stdout)
                    }
                }
            }
            consume(String(decoding: handle.readDataToEndOfFile(), as: UTF8.self))
            if connection.json && !follow { printJSON(TelemetryOutput(session: session, rows: rows)) }
            while follow {
                let more = handle.readDataToEndOfFile()
                if more.isEmpty { Thread.sleep(forTimeInterval: 0.25) } else { consume(String(decoding: more, as: UTF8.self)) }
            }
        }
    }

    struct TelemetryOutput: Encodable { let session: String; let rows: [[String: String]] }
}

/// Splits one RFC 4180 CSV line.
func splitCSV(_ line: String) -> [String] {
    var fields: [String] = [], field = "", quoted = false
    var chars = Array(line)[...]
    while let c = chars.popFirst() {
        if quoted {
            if c == "\"" {
                if chars.first == "\"" { field.append("\""); chars.removeFirst() } else { quoted = false }
            } else { field.append(c) }
        } else if c == "\"" { quoted = true } else if c == "," { fields.append(field); field = "" } else { field.append(c) }
    }
    fields.append(field)
    return fields
}
