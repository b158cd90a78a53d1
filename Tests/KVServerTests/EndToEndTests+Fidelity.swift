import Foundation
import KVEngine
import KVModel
import KVPress
import XCTest
@testable import KVServer

/// End-to-end: the fidelity a load reports, compression by target fidelity, and a query-aware
/// session (the question compressed with the document) through a real kvd and a restart.
extension EndToEndTests {
    func testFidelityTargetAndQueryAwareSessions() throws {
        try requireModel()
        let document = try Self.document
        let model = try Model(path: Self.modelPath)
        let question = Self.questions[0]
        let reference = try Session.load(id: try SessionID("qa"), model: model, document: document, question: question,
                                         press: try PressSpec.parse("snapkv:ratio=0.5"))
        let expected = try reference.ask(question: "", parameters: GenerateParameters(maxNewTokens: Int(Self.maxNewTokens)))
        XCTAssertTrue(expected.answer.contains(Self.facts[0]), expected.answer)

        var daemon: DaemonProcess? = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath])
        let client = try daemon!.client()
        func load(_ request: LoadRequest) throws -> LoadResult {
            let r = try client.call(.load(request))
            guard case .load(let l) = r.body else {
                XCTFail("load: \(r.body)\n\(daemon!.log)")
                throw CocoaError(.featureUnsupported)
            }
            return l
        }
        // kvzip measures its fidelity; a target chooses the ratio and reaches the fidelity asked.
        let kvzip = try load(LoadRequest(session: "z", document: document, press: Self.press))
        XCTAssertGreaterThan(kvzip.metrics.fidelity, 0.5)
        XCTAssertLessThan(kvzip.metrics.fidelity, 1)
        XCTAssertEqual(kvzip.metrics.achievedRatio, 0.75, accuracy: 0.01)
        let target = try load(LoadRequest(session: "t", document: document, press: "fidelity:target=0.95"))
        XCTAssertGreaterThanOrEqual(target.metrics.fidelity, 0.95)
        XCTAssertGreaterThan(target.metrics.achievedRatio, 0.2)
        XCTAssertEqual(target.session.compressionRatio, target.metrics.achievedRatio, accuracy: 1e-9)
        let asked = try client.call(.ask(AskRequest(session: "t", question: question, maxNewTokens: Self.maxNewTokens)))
        guard case .ask(let targetAnswer) = asked.body else { return XCTFail("\(asked.body)") }
        XCTAssertTrue(targetAnswer.answer.contains(Self.facts[0]), targetAnswer.answer)
        XCTAssertEqual(targetAnswer.metrics.fidelity, target.metrics.fidelity, "an answer carries its session's fidelity")
        let info = try client.call(.info(session: "t"))
        guard case .info(let described) = info.body else { return XCTFail("\(info.body)") }
        XCTAssertEqual(described.loadMetrics.fidelity, target.metrics.fidelity)
        let snap = try load(LoadRequest(session: "s", document: document, press: "snapkv:ratio=0.5"))
        XCTAssertEqual(snap.metrics.fidelity, 0, "snapkv measures none")
        XCTAssertEqual(snap.metrics.achievedRatio, 0.5, accuracy: 0.01)

        // Query-aware: the empty question answers the compressed one, exactly as in-process.
        let qa = try load(LoadRequest(session: "qa", document: document, press: "snapkv:ratio=0.5", question: question))
        XCTAssertEqual(Int(qa.session.contextTokens), reference.contextTokenIDs.count)
        func ask(_ session: String, _ q: String) throws -> Response.Body {
            try client.call(.ask(AskRequest(session: session, question: q, maxNewTokens: Self.maxNewTokens))).body
        }
        guard case .ask(let answered) = try ask("qa", "") else { return XCTFail("query-aware ask failed\n\(daemon!.log)") }
        XCTAssertEqual(answered.tokenIDs, expected.tokenIDs.map(UInt32.init))
        XCTAssertEqual(try ask("s", "").errorCode, .invalidArgument, "a plain session needs its question")
        let blank = try client.call(.load(LoadRequest(session: "b", document: document, question: " ")))
        XCTAssertEqual(blank.body.errorCode, .invalidArgument)

        // A restart keeps the session query-aware.
        XCTAssertEqual(daemon!.terminate(), 0, daemon!.log)
        daemon = nil
        let restarted = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath])
        defer { restarted.terminate() }
        let again = try restarted.client().call(.ask(AskRequest(session: "qa", question: "", maxNewTokens: Self.maxNewTokens)))
        guard case .ask(let a) = again.body else { return XCTFail("\(again.body)\n\(restarted.log)") }
        XCTAssertEqual(a.tokenIDs, answered.tokenIDs)
    }
}
