import Foundation
import XCTest
@testable import KVServer

/// What a restart finds in the state directory (issue 15): temporaries of killed saves, the
/// sessions' metadata.
extension InMemoryServerTests {
    var stateDir: URL { dir.appendingPathComponent("state") }

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
}
