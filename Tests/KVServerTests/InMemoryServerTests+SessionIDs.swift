import Foundation
import XCTest
@testable import KVServer

/// The session-id rule is KVWire's `SessionID`, applied by kvd itself (not by its backend) and by
/// kvctl wherever it makes a path from an id: both refuse the same ids with the same sentence.
extension InMemoryServerTests {
    static let refusedIDs = [".hidden", "..", "../etc/passwd", "a/b", "a b", "naïve", "ｉｄ", String(repeating: "x", count: 65)]

    func testKvdAndKvctlRefuseTheSameIDsWithTheSameText() throws {
        let c = Client(server)
        let kvctl = try Products.path("kvctl")
        for (n, id) in Self.refusedIDs.enumerated() {
            let expected = InvalidSessionID(id: id).wireError
            let load = roundTrip(c, Request(id: UInt64(2 * n + 1), .load(LoadRequest(session: id, document: "x"))))
            XCTAssertEqual(load.body, .error(expected), id)
            let info = roundTrip(c, Request(id: UInt64(2 * n + 2), .info(session: id)))
            XCTAssertEqual(info.body, .error(expected), id)

            let process = Process()
            process.executableURL = URL(fileURLWithPath: kvctl)
            process.arguments = ["telemetry", id, "--telemetry-dir", dir.path]
            let out = try process.runCapturingOutput()
            XCTAssertEqual(out.status, 3, "\(id): \(out.transcript)")
            XCTAssertEqual(out.stderr, "kvctl: \(DaemonClientError.daemon(expected))\n", "kvctl prints it as any refusal from kvd: \(id)")
        }
        XCTAssertEqual(backend.loads, 0, "no refused id reaches the backend")
    }
}
