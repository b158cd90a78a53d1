import ArgumentParser
import KVWire

/// kvctl: the client of kvd.
@main
struct KVCtl: ParsableCommand {
    /// Accepts the shared options before the subcommand too (`kvctl --socket PATH sessions`) by
    /// moving them after it, where each subcommand's `ConnectionOptions` parses them.
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        var leading: [String] = []
        while let first = args.first, first == "--json" || first.hasPrefix("--socket") {
            leading.append(args.removeFirst())
            if first == "--socket", let value = args.first { leading.append(value); args.removeFirst() }
        }
        if !leading.isEmpty, !args.isEmpty { args.insert(contentsOf: leading, at: 1) } else { args = leading + args }
        main(args)
    }

    static let configuration = CommandConfiguration(
        commandName: "kvctl",
        abstract: "Load documents into kvd and ask questions against their compressed contexts.",
        discussion: """
        kvctl talks to a running kvd over its Unix socket (--socket, or $KVD_SOCKET, else \
        /run/kvd/kvd.sock). Every command accepts --json and then prints exactly one JSON object.

        Examples:
          kvctl load manual docs/manual.txt --press snapkv --ratio 0.5
          kvctl ask --session manual "How do I reset the device?"
          kvctl sessions
          kvctl telemetry manual --follow

        Exit codes: 0 success; 3 invalid argument; 4 not found; 5 already exists; \
        6 resource exhausted; 7 cancelled; 8 deadline exceeded; 9 failed precondition; \
        10 permission denied; 11 daemon stopping; 64 bad command line; 66 unreadable input; \
        69 kvd not reachable; 1 other errors.
        """,
        version: "0.1.0",
        subcommands: [
            Load.self, Ask.self, Sessions.self, Info.self, Drop.self, Save.self, Restore.self,
            Presses.self, Models.self, Stats.self, Health.self, Telemetry.self,
        ]
    )
}
