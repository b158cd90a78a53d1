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
