import ArgumentParser
import Dispatch
import Foundation
import KVBenchKit
import KVModel
import KVSystem
import KVWire
#if canImport(Glibc)
import Glibc
#endif

struct ServeBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-bench",
        abstract: "Load benchmark: start kvd, load documents once, and let concurrent clients ask about them.",
        discussion: """
            Starts kvd (the kvd next to kvbench, or --kvd) on a temporary socket with --model, loads \
            --documents documents of about --document-tokens tokens (filler text hiding --facts facts \
            each), then, for each client count of --clients, runs --repeats rounds in which every \
            client asks every question once (streamed, greedy, kvpress's answer prefix, \
            --max-new-tokens tokens), each client waiting for an answer before its next ask. Reports \
            per round: wall time, seconds per ask, asks/s, p50/p99 latency and time to first token \
            (as the client measures them, queueing included), accuracy, errors and kvd's RSS. \
            With --load-tokens, also sends one ask while a document of that many tokens loads and \
            reports its time to first token. With --llama-server, starts llama.cpp's server \
            (-np <most clients> -cb, cache_prompt on) and runs the same asks against it, its rounds \
            interleaved with kvd's; each of its asks sends the whole prompt (document + question).

            With --replicas N (2 or more) and --store URL, starts N kvd replicas sharing sessions \
            through that store (one --store-prefix) and measures, per document, the first ask on a \
            replica that did not load it against that replica loading it itself: replica 1 loads the \
            document with --press and shared (answered once published), replicas 2…N ask its first \
            question (fetch, restore, answer; the ask's store_ms and store_bytes), then each of them \
            loads the document under another id and asks the same question. The two alternate over \
            --repeats; reported are medians, the ratio remote first ask / local load, and whether \
            the two answers are the same tokens. --clients, --llama-server and --load-tokens do not \
            apply there.
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: ArgumentHelp("Client counts to measure, comma-separated.", valueName: "n,n,…"))
    var clients = "1,8"

    @Option(help: "Documents loaded (each a session).")
    var documents = 2

    @Option(help: "Approximate tokens per document.")
    var documentTokens = 2000

    @Option(help: "Facts hidden per document; each is asked once per client per round.")
    var facts = 3

    @Option(help: "Tokens generated per answer.")
    var maxNewTokens = 12

    @Flag(help: "Decode-heavy work: every ask asks for a summary of its document (no answer prefix; with --max-new-tokens 96, say) instead of a fact; accuracy then counts answers that say anything.")
    var summaries = false

    @Option(help: "Rounds per client count.")
    var repeats = 1

    @Option(help: ArgumentHelp("Press the documents are loaded with.", valueName: "spec"))
    var press = "none"

    @Option(help: ArgumentHelp("Also time an ask sent while a document of this many tokens loads (0 = skip).", valueName: "n"))
    var loadTokens = 0

    @Option(help: ArgumentHelp("kvd executable (default: the one next to kvbench).", valueName: "path"))
    var kvd: String?

    @Option(help: ArgumentHelp("Also measure llama.cpp's llama-server at this path.", valueName: "path"))
    var llamaServer: String?

    @Option(help: "Compute threads for kvd and llama-server.")
    var threads = 2

    @Option(help: "Seed of the documents' facts.")
    var seed: UInt64 = 7

    @Option(help: ArgumentHelp("kvd replicas sharing sessions through --store (2 or more: the first ask on a replica that did not load a document, against that replica loading it).", valueName: "n"))
    var replicas = 1

    @Option(help: ArgumentHelp("Shared session store of the replicas (kvd --store): unix:///path/redis.sock or redis://[user:password@]host:port[/db].", valueName: "url"))
    var store: String?

    @Option(help: ArgumentHelp("Key prefix of the replicas in the store (default kvbench-<pid>, so runs never meet).", valueName: "prefix"))
    var storePrefix: String?

    @Option(help: ArgumentHelp("File (mode 0600) holding the store's password, passed to each replica.", valueName: "file"))
    var storePasswordFile: String?

    @Flag(help: "Print one JSON object on stdout instead of the tables.")
    var json = false

    var clientCounts: [Int] { clients.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard !clientCounts.isEmpty, clientCounts.allSatisfy({ (1...256).contains($0) }) else {
            throw ValidationError("--clients must be comma-separated counts from 1 to 256, e.g. 1,8")
        }
        guard documents >= 1, facts >= 1, documentTokens >= 64, maxNewTokens >= 1, repeats >= 1, loadTokens >= 0, threads >= 1 else {
            throw ValidationError("--documents, --facts, --max-new-tokens, --repeats and --threads must be at least 1, --document-tokens at least 64")
        }
        guard (1...16).contains(replicas) else { throw ValidationError("--replicas must be from 1 to 16") }
        if replicas >= 2 {
            guard store != nil else { throw ValidationError("--replicas \(replicas) needs --store URL (the replicas share sessions through it)") }
            guard llamaServer == nil, loadTokens == 0 else { throw ValidationError("--llama-server and --load-tokens do not combine with --replicas") }
        } else if store != nil || storePrefix != nil || storePasswordFile != nil {
            throw ValidationError("--store, --store-prefix and --store-password-file go with --replicas N (2 or more)")
        }
    }

    func run() throws {
        let model = try modelOptions.load()
        let facts = ServeWorkload(documents: documents, tokens: documentTokens, facts: self.facts, seed: seed) {
            model.tokenizer.encode($0).count
        }
        let workload = summaries ? facts.summaries : facts
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvbench-serve-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        if replicas >= 2 {
            try runReplicas(model: model, workload: workload, in: dir)
            return
        }

        let daemon = try startKVD(in: dir)
        defer { stop(daemon) }
        let socket = dir.appendingPathComponent("kvd.sock").path
        try waitUntil("kvd answers on \(socket)") { (try? DaemonClient(socketPath: socket).call(.health)) != nil }
        let loader = try DaemonClient(socketPath: socket)
        var loadSeconds: [Double] = []
        for d in workload.documents {
            let t0 = ContinuousClock.now
            _ = try loader.call(.load(LoadRequest(session: d.session, document: d.text, press: press)))
            loadSeconds.append(t0.secondsElapsed)
        }
        log("kvd: loaded \(workload.documents.count) documents in \(loadSeconds.map { String(format: "%.2f s", $0) }.joined(separator: ", "))")

        var llama: (process: Process, client: LlamaServerClient)?
        if let llamaServer {
            llama = try startLlamaServer(llamaServer, workload: workload, model: model, in: dir)
        }
        defer { if let llama { stop(llama.process) } }
        let prompts = try workload.questions.map { q in
            let p = try model.promptFormat().kvpressPrompt(context: workload.documents[q.document].text, question: q.text,
                                                            answerPrefix: q.answerPrefix)
            return p.context + p.question
        }

        var rounds: [ServeRound] = []
        for c in clientCounts {
            for r in 1...repeats {
                var round = runRound(server: "kvd", clients: c, workload: workload) { q in
                    try askKVD(socket: socket, workload: workload, question: q)
                }
                round.rssBytes = (try? statsRSS(socket))
                rounds.append(round)
                log(describe(round, repeat: r))
                if let llama {
                    let round = runRound(server: "llama-server", clients: c, workload: workload) { q in
                        let t = try llama.client.complete(prompt: prompts[q], maxTokens: maxNewTokens)
                        return ServeAsk(firstToken: t.firstToken, latency: t.total,
                                        correct: workload.isCorrect(t.text, for: workload.questions[q]))
                    }
                    rounds.append(round)
                    log(describe(round, repeat: r))
                }
            }
        }
        var probe: (load: Double, firstToken: Double, latency: Double)?
        if loadTokens > 0 { probe = try askDuringLoad(socket: socket, workload: workload, model: model) }
        report(rounds, probe: probe)
    }

    // MARK: Rounds

    /// Every client asks every question once, one after another; clients run at once.
    private func runRound(server: String, clients: Int, workload: ServeWorkload,
                          ask: @escaping (Int) throws -> ServeAsk) -> ServeRound {
        let asks = Locked<[ServeAsk]>([])
        let group = DispatchGroup()
        let start = ContinuousClock.now
        for client in 0..<clients {
            group.enter()
            let t = Thread {
                // Each client starts at a different question so the sessions' asks mix.
                for i in 0..<workload.questions.count {
                    let q = (i + client) % workload.questions.count
                    let result: ServeAsk
                    do { result = try ask(q) } catch {
                        result = ServeAsk(firstToken: 0, latency: 0, correct: false, error: "\(error)")
                    }
                    asks.update { $0.append(result) }
                }
                group.leave()
            }
            t.stackSize = 1 << 20
            t.start()
        }
        group.wait()
        return ServeRound(server: server, clients: clients, wall: start.secondsElapsed, asks: asks.value)
    }

    private func askKVD(socket: String, workload: ServeWorkload, question q: Int) throws -> ServeAsk {
        let client = try DaemonClient(socketPath: socket)
        let question = workload.questions[q]
        let request = AskRequest(session: workload.documents[question.document].session, question: question.text,
                                 answerPrefix: question.answerPrefix, maxNewTokens: UInt32(maxNewTokens), stream: true)
        let start = ContinuousClock.now
        var first: Double?
        let body = try client.call(.ask(request)) { piece in
            if first == nil && !piece.text.isEmpty { first = start.secondsElapsed }
        }
        let latency = start.secondsElapsed
        guard case .ask(let answer) = body else { throw CommandFailure("unexpected answer: \(body)") }
        return ServeAsk(firstToken: first ?? latency, latency: latency, correct: workload.isCorrect(answer.answer, for: question),
                        tokens: answer.tokenIDs.count)
    }

    /// Loads a document of `loadTokens` tokens and, a moment later, asks about the first document.
    private func askDuringLoad(socket: String, workload: ServeWorkload, model: Model) throws -> (load: Double, firstToken: Double, latency: Double) {
        let big = ServeWorkload(documents: 1, tokens: loadTokens, facts: 1, seed: seed &+ 1, sessionPrefix: "long") {
            model.tokenizer.encode($0).count
        }
        let outcome = Locked<Result<Double, Error>>(.success(0))
        let done = DispatchSemaphore(value: 0)
        let text = big.documents[0].text
        let loader = Thread {
            do {
                let c = try DaemonClient(socketPath: socket)
                let t0 = ContinuousClock.now
                _ = try c.call(.load(LoadRequest(session: "long1", document: text, press: press)))
                outcome.update { $0 = .success(t0.secondsElapsed) }
            } catch { outcome.update { $0 = .failure(error) } }
            done.signal()
        }
        loader.start()
        Thread.sleep(forTimeInterval: 0.5)
        let ask = try askKVD(socket: socket, workload: workload, question: 0)
        done.wait()
        let loadTime = try outcome.value.get()
        if let e = ask.error { throw CommandFailure("the ask during the load failed: \(e)") }
        return (loadTime, ask.firstToken, ask.latency)
    }

    // MARK: Servers

    /// Starts kvd on `<dir>/<name>.sock`, with its state and telemetry under `<dir>/<name>`
    /// (`<dir>/state`, `<dir>/telemetry` for the one kvd of the client rounds), and `extra` flags.
    func startKVD(in dir: URL, name: String = "kvd", extra: [String] = []) throws -> Process {
        let path = kvd ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("kvd").path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw CommandFailure("no kvd at \(path); pass --kvd PATH") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        let home = name == "kvd" ? dir : dir.appendingPathComponent(name)
        p.arguments = ["--socket", dir.appendingPathComponent("\(name).sock").path,
                       "--state-dir", home.appendingPathComponent("state").path,
                       "--telemetry-dir", home.appendingPathComponent("telemetry").path,
                       "--model", modelOptions.path, "--threads", String(threads), "--log-level", "warning"] + extra
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    private func startLlamaServer(_ path: String, workload: ServeWorkload, model: Model, in dir: URL) throws -> (Process, LlamaServerClient) {
        let most = clientCounts.max() ?? 1
        let longest = workload.documents.map { model.tokenizer.encode($0.text).count }.max() ?? documentTokens
        let perSlot = longest + 256 + maxNewTokens
        let port = 18000 + Int(getpid() % 2000)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["-m", modelOptions.path, "-np", String(most), "-cb", "-c", String(perSlot * most),
                       "-t", String(threads), "--port", String(port), "--host", "127.0.0.1"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let client = LlamaServerClient(port: port)
        try waitUntil("llama-server answers on port \(port)") { client.isHealthy() }
        log("llama-server: -np \(most) -cb -c \(perSlot * most) -t \(threads)")
        return (p, client)
    }

    func stop(_ p: Process) {
        guard p.isRunning else { return }
        kill(p.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(30)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    }

    private func waitUntil(_ what: String, timeout: TimeInterval = 120, _ ready: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if ready() { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw CommandFailure("timed out waiting until \(what)")
    }

    private func statsRSS(_ socket: String) throws -> Int? {
        guard case .stats(let s) = try DaemonClient(socketPath: socket).call(.stats) else { return nil }
        return Int(s.rssBytes)
    }

    // MARK: Output

    func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    private func describe(_ r: ServeRound, repeat n: Int) -> String {
        String(format: "%@ %d clients, round %d: %d asks in %.2f s (%.1f tokens per answer), p50 %.2f s, accuracy %.0f%%, %d errors",
               r.server, r.clients, n, r.asks.count, r.wall, r.meanTokens, r.latency(50), r.accuracy * 100, r.errors)
    }

    private func report(_ rounds: [ServeRound], probe: (load: Double, firstToken: Double, latency: Double)?) {
        // Per server and client count: the median round by wall time.
        var rows: [ServeRound] = []
        for server in ["kvd", "llama-server"] {
            for c in clientCounts {
                let same = rounds.filter { $0.server == server && $0.clients == c }.sorted { $0.wall < $1.wall }
                if !same.isEmpty { rows.append(same[same.count / 2]) }
            }
        }
        let one = rows.first { $0.server == "kvd" && $0.clients == clientCounts.min() }
        let most = rows.first { $0.server == "kvd" && $0.clients == clientCounts.max() }
        let llamaMost = rows.first { $0.server == "llama-server" && $0.clients == clientCounts.max() }
        if json {
            printSnakeCaseJSON(ServeBenchReport(
                model: URL(fileURLWithPath: modelOptions.path).lastPathComponent, press: press, documents: documents,
                documentTokens: documentTokens, facts: facts, maxNewTokens: maxNewTokens, repeats: repeats,
                cpu: MachineDescription.cpuModelName, kernels: CPULevel.current.rawValue, rounds: rounds.map(ServeBenchReport.Round.init),
                askDuringLoad: probe.map { .init(loadTokens: loadTokens, loadS: $0.load, ttftS: $0.firstToken, latencyS: $0.latency) }))
            return
        }
        print("\(URL(fileURLWithPath: modelOptions.path).lastPathComponent), press \(press), \(documents) documents × \(facts) questions of ~\(documentTokens) tokens, \(maxNewTokens) new tokens, median of \(repeats) round(s)")
        print("CPU: \(MachineDescription.summary)")
        print("| server | clients | asks | wall | per ask | asks/s | p50 latency | p99 latency | p50 TTFT | p99 TTFT | accuracy | errors | RSS |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows {
            let rss = r.rssBytes.map { String(format: "%.0f MB", Double($0) / 1e6) } ?? "–"
            print(String(format: "| %@ | %d | %d | %.2f s | %.3f s | %.2f | %.2f s | %.2f s | %.2f s | %.2f s | %.0f%% | %d | %@ |",
                         r.server, r.clients, r.asks.count, r.wall, r.secondsPerAsk, r.asksPerSecond, r.latency(50), r.latency(99),
                         r.firstToken(50), r.firstToken(99), r.accuracy * 100, r.errors, rss))
        }
        if let one, let most, one.clients != most.clients {
            print(String(format: "batching gain (per ask, 1 → %d clients): %.2f×; p50 latency %d clients / 1 client: %.2f×",
                         most.clients, one.secondsPerAsk / most.secondsPerAsk, most.clients, most.latency(50) / one.latency(50)))
        }
        if let most, let llamaMost {
            print(String(format: "wall time, kvd / llama-server at %d clients: %.3f×", most.clients, most.wall / llamaMost.wall))
        }
        let kvdRSS = rounds.filter { $0.server == "kvd" }.compactMap(\.rssBytes)
        if kvdRSS.count > 1 {
            print("kvd RSS after each round: " + kvdRSS.map { String(format: "%.0f MB", Double($0) / 1e6) }.joined(separator: ", "))
        }
        if let probe {
            print(String(format: "an ask sent 0.5 s into a %d-token load: first token after %.2f s, answer after %.2f s (the load took %.2f s)",
                         loadTokens, probe.firstToken, probe.latency, probe.load))
        }
    }
}
