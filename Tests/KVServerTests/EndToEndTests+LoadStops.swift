import Foundation
import KVEngine
import XCTest
@testable import KVServer
import KVServerEngine

/// Loads obey deadlines and cancellation and leave nothing behind (issue 15, item 6: a 2439-token
/// load with deadline_ms=50 succeeded after 11.9 s; a cancelled load still created its session).
extension EndToEndTests {
    /// The engine stops between layers of the prefill as soon as it is asked to.
    func testALoadStopsBetweenLayers() throws {
        try requireModel()
        let backend = try EngineBackend(modelPaths: [Self.modelPath], threads: 0, logger: .init(label: "test"))
        var checks = 0
        XCTAssertThrowsError(try backend.load(backend.prepare(LoadRequest(session: "s", document: try Self.document)), shouldStop: {
            checks += 1
            return checks > 3 ? .deadline : nil
        }, betweenLayers: {})) { XCTAssertEqual($0 as? ServerError, .loadStopped(.deadline)) }
        XCTAssertEqual(checks, 4, "asked once before the prefill, then once per layer until told to stop")
    }

    func testALoadPastItsDeadlineOrCancelledKeepsNothing() throws {
        try requireModel()
        let daemon = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath])
        defer { daemon.terminate() }
        let long = Array(repeating: try Self.document, count: 4).joined(separator: "\n\n")
        let client = try daemon.client()
        let start = Date()
        let late = try client.call(.load(LoadRequest(session: "late", document: long)), deadlineMs: 50)
        XCTAssertEqual(late.body.errorCode, .deadlineExceeded, "\(late.body)")
        XCTAssertTrue(late.body.errorMessage.contains("nothing was kept"), late.body.errorMessage)
        XCTAssertLessThan(Date().timeIntervalSince(start), 4, "stopped within a layer or two, not after the whole prefill")

        let id = client.send(.load(LoadRequest(session: "cancelled", document: long)))
        Thread.sleep(forTimeInterval: 0.3)
        let cancel = client.send(.cancel(targetID: id))
        var answers: [UInt64: Response.Body] = [:]
        while answers[id] == nil || answers[cancel] == nil, let r = try client.receive() { answers[r.id] = r.body }
        XCTAssertEqual(answers[cancel], .cancel(cancelled: true))
        XCTAssertEqual(answers[id]?.errorCode, .cancelled, "\(String(describing: answers[id]))")

        guard case .sessions(let list) = try client.call(.sessions).body else { return XCTFail() }
        XCTAssertEqual(list.map(\.session), [], "neither load left a session")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: daemon.stateDir), [])
    }
}
