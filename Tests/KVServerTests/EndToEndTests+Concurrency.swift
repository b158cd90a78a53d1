import Foundation
import XCTest
@testable import KVServer
import KVSystem

/// Many clients at once on a real kvd: concurrent asks on one session answer exactly as the same
/// asks one at a time (greedy), they share forward steps, and an ask sent while a long document
/// loads is answered before that load ends.
extension EndToEndTests {
    func testConcurrentAsksAnswerAsSequentialOnesAndRunDuringALoad() throws {
        try requireModel()
        let daemon = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath])
        defer { daemon.terminate() }
        let client = try daemon.client()
        let document = try Self.document
        guard case .load = try client.call(.load(LoadRequest(session: "k", document: document))).body else { return XCTFail(daemon.log) }
        @Sendable func ask(_ c: TestClient, _ q: String) throws -> AskResult {
            let r = try c.call(.ask(AskRequest(session: "k", question: q, maxNewTokens: Self.maxNewTokens)))
            guard case .ask(let a) = r.body else { throw CocoaError(.coderInvalidValue, userInfo: ["body": "\(r.body)"]) }
            return a
        }
        let alone = try Self.questions.map { try ask(client, $0).tokenIDs }
        for (answer, fact) in zip(try Self.questions.map { try ask(client, $0).answer }, Self.facts) {
            XCTAssertTrue(answer.contains(fact), "\(answer) should say \(fact)")
        }

        // Six clients, each asking the three questions, at once.
        let results = Locked<[(Int, [UInt32])]>([])
        let errors = Locked<[String]>([])
        let group = DispatchGroup()
        for c in 0..<6 {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    let mine = try daemon.client()
                    for i in 0..<Self.questions.count {
                        let q = (i + c) % Self.questions.count
                        let a = try ask(mine, Self.questions[q])
                        results.update { $0.append((q, a.tokenIDs)) }
                    }
                } catch { errors.update { $0.append("\(error)") } }
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 300), .success)
        XCTAssertEqual(errors.value, [])
        XCTAssertEqual(results.value.count, 18)
        for (q, tokens) in results.value { XCTAssertEqual(tokens, alone[q], "question \(q) asked concurrently") }
        guard case .stats(let stats) = try client.call(.stats).body else { return XCTFail() }
        XCTAssertGreaterThan(stats.meanBatchSize, 1.5, "concurrent asks shared forward steps")

        // An ask while a document three times as long loads.
        let long = Array(repeating: document, count: 3).joined(separator: "\n\n")
        let loader = try daemon.client()
        let loadID = loader.send(.load(LoadRequest(session: "long", document: long)))
        Thread.sleep(forTimeInterval: 0.5)
        let asked = Date()
        let during = try client.call(.ask(AskRequest(session: "k", question: Self.questions[0], maxNewTokens: Self.maxNewTokens)))
        let answeredAfter = Date().timeIntervalSince(asked)
        guard case .ask(let a) = during.body else { return XCTFail("\(during.body)") }
        XCTAssertEqual(a.tokenIDs, alone[0])
        var loadBody: Response.Body?
        while loadBody == nil, let r = try loader.receive() {
            if r.id == loadID && r.body.isFinal { loadBody = r.body }
        }
        guard case .load(let loaded)? = loadBody else { return XCTFail("\(String(describing: loadBody))") }
        let loadSeconds = (loaded.metrics.prefillMs + loaded.metrics.compressMs) / 1000
        XCTAssertLessThan(answeredAfter, loadSeconds, "the ask did not wait for the whole prefill")
        XCTAssertLessThan(a.metrics.queueMs, 2000, "the ask started at one of the load's layer boundaries")
    }
}
