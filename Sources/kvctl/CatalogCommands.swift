import ArgumentParser
import Foundation
import KVSpec
import KVWire

struct Presses: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the presses and KV cache quantization methods, with their defaults.",
        discussion: """
        Names and parameters follow kvpress 0.5.5; `ratio` is accepted for compression_ratio. The \
        quantization methods (kvctl load --kv-quant METHOD:key=value,…) come from kvctl's own catalog, \
        the one kvd checks specs against. With --json: {"presses": […], "kv_quant": […]}.

        Examples:
          kvctl presses
          kvctl presses --json
        """)
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReporting(json: connection.json) {
            let body = try connection.connect().call(.presses)
            guard case .presses(let list) = body else { throw CLIError.unexpected("\(body)") }
            let quantization = QuantizationCatalog.all.map(PressInfo.init)
            if connection.json { printJSON(Catalogs(presses: list, kvQuant: quantization)); return }
            func show(_ p: PressInfo) {
                print("\(p.name)\(p.wraps ? "(INNER)" : "") — \(p.summary)" + (p.phases.isEmpty ? "" : " [\(p.phases.joined(separator: ", "))]"))
                for q in p.parameters { print("    \(q.name) = \(q.defaultValue)    \(q.help)") }
            }
            list.forEach(show)
            print("\nKV cache quantization (kvctl load --kv-quant METHOD:key=value,…; --kv-bits N is kivi:bits=N):")
            quantization.forEach(show)
        }
    }

    /// The `--json` answer.
    struct Catalogs: Encodable { let presses: [PressInfo]; let kvQuant: [PressInfo] }
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
            let steps = s.promptStepS + s.decodeStepS
            func share(_ x: Double) -> String { s.busyS > 0 ? String(format: "%.0f%%", 100 * x / s.busyS) : "-" }
            print("""
            sessions:      \(s.sessionsResident) resident, \(s.sessionsSaved) saved
            kv cache:      \(formatBytes(s.kvBytes)) of \(s.memoryBudgetBytes == 0 ? "unlimited" : formatBytes(s.memoryBudgetBytes)) budget
            memory:        \(formatBytes(s.rssBytes)) resident, \(formatBytes(s.peakRssBytes)) peak
            requests:      \(s.requests) (\(s.errors) errors), \(s.connections) connections, \(s.queueDepth) queued
            uptime:        \(String(format: "%.0f", s.uptimeS)) s
            batching:      \(s.steps) steps, \(String(format: "%.2f", s.meanBatchSize)) asks per step, \(s.generatedTokens) tokens (\(String(format: "%.1f", steps > 0 ? Double(s.generatedTokens) / steps : 0)) per second of steps)
            worker time:   busy \(String(format: "%.1f", s.busyS)) s of \(String(format: "%.0f", s.uptimeS)) s: loads and other jobs \(share(s.jobS)), prompt steps \(share(s.promptStepS)), decode steps \(share(s.decodeStepS)); attention \(steps > 0 ? String(format: "%.0f%%", 100 * s.stepAttentionS / steps) : "-") of the steps
            telemetry:     \(s.telemetryDir)
            state:         \(s.stateDir)
            """)
            if !s.store.isEmpty {
                print("""
                store:         \(s.store)
                store use:     \(s.storeHits) hits, \(s.storeMisses) misses, \(formatBytes(s.storeBytesIn)) in, \(formatBytes(s.storeBytesOut)) out, \(s.storeErrors) errors, \(s.storePending) waiting to publish or drop
                """)
            }
        }
    }
}

struct Health: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that kvd answers.",
        discussion: "Exits 0 when kvd is serving, 11 when it is stopping, 12 when it is degraded (serving what it holds while its shared store is unreachable), 69 when it is not reachable.\n\nExample:\n  kvctl health && echo up")
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try runReporting(json: connection.json) {
            let body = try connection.connect().call(.health)
            guard case .health(let status, let version) = body else { throw CLIError.unexpected("\(body)") }
            if connection.json { printJSON(["status": status, "version": version]) } else { print("\(status) (kvd \(version))") }
            if status.hasPrefix("degraded") { throw ExitCode(12) }
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
            // The id names a file here: kvctl checks it as kvd does, and says so in kvd's words.
            do { _ = try SessionID(session) } catch let e as InvalidSessionID { throw CLIError.daemon(e.wireError) }
            var dir = telemetryDir
            if dir == nil {
                let body = try connection.connect().call(.stats)
                guard case .stats(let s) = body else { throw CLIError.unexpected("\(body)") }
                dir = s.telemetryDir
            }
            let path = (dir ?? ".") + "/" + session + ".csv"
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw CLIError.daemon(WireError(.notFound, "no telemetry for session '\(session)' at \(path)"))
            }
            var reader = TelemetryRow.Reader()
            var rows: [[String: String]] = []
            func consume(_ text: String) {
                guard connection.json else {
                    print(text, terminator: "")
                    fflush(stdout)
                    return
                }
                for row in reader.feed(text) {
                    if follow { printJSON(row); fflush(stdout) } else { rows.append(row) }
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
