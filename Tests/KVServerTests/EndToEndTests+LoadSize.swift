import Foundation
import KVEngine
import KVModel
import XCTest
@testable import KVServer

/// A load is sized from its real token count before anything is evicted or prefilled (issue 15,
/// item 11: a guess of 4 bytes per token refused a 15 MB document as "needs 90 GB of KV cache",
/// and let a digit-dense document evict another session, prefill, and only then be refused).
extension EndToEndTests {
    func testALoadIsSizedFromItsTokensBeforeEvictingOrPrefilling() throws {
        try requireModel()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let model = try Model(path: Self.modelPath)
        let c = model.config
        let perToken = c.layerCount * c.headCountKV * 2 * c.headDimension * 2
        let digits = (0..<600).map { String(format: "%04d", $0 * 7919 % 10000) }.joined(separator: " ")
        let digitTokens = try Session.contextTokens(model: model, document: digits).count
        XCTAssertGreaterThan(digitTokens, digits.utf8.count / 2, "digits are dense: far more than 4 bytes a token")
        let budget = digitTokens * perToken * 3 / 4  // the small session fits; the digits never do
        let daemon = try DaemonProcess(directory: dir, extraArguments: ["--model", Self.modelPath, "--memory-budget", "\(budget)"])
        defer { daemon.terminate() }
        let client = try daemon.client()
        guard case .load = try client.call(.load(LoadRequest(session: "small", document: "A short note about the lighthouse."))).body else {
            return XCTFail(daemon.log)
        }

        let start = Date()
        let refused = try client.call(.load(LoadRequest(session: "digits", document: digits)))
        XCTAssertEqual(refused.body.errorCode, .resourceExhausted, "\(refused.body)")
        XCTAssertTrue(refused.body.errorMessage.contains("needs \(digitTokens * perToken) bytes"), refused.body.errorMessage)
        XCTAssertLessThan(Date().timeIntervalSince(start), 3, "refused before a prefill")
        guard case .info(let small) = try client.call(.info(session: "small")).body else { return XCTFail() }
        XCTAssertEqual(small.state, .resident, "nothing was evicted for a load that could not fit")

        // A document far past the context window: its real length, not a guess at its cache.
        let huge = String(repeating: try Self.document + "\n", count: 1500)  // about 5 MB
        let tooLong = try client.call(.load(LoadRequest(session: "huge", document: huge)))
        XCTAssertEqual(tooLong.body.errorCode, .invalidArgument, "\(tooLong.body)")
        XCTAssertTrue(tooLong.body.errorMessage.contains("tokens but at most \(c.contextLength - Session.reservedPositions) fit"), tooLong.body.errorMessage)
        XCTAssertEqual(try daemon.telemetry("small").map { $0["event"] ?? "" }, ["load"])
    }
}
