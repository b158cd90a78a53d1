import Foundation
import KVBenchKit
import KVModel
import KVSystem
import KVWire
#if canImport(Glibc)
import Glibc
#endif

/// `serve-bench --replicas N --store URL`: kvd replicas sharing sessions through a store. For each
/// document and repeat, replica 1 loads it with `shared` (answered once it is published), then
/// every other replica asks its first question (fetch, restore, answer: "A"); then each of them
/// loads the document itself under another id and asks the same question ("B"). A and B alternate
/// over the repeats; the sessions are dropped after each.
extension ServeBenchCommand {
    /// A kvd started for the benchmark.
    struct Replica {
        /// 1 for the replica that loads and shares, 2… for the ones that ask.
        let number: Int
        let process: Process
        let socket: String
    }

    /// An ask as the client saw it, with kvd's answer.
    struct TimedAsk {
        var latency: Double
        var firstToken: Double
        var result: AskResult
    }

    func runReplicas(model: Model, workload: ServeWorkload, in dir: URL) throws {
        guard let store else { throw CommandFailure("--replicas needs --store") }
        let prefix = storePrefix ?? "kvbench-\(getpid())"
        var replicas: [Replica] = []
        defer { for r in replicas { stop(r.process) } }
        for n in 1...self.replicas {
            var extra = ["--store", store, "--store-prefix", prefix]
            if let storePasswordFile { extra += ["--store-password-file", storePasswordFile] }
            let process = try startKVD(in: dir, name: "replica\(n)", extra: extra)
            replicas.append(Replica(number: n, process: process, socket: dir.appendingPathComponent("replica\(n).sock").path))
        }
        for r in replicas { try waitUntilServing(r) }
        log("\(replicas.count) replicas sharing \(Self.hidingPassword(store)) under prefix \(prefix); warming up")
        // One unrecorded round on a short document: the measured requests find pages and code warm.
        let small = ServeWorkload(documents: 1, tokens: 256, facts: 1, seed: seed &+ 2, sessionPrefix: "warmup") {
            model.tokenizer.encode($0).count
        }
        _ = try runRepeat(replicas, small.documents[0], small.questions[0], workload: small, tag: "0")

        var summaries: [ReplicaSummary] = []
        for (d, document) in workload.documents.enumerated() {
            guard let question = workload.questions.first(where: { $0.document == d }) else { continue }
            var samples: [Int: [ReplicaSample]] = [:]
            var described: SessionInfo?
            for repeatNumber in 1...repeats {
                let (info, round) = try runRepeat(replicas, document, question, workload: workload, tag: String(repeatNumber))
                described = info
                for (replica, sample) in round.sorted(by: { $0.key < $1.key }) {
                    samples[replica, default: []].append(sample)
                    log(describe(sample, document: document.session, replica: replica, repeat: repeatNumber))
                }
            }
            for r in replicas.dropFirst() {
                summaries.append(ReplicaSummary(document: d, replica: r.number, contextTokens: Int(described?.contextTokens ?? 0),
                                                keptTokens: Int(described?.keptTokens ?? 0), samples: samples[r.number] ?? []))
            }
        }
        reportReplicas(summaries, workload: workload, store: store, prefix: prefix)
    }

    /// One repeat for one document: A (replica 1 loads and shares, then each other replica asks
    /// first, holding nothing), then B (each other replica loads the document itself under another
    /// id and asks the same question). Drops every session it made.
    /// - Returns: the shared session as replica 1 described it, and a sample per replica k ≥ 2.
    private func runRepeat(_ replicas: [Replica], _ document: ServeWorkload.Document, _ question: ServeWorkload.Question,
                           workload: ServeWorkload, tag: String) throws -> (SessionInfo, [Int: ReplicaSample]) {
        let sharedID = "\(document.session)-shared\(tag)"
        let t0 = ContinuousClock.now
        let published = try load(replicas[0], sharedID, document.text, shared: true)
        let sharedLoad = t0.secondsElapsed
        var remote: [Int: TimedAsk] = [:]
        for r in replicas.dropFirst() {
            let ask = try self.ask(r, sharedID, question)
            guard ask.result.metrics.storeBytes > 0 else {
                throw CommandFailure("replica \(r.number) answered \(sharedID) without fetching it from the store")
            }
            remote[r.number] = ask
        }
        try drop(replicas[0], sharedID)

        var samples: [Int: ReplicaSample] = [:]
        for r in replicas.dropFirst() {
            let localID = "\(document.session)-local\(tag)-\(r.number)"
            let t1 = ContinuousClock.now
            _ = try load(r, localID, document.text, shared: false)
            let localLoad = t1.secondsElapsed
            // The load is published behind its answer; its ask runs once that is done.
            try waitUntilPublished(r, localID)
            let local = try self.ask(r, localID, question)
            try drop(r, localID)
            let a = remote[r.number]!
            samples[r.number] = ReplicaSample(
                remoteAsk: a.latency, remoteFirstToken: a.firstToken, storeMs: a.result.metrics.storeMs,
                storeBytes: a.result.metrics.storeBytes, localLoad: localLoad, localAsk: local.latency,
                localFirstToken: local.firstToken, sharedLoad: sharedLoad, publishMs: published.metrics.storeMs,
                publishBytes: published.metrics.storeBytes, identical: a.result.tokenIDs == local.result.tokenIDs,
                remoteCorrect: workload.isCorrect(a.result.answer, for: question),
                localCorrect: workload.isCorrect(local.result.answer, for: question))
        }
        return (published.session, samples)
    }

    // MARK: Requests

    private func load(_ r: Replica, _ session: String, _ text: String, shared: Bool) throws -> LoadResult {
        let body = try DaemonClient(socketPath: r.socket).call(.load(LoadRequest(session: session, document: text, press: press, shared: shared)))
        guard case .load(let result) = body else { throw CommandFailure("replica \(r.number): unexpected answer to load: \(body)") }
        return result
    }

    private func ask(_ r: Replica, _ session: String, _ question: ServeWorkload.Question) throws -> TimedAsk {
        let request = AskRequest(session: session, question: question.text, answerPrefix: question.answerPrefix,
                                 maxNewTokens: UInt32(maxNewTokens), stream: true)
        let client = try DaemonClient(socketPath: r.socket)
        let start = ContinuousClock.now
        var first: Double?
        let body = try client.call(.ask(request)) { piece in
            if first == nil && !piece.text.isEmpty { first = start.secondsElapsed }
        }
        let latency = start.secondsElapsed
        guard case .ask(let result) = body else { throw CommandFailure("replica \(r.number): unexpected answer to ask: \(body)") }
        return TimedAsk(latency: latency, firstToken: first ?? latency, result: result)
    }

    private func drop(_ r: Replica, _ session: String) throws {
        _ = try DaemonClient(socketPath: r.socket).call(.drop(session: session))
    }

    /// Waits until kvd answers `serving`; a replica that exits or says the store is unreachable
    /// ends the benchmark.
    private func waitUntilServing(_ r: Replica) throws {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            guard r.process.isRunning else {
                throw CommandFailure("replica \(r.number) (kvd) exited with status \(r.process.terminationStatus); run it by hand to see why")
            }
            if let client = try? DaemonClient(socketPath: r.socket), (try? client.call(.health)) != nil {
                // A listing goes to the store, so the health that follows knows whether it answers.
                _ = try client.call(.sessions)
                guard case .health(let status, _) = try client.call(.health) else { throw CommandFailure("replica \(r.number): no health") }
                guard status == "serving" else { throw CommandFailure("replica \(r.number): \(status)") }
                return
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw CommandFailure("timed out waiting until replica \(r.number) answers on \(r.socket)")
    }

    /// Polls `info` until the session's write-behind publish is done (its store version is set).
    private func waitUntilPublished(_ r: Replica, _ session: String) throws {
        let client = try DaemonClient(socketPath: r.socket)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if case .info(let info) = try client.call(.info(session: session)), info.storeVersion != 0 { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw CommandFailure("replica \(r.number) did not publish \(session) within 120 s")
    }

    // MARK: Output

    private func describe(_ s: ReplicaSample, document: String, replica: Int, repeat n: Int) -> String {
        String(format: "%@ repeat %d: replica 1 load + publish %.2f s (publish %.0f ms, %@); replica %d: first ask %.3f s (store %.0f ms, %@), own load %.2f s + ask %.3f s; %@",
               document, n, s.sharedLoad, s.publishMs, mib(s.publishBytes), replica, s.remoteAsk, s.storeMs, mib(s.storeBytes),
               s.localLoad, s.localAsk, s.identical ? "same tokens" : "DIFFERENT tokens")
    }

    private func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

    private func reportReplicas(_ summaries: [ReplicaSummary], workload: ServeWorkload, store: String, prefix: String) {
        let modelName = URL(fileURLWithPath: modelOptions.path).lastPathComponent
        if json {
            printSnakeCaseJSON(ReplicasReport(
                model: modelName, press: press, replicas: replicas, store: Self.hidingPassword(store), storePrefix: prefix,
                documents: documents, documentTokens: documentTokens, maxNewTokens: maxNewTokens, repeats: repeats, threads: threads,
                cpu: MachineDescription.cpuModelName, cores: ProcessInfo.processInfo.activeProcessorCount, kernels: CPULevel.current.rawValue,
                results: summaries.map { ReplicasReport.Result($0, document: workload.documents[$0.document].session) }))
            return
        }
        print("\(modelName), press \(press), \(replicas) replicas sharing \(Self.hidingPassword(store)) (prefix \(prefix)), \(documents) document(s) of ~\(documentTokens) tokens, \(maxNewTokens) new tokens, \(threads) threads each, median of \(repeats) repeat(s), A and B interleaved")
        print("CPU: \(MachineDescription.summary)")
        print("| document | tokens | kept | replica | remote first ask | its store_ms | fetched | its TTFT | local load | its ask | remote first ask / local load | same tokens | correct (remote, local) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for s in summaries {
            print(String(format: "| %@ | %d | %d | %d | %.3f s | %.0f ms | %@ | %.3f s | %.2f s | %.3f s | %.4f× | %d/%d | %d/%d, %d/%d |",
                         workload.documents[s.document].session, s.contextTokens, s.keptTokens, s.replica, s.median(\.remoteAsk),
                         s.median(\.storeMs), mib(Int(s.median { Double($0.storeBytes) })), s.median(\.remoteFirstToken),
                         s.median(\.localLoad), s.median(\.localAsk), s.ratio, s.identicalCount, s.samples.count,
                         s.samples.filter(\.remoteCorrect).count, s.samples.count, s.samples.filter(\.localCorrect).count, s.samples.count))
        }
        for s in summaries where s.replica == 2 {
            print(String(format: "%@ on replica 1, load with shared: %.2f s, of which publish %.0f ms (%@)",
                         workload.documents[s.document].session, s.median(\.sharedLoad), s.median(\.publishMs),
                         mib(Int(s.median { Double($0.publishBytes) }))))
        }
        if summaries.contains(where: { $0.identicalCount != $0.samples.count }) {
            print("WARNING: some remote and local answers differ in their tokens (same press, same document: they must not)")
        }
    }

    /// A store URL with its password replaced by `***`.
    static func hidingPassword(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        guard let at = authority.lastIndex(of: "@") else { return url }
        let userInfo = authority[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}
