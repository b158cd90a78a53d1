import Foundation
import XCTest
@testable import KVServer

/// What a restart finds in the state directory (issue 15): temporaries of killed saves, the
/// sessions' metadata.
extension InMemoryServerTests {
    var stateDir: URL { dir.appendingPathComponent("state") }

    func restart() throws {
        var done = false
        server.shutdown { done = true }
        loop.run(until: { done })
        try makeServer()
    }

    /// A SIGKILL during a save leaves `.<id>.kvds.tmp-<pid>`; the next start removes it unless its
    /// writer is still alive.
    func testStartRemovesTemporariesOfKilledSaves() throws {
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        let stale = [".a.kvds.tmp-\(dead.processIdentifier)", ".b.kvds.tmp-\(getpid())"]
        let kept = [".c.kvds.tmp-\(getppid())", ".notes", "d.kvds.tmp-x"]
        for name in stale + kept {
            try Data(repeating: 7, count: 1000).write(to: stateDir.appendingPathComponent(name))
        }
        try makeServer()
        let left = try FileManager.default.contentsOfDirectory(atPath: stateDir.path).sorted()
        XCTAssertEqual(left, kept.sorted(), "a live writer's temporary and other files stay")
    }

    /// Asks and the creation time survive a restart (they were saved as 0 and 1970), also for a
    /// session asked again after it was restored.
    func testAsksAndCreationTimeSurviveRestarts() throws {
        let c = Client(server)
        let before = Date().timeIntervalSince1970
        roundTrip(c, Request(id: 1, .load(LoadRequest(session: "s", document: "a b c"))))
        roundTrip(c, Request(id: 2, .ask(AskRequest(session: "s", question: "q", maxNewTokens: 1))))
        roundTrip(c, Request(id: 3, .ask(AskRequest(session: "s", question: "q", maxNewTokens: 1))))
        guard case .info(let original) = roundTrip(c, Request(id: 4, .info(session: "s"))).body else { return XCTFail() }
        XCTAssertGreaterThanOrEqual(original.createdUnix, before)
        try restart()
        let d = Client(server)
        guard case .info(let saved) = roundTrip(d, Request(id: 1, .info(session: "s"))).body else { return XCTFail() }
        XCTAssertEqual(saved.asks, 2)
        XCTAssertEqual(saved.createdUnix, original.createdUnix)
        roundTrip(d, Request(id: 2, .ask(AskRequest(session: "s", question: "q", maxNewTokens: 1))))
        try restart()
        let e = Client(server)
        guard case .info(let again) = roundTrip(e, Request(id: 1, .info(session: "s"))).body else { return XCTFail() }
        XCTAssertEqual(again.asks, 3)
        XCTAssertEqual(again.createdUnix, original.createdUnix)
    }
}

extension InMemoryServerTests {
    /// A snapshot whose header cannot be read (empty, truncated, corrupt JSON, a foreign file) is
    /// listed as damaged; using it answers FAILED_PRECONDITION naming the file; a load without
    /// replace leaves the file alone; drop and a replacing load clear it.
    func testDamagedSnapshotsAreListedAndNeverOverwritten() throws {
        var info = SessionInfo()
        info.model = "fake"
        let good = stateDir.appendingPathComponent("good.kvds")
        try SnapshotFile.write(to: good, header: try JSONEncoder().encode(info), payload: Array(repeating: 65, count: 500))
        let files: [String: Data] = [
            "empty": Data(),
            "cut": try Data(contentsOf: good).prefix(100),
            "json": Data(),
            "foreign": Data("#!/bin/sh\necho hello\n".utf8),
        ]
        for (id, data) in files where id != "json" { try data.write(to: stateDir.appendingPathComponent(id + ".kvds")) }
        try SnapshotFile.write(to: stateDir.appendingPathComponent("json.kvds"), header: Data("{\"session\": ".utf8), payload: [1, 2])
        try makeServer()

        let c = Client(server)
        guard case .sessions(let list) = roundTrip(c, Request(id: 1, .sessions)).body else { return XCTFail() }
        XCTAssertEqual(list.map(\.session), ["cut", "empty", "foreign", "good", "json"])
        XCTAssertEqual(list.map(\.state), [.damaged, .damaged, .damaged, .saved, .damaged])

        var n: UInt64 = 10
        for id in files.keys.sorted() {
            let path = stateDir.appendingPathComponent(id + ".kvds").path
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            for op: Request.Operation in [.ask(AskRequest(session: id, question: "q")), .info(session: id), .restore(session: id),
                                          .save(session: id), .load(LoadRequest(session: id, document: "new text"))] {
                n += 1
                let r = roundTrip(c, Request(id: n, op))
                XCTAssertEqual(errorCode(r), .failedPrecondition, "\(op.name) \(id): \(r)")
                XCTAssertTrue(r.body.errorMessage.contains(path), "\(op.name) \(id): \(r.body.errorMessage)")
            }
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before, "\(id): never overwritten without replace")
        }
        XCTAssertEqual(roundTrip(c, Request(id: 100, .drop(session: "empty"))).body, .drop(dropped: true))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stateDir.appendingPathComponent("empty.kvds").path))
        XCTAssertNil(errorCode(roundTrip(c, Request(id: 101, .load(LoadRequest(session: "cut", document: "new text", replace: true))))))
        guard case .ask(let a) = roundTrip(c, Request(id: 102, .ask(AskRequest(session: "cut", question: "q", maxNewTokens: 2)))).body else {
            return XCTFail("\(c.responses.last!)")
        }
        XCTAssertEqual(a.answer, "new text")
        XCTAssertEqual(roundTrip(c, Request(id: 103, .health)).body, .health(status: "serving", version: Server.version))
    }
}

extension InMemoryServerTests {
    /// A snapshot written by a kvd with other metrics (one missing from `info.loadMetrics`, one
    /// unknown; length and checksum correct) is a good snapshot: listed as saved, answered.
    func testASnapshotWithOtherMetricsIsServed() throws {
        let c = Client(server)
        roundTrip(c, Request(id: 1, .load(LoadRequest(session: "older", document: "red green blue"))))
        try restart()
        let url = stateDir.appendingPathComponent("older.kvds")
        let (header, payload) = try SnapshotFile.read(from: url)
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: header) as? [String: Any])
        var metrics = try XCTUnwrap(json["loadMetrics"] as? [String: Any])
        XCTAssertNotNil(metrics.removeValue(forKey: "meanBatchSize"))
        metrics["metricOfANewerKvd"] = 7
        json["loadMetrics"] = metrics
        try SnapshotFile.write(to: url, header: try JSONSerialization.data(withJSONObject: json), payload: payload)
        try restart()

        let d = Client(server)
        guard case .sessions(let list) = roundTrip(d, Request(id: 1, .sessions)).body else { return XCTFail() }
        XCTAssertEqual(list.map(\.state), [.saved])
        guard case .info(let info) = roundTrip(d, Request(id: 2, .info(session: "older"))).body else {
            return XCTFail("\(d.responses.last!)")
        }
        XCTAssertEqual(info.loadMetrics.meanBatchSize, 0)
        guard case .ask(let a) = roundTrip(d, Request(id: 3, .ask(AskRequest(session: "older", question: "q", maxNewTokens: 3)))).body else {
            return XCTFail("\(d.responses.last!)")
        }
        XCTAssertEqual(a.answer, "red green blue")
    }
}
