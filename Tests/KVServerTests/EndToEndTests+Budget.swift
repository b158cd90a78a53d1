import Foundation
import KVEngine
import KVModel
import XCTest
@testable import KVServer
import KVSystem

/// The memory budget holds on a real kvd while asks run (reliability issue, item 2: with
/// `--memory-budget 25M`, four sessions and four concurrent asks, one per session, all four became
/// resident, 61 MB, 2.3 times the budget, and stayed so when idle).
extension EndToEndTests {
    func testConcurrentAsksOnSavedSessionsKeepKvdUnderItsBudget() throws {
        try requireModel()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let document = try Self.document
        let model = try Model(path: Self.modelPath)
        let c = model.config
        let sessionBytes = try Session.contextTokens(model: model, document: document).count
            * c.layerCount * c.headCountKV * 2 * c.headDimension * 2
        let budget = sessionBytes * 3 / 2  // one session fits, two do not
        let daemon = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath, "--memory-budget", "\(budget)"])
        defer { daemon.terminate() }
        let client = try daemon.client()
        let ids = ["s1", "s2", "s3", "s4"]
        for id in ids {
            guard case .load(let l) = try client.call(.load(LoadRequest(session: id, document: document))).body else { return XCTFail(daemon.log) }
            XCTAssertEqual(Int(l.session.kvBytes), sessionBytes)
        }

        // stats, polled while the four asks run: resident KV bytes never pass the budget.
        let peak = Locked(0)
        let asking = Locked(true)
        let poller = Thread {
            guard let watcher = try? daemon.client() else { return }
            while asking.value {
                if case .stats(let s)? = try? watcher.call(.stats).body { peak.update { $0 = max($0, Int(s.kvBytes)) } }
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        poller.start()
        let answers = Locked<[String: String]>([:])
        let errors = Locked<[String]>([])
        let group = DispatchGroup()
        for id in ids {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    let r = try daemon.client().call(.ask(AskRequest(session: id, question: Self.questions[0], maxNewTokens: Self.maxNewTokens)))
                    guard case .ask(let a) = r.body else { return errors.update { $0.append("\(id): \(r.body)") } }
                    answers.update { $0[id] = a.answer }
                } catch { errors.update { $0.append("\(id): \(error)") } }
            }.start()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 300), .success)
        asking.update { $0 = false }
        XCTAssertEqual(errors.value, [], daemon.log)
        for id in ids { XCTAssertTrue(answers.value[id]?.contains(Self.facts[0]) == true, "\(id): \(String(describing: answers.value[id]))") }
        XCTAssertLessThanOrEqual(peak.value, budget, "resident KV bytes while the asks ran")
        guard case .stats(let after) = try client.call(.stats).body else { return XCTFail() }
        XCTAssertLessThanOrEqual(Int(after.kvBytes), budget, "and once they ended")
        XCTAssertEqual(after.sessionsResident, 1)
        XCTAssertEqual(after.memoryBudgetBytes, UInt64(budget))
    }
}
