import Foundation
import KVEngine
import KVModel
import KVPress
import XCTest
@testable import KVServer
import KVServerEngine
#if canImport(Glibc)
import Glibc
#endif

/// End-to-end: a real kvd process on a temporary socket with the default model, doing the main
/// job (`scripts/demo`): the sample document under kvzip at 0.75, the demo's three questions.
final class EndToEndTests: XCTestCase {
    static let press = "kvzip:compression_ratio=0.75"
    static let questions = [
        "Who designed the lighthouse at Kestrel Point?",
        "When was the light first lit?",
        "Who was the last keeper of the lighthouse?",
    ]
    /// What each answer must say (the document: Thomas Hale; 14 October 1872; Margaret Owen).
    static let facts = ["Thomas Hale", "1872", "Margaret Owen"]
    static let maxNewTokens: UInt32 = 24

    var dir: URL!

    override func setUpWithError() throws {
        dir = URL(fileURLWithPath: "/tmp").appendingPathComponent("kvd-e2e-\(UUID().uuidString.prefix(8))")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: dir)
    }

    static var document: String {
        get throws {
            try String(contentsOf: Products.repository.appendingPathComponent("samples/kestrel-point-lighthouse.txt"), encoding: .utf8)
        }
    }

    static var modelPath: String { DefaultModel.path }

    /// Fails the test (never skips it) when the default model is missing.
    static func requireModel() throws {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            XCTFail("the default model is not installed at \(modelPath); run scripts/fetch-model")
            throw CocoaError(.fileNoSuchFile)
        }
    }

    func requireModel() throws { try Self.requireModel() }

    /// A kvd on the default model, in the test's directory, with `config` as its kvd.conf.
    func daemon(config: String) throws -> DaemonProcess {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let conf = dir.appendingPathComponent("kvd.conf")
        try config.write(to: conf, atomically: true, encoding: .utf8)
        return try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath, "--config", conf.path])
    }

    /// load → three asks equal the in-process library's; tokens stream before the answer completes;
    /// telemetry rows carry the right counts; SIGTERM saves, a restart restores (no prefill) and
    /// answers identically.
    func testLoadAskStreamTelemetryRestart() throws {
        try requireModel()
        let document = try Self.document

        // The in-process reference.
        let model = try Model(path: Self.modelPath)
        let reference = try Session.load(id: try SessionID("ref"), model: model, document: document, press: try PressSpec.parse(Self.press))
        let expected = try Self.questions.map {
            try reference.ask(question: $0, parameters: GenerateParameters(maxNewTokens: Int(Self.maxNewTokens))).answer
        }

        var daemon: DaemonProcess? = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath])
        let client = try daemon!.client()
        let loaded = try client.call(.load(LoadRequest(session: "kestrel", document: document, press: Self.press)))
        guard case .load(let load) = loaded.body else { return XCTFail("load: \(loaded.body)\n\(daemon!.log)") }
        XCTAssertEqual(Int(load.session.contextTokens), reference.loadMetrics.contextTokens)
        XCTAssertEqual(Int(load.session.keptTokens), reference.loadMetrics.keptTokens)
        XCTAssertEqual(Int(load.session.kvBytes), reference.loadMetrics.kvBytes)

        var answers: [AskResult] = []
        for q in Self.questions {
            let r = try client.call(.ask(AskRequest(session: "kestrel", question: q, maxNewTokens: Self.maxNewTokens, stream: true)))
            guard case .ask(let a) = r.body else { return XCTFail("ask: \(r.body)") }
            answers.append(a)
            // Streaming: several token messages, the first well before the final one.
            XCTAssertGreaterThan(r.tokens.count, 1)
            XCTAssertEqual(r.tokens.map(\.0.text).joined(), a.answer)
            if let first = r.tokens.first?.1 { XCTAssertLessThan(first, r.finalAt) }
            if a.tokenIDs.count > 4, let first = r.tokens.first?.1 {
                XCTAssertGreaterThan(r.finalAt.timeIntervalSince(first), 0.005, "tokens must arrive while the answer is still being generated")
            }
        }
        XCTAssertEqual(answers.map(\.answer), expected)
        for (a, fact) in zip(answers, Self.facts) {
            XCTAssertTrue(a.answer.contains(fact), "the main job's answer must say \(fact): \(a.answer)")
        }

        // Telemetry: one load row and three ask rows with consistent numbers.
        let rows = try daemon!.telemetry("kestrel")
        XCTAssertEqual(rows.map { $0["event"] ?? "" }, ["load", "ask", "ask", "ask"])
        let loadRow = rows[0]
        let context = Double(loadRow["context_tokens"] ?? "") ?? 0
        let kept = Double(loadRow["kept_tokens"] ?? "") ?? 0
        let kv = Double(loadRow["kv_bytes"] ?? "") ?? 0
        let kvFull = Double(loadRow["kv_bytes_uncompressed"] ?? "") ?? 0
        XCTAssertEqual(kept / context, 0.25, accuracy: 0.01)
        XCTAssertEqual(kv / kvFull, kept / context, accuracy: 0.01, "kv_bytes must follow the ratio")
        XCTAssertGreaterThan(Double(loadRow["prefill_ms"] ?? "") ?? 0, 0)
        for (row, a) in zip(rows.dropFirst(), answers) {
            XCTAssertEqual(Int(row["generated_tokens"] ?? ""), a.tokenIDs.count)
            XCTAssertEqual(Int(row["question_tokens"] ?? ""), Int(a.metrics.questionTokens))
            XCTAssertGreaterThan(Int(row["rss_bytes"] ?? "") ?? 0, 0)
        }

        // kvctl against the live daemon.
        let kvctl = try Products.path("kvctl")
        let streamed = try run(kvctl, ["ask", "--socket", daemon!.socket, "--session", "kestrel", "--max-new-tokens", "\(Self.maxNewTokens)", Self.questions[0]])
        XCTAssertEqual(streamed.status, 0)
        XCTAssertEqual(streamed.stdout, expected[0] + "\n")
        let listed = try run(kvctl, ["--socket", daemon!.socket, "--json", "sessions"])
        XCTAssertTrue(listed.stdout.hasPrefix("{\"sessions\":[{"), listed.stdout)
        XCTAssertEqual(listed.stdout.split(separator: "\n").count, 1, "--json prints one object")

        // Restart: SIGTERM saves, the new daemon restores lazily without prefilling.
        XCTAssertEqual(daemon!.terminate(), 0, daemon!.log)
        XCTAssertTrue(FileManager.default.fileExists(atPath: daemon!.stateDir + "/kestrel.kvds"))
        daemon = nil
        let restarted = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath])
        defer { restarted.terminate() }
        let c2 = try restarted.client()
        guard case .info(let info) = try c2.call(.info(session: "kestrel")).body else { return XCTFail() }
        XCTAssertEqual(info.state, .saved)
        let started = Date()
        let again = try c2.call(.ask(AskRequest(session: "kestrel", question: Self.questions[0], maxNewTokens: Self.maxNewTokens)))
        let askSeconds = Date().timeIntervalSince(started)
        guard case .ask(let a2) = again.body else { return XCTFail("\(again.body)\n\(restarted.log)") }
        XCTAssertEqual(a2.answer, expected[0])
        XCTAssertEqual(a2.tokenIDs, answers[0].tokenIDs)
        let after = try restarted.telemetry("kestrel").map { $0["event"] ?? "" }
        XCTAssertEqual(Array(after.suffix(3)), ["save", "restore", "ask"], "a restore, not a load")
        XCTAssertEqual(after.filter { $0 == "load" }.count, 1)
        let loadMs = Double(loadRow["prefill_ms"] ?? "") ?? 0
        let afterRows = try restarted.telemetry("kestrel")
        XCTAssertEqual(Double(afterRows[afterRows.count - 2]["prefill_ms"] ?? ""), 0, "a restore prefills nothing")
        let askPrefill = Double(afterRows[afterRows.count - 1]["prefill_ms"] ?? "") ?? .infinity
        XCTAssertLessThan(askPrefill, loadMs / 4, "the first ask after a restart prefills only the question")
        print("restart: first ask \(Int(askSeconds * 1000)) ms (restore included) vs context prefill \(Int(loadMs)) ms")
    }

    /// Every kind of bad input is answered with the right code while the daemon keeps serving.
    func testErrorsAreAnsweredAndTheDaemonKeepsServing() throws {
        try requireModel()
        let daemon = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath, "--max-frame", "256K"])
        defer { daemon.terminate() }
        let good = try daemon.client()
        let short = "The harbour of Marrow Bay has one lighthouse, built of granite in 1872 by the engineer Thomas Hale."
        guard case .load = try good.call(.load(LoadRequest(session: "good", document: short))).body else { return XCTFail(daemon.log) }
        func stillServing(_ line: UInt = #line) throws {
            let r = try good.call(.ask(AskRequest(session: "good", question: "Who built it?", maxNewTokens: 4)))
            guard case .ask = r.body else { return XCTFail("daemon stopped serving: \(r.body)", line: line) }
        }
        func code(_ op: Request.Operation) throws -> (WireCode?, String) {
            let c = try daemon.client()
            let r = try c.call(op)
            return (r.body.errorCode, r.body.errorMessage)
        }

        // Malformed frame: garbage protobuf → INVALID_ARGUMENT, same connection still works.
        let raw = try daemon.client()
        raw.writeRaw(FrameEncoder.frame([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]))
        XCTAssertEqual(try raw.receive()?.body.errorCode, .invalidArgument)
        guard case .health = try raw.call(.health).body else { return XCTFail("connection closed after a malformed frame") }

        // Oversized frame: refused from its header, connection closed.
        let big = try daemon.client()
        big.writeRaw([0x00, 0x10, 0x00, 0x00])
        XCTAssertEqual(try big.receive()?.body.errorCode, .resourceExhausted)
        XCTAssertNil(try big.receive(), "the daemon hangs up after an oversized frame")
        try stillServing()

        XCTAssertEqual(try code(.ask(AskRequest(session: "missing", question: "q"))).0, .notFound)
        let bad = try code(.load(LoadRequest(session: "../../etc/passwd", document: short)))
        XCTAssertEqual(bad.0, .invalidArgument)
        XCTAssertTrue(bad.1.contains("invalid session id"), bad.1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.telemetryDir + "/../../etc/passwd.csv"))
        let press = try code(.load(LoadRequest(session: "p", document: short, press: "squeeze")))
        XCTAssertEqual(press.0, .invalidArgument)
        XCTAssertTrue(press.1.contains("snapkv"), "lists the valid presses: \(press.1)")
        XCTAssertEqual(try code(.load(LoadRequest(session: "r", document: short, press: "knorm:compression_ratio=1.5"))).0, .invalidArgument)
        XCTAssertEqual(try code(.load(LoadRequest(session: "e", document: "   \n"))).0, .invalidArgument)
        let long = try code(.load(LoadRequest(session: "long", document: String(repeating: try Self.document + "\n", count: 16))))
        XCTAssertEqual(long.0, .invalidArgument)
        XCTAssertTrue(long.1.contains("context window"), long.1)
        XCTAssertEqual(try code(.load(LoadRequest(session: "good", document: short))).0, .alreadyExists)
        try stillServing()

        // Cancel: stop an ask in flight on the same connection.
        let c = try daemon.client()
        let askID = c.send(.ask(AskRequest(session: "good", question: "Describe the harbour in detail.", maxNewTokens: 200, stream: true)))
        var sawToken = false
        while !sawToken, let r = try c.receive() { if case .token = r.body { sawToken = true } }
        c.send(.cancel(targetID: askID), id: 1000)
        var cancelAck: Response.Body?, askFinal: Response.Body?
        while cancelAck == nil || askFinal == nil, let r = try c.receive() {
            if r.id == 1000 { cancelAck = r.body }
            if r.id == askID && r.body.isFinal { askFinal = r.body }
        }
        XCTAssertEqual(cancelAck, .cancel(cancelled: true))
        XCTAssertEqual(askFinal?.errorCode, .cancelled)

        // Disconnect mid-stream: the generation stops, others are served promptly.
        let gone = try daemon.client()
        gone.send(.ask(AskRequest(session: "good", question: "Describe the harbour in detail.", maxNewTokens: 400, stream: true)))
        while let r = try gone.receive() { if case .token = r.body { break } }
        gone.close()
        let t0 = Date()
        try stillServing()
        XCTAssertLessThan(Date().timeIntervalSince(t0), 3.0, "an abandoned 400-token answer must not keep the worker busy")
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertTrue(daemon.log.contains("disconnected"), "the cancelled ask is logged")

        // Deadline.
        XCTAssertEqual(try good.call(.ask(AskRequest(session: "good", question: "Describe it.", maxNewTokens: 400)), deadlineMs: 300).body.errorCode, .deadlineExceeded)
        try stillServing()
        guard case .stats(let s) = try good.call(.stats).body else { return XCTFail() }
        XCTAssertGreaterThanOrEqual(s.errors, 10)
        XCTAssertEqual(s.sessionsResident, 1)
    }

    /// 8 clients × 20 asks on 4 sessions at once: no error, RSS stable; prints p50/p99.
    func testLoadEightClientsTwentyAsksFourSessions() throws {
        try requireModel()
        let daemon = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath, "--log-level", "info"])
        defer { daemon.terminate() }
        let doc = try Self.document
        let paragraphs = doc.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        let setup = try daemon.client()
        for i in 0..<4 {
            let text = paragraphs[(1 + i) % paragraphs.count]
            guard case .load = try setup.call(.load(LoadRequest(session: "s\(i)", document: text, press: "knorm:compression_ratio=0.25"))).body else {
                return XCTFail(daemon.log)
            }
        }
        // Warm up, then measure memory.
        _ = try setup.call(.ask(AskRequest(session: "s0", question: "What is this about?", maxNewTokens: 4)))
        guard case .stats(let before) = try setup.call(.stats).body else { return XCTFail() }

        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var latencies: [Double] = []
            var failures: [String] = []
            var service: [Double] = []
        }
        let results = Results()
        let group = DispatchGroup()
        for clientIndex in 0..<8 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let c = try daemon.client()
                    for j in 0..<20 {
                        let session = "s\((clientIndex + j) % 4)"
                        let t0 = Date()
                        let r = try c.call(.ask(AskRequest(session: session, question: "Question \(j): what does the text say?", maxNewTokens: 4, stream: j % 2 == 0)))
                        let dt = Date().timeIntervalSince(t0)
                        results.lock.lock()
                        if case .ask(let a) = r.body { results.latencies.append(dt); results.service.append((a.metrics.ttftMs + a.metrics.decodeMs) / 1000) } else { results.failures.append("\(r.body)") }
                        results.lock.unlock()
                    }
                } catch {
                    results.lock.lock(); results.failures.append("\(error)"); results.lock.unlock()
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 240), .success)
        XCTAssertEqual(results.failures, [])
        XCTAssertEqual(results.latencies.count, 160)
        let sorted = results.latencies.sorted()
        let p50 = sorted[sorted.count / 2], p99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
        let service = results.service.sorted()
        guard case .stats(let after) = try setup.call(.stats).body else { return XCTFail() }
        print(String(format: "load test: 8 clients × 20 asks on 4 sessions: latency p50 %.0f ms, p99 %.0f ms, max %.0f ms (one ask computes in p50 %.0f ms; the rest is queueing behind the single worker); RSS %d → %d MiB", p50 * 1000, p99 * 1000, (sorted.last ?? 0) * 1000, service[service.count / 2] * 1000, before.rssBytes >> 20, after.rssBytes >> 20))
        XCTAssertLessThan(Double(after.rssBytes), Double(before.rssBytes) * 1.25 + 32e6, "RSS must stay stable")
        XCTAssertEqual(after.errors, 0)
    }

    /// A saved session whose fingerprint does not match the model is refused with the differences named.
    func testRestoringIntoADifferentModelIsAClearError() throws {
        try requireModel()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let backend = try EngineBackend(modelPaths: [Self.modelPath], threads: 0, logger: .init(label: "test"))
        let session = try backend.load(backend.prepare(LoadRequest(session: "fp", document: "A short text about lighthouses and ships.")), shouldStop: { nil },
                                       betweenLayers: {})
        let url = dir.appendingPathComponent("fp.kvds")
        var meta = session.info
        meta.asks = 3
        meta.createdUnix = 1_700_000_000
        _ = try session.save(to: url, info: meta)
        // The store's counters are in the snapshot (a restart once reported 0 asks, created in 1970).
        let saved = try backend.savedInfo(at: url)
        XCTAssertEqual(saved.asks, 3)
        XCTAssertEqual(saved.createdUnix, 1_700_000_000)
        // Round trip: same answer after restore.
        let ask = AskRequest(session: "fp", question: "What is the text about?", maxNewTokens: 8)
        let before = try backend.answer(ask, on: session)
        let restored = try backend.restore(session: "fp", from: url)
        XCTAssertEqual(try backend.answer(ask, on: restored).tokenIDs, before.tokenIDs)
        XCTAssertEqual(restored.info.kvBytes, session.info.kvBytes)
        func editHeader(_ change: (inout [String: Any]) -> Void) throws {
            let (header, payload) = try SnapshotFile.read(from: url)
            var json = try JSONSerialization.jsonObject(with: header) as! [String: Any]
            change(&json)
            try SnapshotFile.write(to: url, header: try JSONSerialization.data(withJSONObject: json), payload: payload)
        }
        // A model file renamed since the save: the session restores on the default model, whose
        // fingerprint matches.
        try editHeader { $0["modelName"] = "renamed-since" }
        XCTAssertEqual(try backend.answer(ask, on: try backend.restore(session: "fp", from: url)).tokenIDs, before.tokenIDs)
        // Tamper: another vocabulary and RoPE base, as a different model would have.
        try editHeader { json in
            var fp = json["fingerprint"] as! [String: Any]
            fp["vocabularyFingerprint"] = 12345
            fp["ropeFrequencyBase"] = 500000
            json["fingerprint"] = fp
        }
        XCTAssertThrowsError(try backend.restore(session: "fp", from: url)) { error in
            let wire = ErrorCodes.wireError(error)
            XCTAssertEqual(wire.code, .failedPrecondition)
            XCTAssertTrue(wire.message.contains("different model"), wire.message)
            XCTAssertTrue(wire.message.contains("vocabulary fingerprint"), wire.message)
            XCTAssertTrue(wire.message.contains("RoPE base"), wire.message)
        }
        // A flipped byte in the cache is caught by the checksum.
        var bytes = try Data(contentsOf: url)
        bytes[bytes.count - 100] ^= 0x40
        try bytes.write(to: url)
        XCTAssertThrowsError(try backend.restore(session: "fp", from: url)) {
            XCTAssertEqual(ErrorCodes.wireError($0).code, .failedPrecondition)
        }
    }

    /// kill -9 loses nothing saved: the saved session comes back after a crash; a torn temporary
    /// file is removed at start; a damaged snapshot is listed as damaged and never overwritten.
    func testKillNineNeverCorruptsSavedSessions() throws {
        try requireModel()
        var daemon = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath])
        let c = try daemon.client()
        let text = "The Sorrel Ledge is a reef a mile south-west of Kestrel Point. Eleven ships were wrecked there."
        guard case .load = try c.call(.load(LoadRequest(session: "k9", document: text))).body else { return XCTFail(daemon.log) }
        guard case .save = try c.call(.save(session: "k9")).body else { return XCTFail(daemon.log) }
        let ask = AskRequest(session: "k9", question: "What is the Sorrel Ledge?", maxNewTokens: 12)
        guard case .ask(let before) = try c.call(.ask(ask)).body else { return XCTFail() }
        try Data("half a snapsh".utf8).write(to: URL(fileURLWithPath: daemon.stateDir + "/.k9.kvds.tmp-99999"))
        try Data("KVDSNAP\u{0}garbage".utf8).write(to: URL(fileURLWithPath: daemon.stateDir + "/junk.kvds"))
        kill(daemon.process.processIdentifier, SIGKILL)
        daemon.process.waitUntilExit()
        daemon = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath])
        defer { daemon.terminate() }
        let c2 = try daemon.client()
        guard case .sessions(let list) = try c2.call(.sessions).body else { return XCTFail() }
        XCTAssertEqual(list.map(\.session), ["junk", "k9"])
        XCTAssertEqual(list.map(\.state), [.damaged, .saved])
        guard case .ask(let after) = try c2.call(.ask(ask)).body else { return XCTFail(daemon.log) }
        XCTAssertEqual(after.tokenIDs, before.tokenIDs)
        XCTAssertTrue(daemon.log.contains("junk.kvds"), "the damaged file is reported")
        // The damaged one answers FAILED_PRECONDITION naming its file, and a load does not overwrite it.
        let junk = try c2.call(.ask(AskRequest(session: "junk", question: "q")))
        XCTAssertEqual(junk.body.errorCode, .failedPrecondition)
        XCTAssertTrue(junk.body.errorMessage.contains(daemon.stateDir + "/junk.kvds"), junk.body.errorMessage)
        XCTAssertEqual(try c2.call(.load(LoadRequest(session: "junk", document: text))).body.errorCode, .failedPrecondition)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: daemon.stateDir + "/junk.kvds")), Data("KVDSNAP\u{0}garbage".utf8))
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.stateDir + "/.k9.kvds.tmp-99999"), "the killed save's temporary is removed")
    }

    /// A small memory budget evicts the least recently used session to disk, restored on use.
    /// (Peers outside the allow lists: `testPeersOutsideTheAllowListsAreRefused`.)
    func testMemoryBudgetEvictsTheLeastRecentlyUsedSession() throws {
        try requireModel()
        let text = String(try Self.document.prefix(400))
        let model = try Model(path: Self.modelPath)
        let mc = model.config
        let sessionBytes = try Session.contextTokens(model: model, document: text).count * mc.layerCount * mc.headCountKV * 2 * mc.headDimension * 2
        let budget = sessionBytes * 5 / 2  // two sessions fit, three do not
        let daemon = try self.daemon(config: "memory_budget = \(budget)\n")
        defer { daemon.terminate() }

        // The third load evicts the least recently used session.
        let client = try daemon.client()
        var infos: [SessionInfo] = []
        for name in ["m1", "m2", "m3"] {
            guard case .load(let l) = try client.call(.load(LoadRequest(session: name, document: text))).body else { return XCTFail(daemon.log) }
            infos.append(l.session)
        }
        XCTAssertEqual(Int(infos[0].kvBytes), sessionBytes)
        guard case .info(let m1) = try client.call(.info(session: "m1")).body else { return XCTFail() }
        XCTAssertEqual(m1.state, .saved)
        guard case .ask = try client.call(.ask(AskRequest(session: "m1", question: "What is this?", maxNewTokens: 3))).body else { return XCTFail(daemon.log) }
        guard case .stats(let s) = try client.call(.stats).body else { return XCTFail() }
        XCTAssertEqual(s.sessionsResident, 2)
        XCTAssertEqual(s.sessionsSaved, 1)
        XCTAssertEqual(try daemon.telemetry("m1").map { $0["event"] ?? "" }, ["load", "evict", "restore", "ask"])
    }

    func testKvctlWithoutDaemon() throws {
        let kvctl = try Products.path("kvctl")
        let sock = "/tmp/kvd-none-\(getpid()).sock"
        let r = try run(kvctl, ["health", "--socket", sock])
        XCTAssertEqual(r.status, 69)
        XCTAssertEqual(r.stderr, "kvctl: cannot connect to \(sock): is kvd running? (systemctl status kvd)\n")
        let env = try run(kvctl, ["sessions"], environment: ["KVD_SOCKET": sock])
        XCTAssertTrue(env.stderr.contains("cannot connect to \(sock)"))
        let bad = try run(kvctl, ["load", "s", "/dev/null", "--press", "squeeze"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("valid presses: knorm"), bad.stderr)
        // Parameters and values are checked against the catalog before connecting (exit 64, not 69).
        let value = try run(kvctl, ["load", "s", "/dev/null", "--press", "adakv(snapkv):alpha_safeguard=2", "--socket", sock])
        XCTAssertEqual(value.status, 64)
        XCTAssertTrue(value.stderr.contains("invalid value '2' for adakv.alpha_safeguard; expected a number in [0.0, 1.0]"), value.stderr)
        let budget = try run(kvctl, ["ask", "--session", "s", "--decoding", "h2o", "--cache-budget=-1", "Why?", "--socket", sock])
        XCTAssertEqual(budget.status, 64)
        XCTAssertTrue(budget.stderr.contains("invalid value '-1' for h2o.cache_budget; expected an integer ≥ 0"), budget.stderr)
    }

    func testSystemdUnitsVerify() throws {
        guard let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return XCTFail("systemd-analyze is not installed (scripts/install-deps installs systemd); the units were not verified")
        }
        let kvd = try Products.path("kvd")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for unit in ["kvd.service", "kvd.socket"] {
            var text = try String(contentsOf: Products.repository.appendingPathComponent("systemd/\(unit)"), encoding: .utf8)
            text = text.replacingOccurrences(of: "/usr/local/bin/kvd", with: kvd)
            try text.write(to: dir.appendingPathComponent(unit), atomically: true, encoding: .utf8)
        }
        let r = try run(analyze, ["verify", dir.appendingPathComponent("kvd.socket").path, dir.appendingPathComponent("kvd.service").path])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines), "", "systemd-analyze warnings: \(r.stderr)")
    }

    // MARK: Helpers

    struct RunResult { let status: Int32; let stdout: String; let stderr: String }

    func run(_ exe: String, _ args: [String], environment: [String: String] = [:]) throws -> RunResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["KVD_SOCKET"] = nil
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return RunResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}
