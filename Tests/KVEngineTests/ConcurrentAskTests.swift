import Foundation
import XCTest
import KVEngine
import KVWire
import KVModel
import KVPress

/// Many asks in one batch (`AskBatch`): on one session and across sessions, they answer token for
/// token as they do one at a time, leave the contexts untouched, and stop alone.
final class ConcurrentAskTests: XCTestCase {
    static let questions = [
        "What is the special magic number for river-gamma mentioned in the provided text?",
        "What is the text about?",
        "Name one Python keyword mentioned in the text.",
    ]
    static let parameters = GenerateParameters(maxNewTokens: 10)

    /// Loaded once: asks never change a session, so the tests share them.
    static let loaded = Result { () throws -> (Model, [Session]) in
        let model = try SessionTests.requireModel()
        let document = try SessionTests.goldenDocument(model).document
        let plain = try Session.load(id: SessionID("plain"), model: model, document: document, press: nil)
        let pressed = try Session.load(id: SessionID("pressed"), model: model, document: document,
                                       press: try PressSpec.parse("snapkv:ratio=0.5"), quantization: try KVCacheQuantization.parse("kivi:bits=4"))
        return (model, [plain, pressed])
    }

    func sessions() throws -> (Model, [Session]) { try Self.loaded.get() }

    func testBatchedAsksAnswerAsOneAtATime() throws {
        let (_, sessions) = try sessions()
        // One at a time: every question on every session.
        var alone: [[Int]] = []
        for s in sessions {
            for q in Self.questions { alone.append(try s.ask(question: q, parameters: Self.parameters).tokenIDs) }
        }
        let before = sessions.map { ($0.cache.entryCount, $0.cache.nextPosition, $0.cache.byteCount) }
        let askedBefore = sessions.map(\.askCount)
        // All at once, each question twice per session (two clients asking the same thing), with
        // prompts of different lengths and asks joining a step late.
        var asks: [(Int, SessionAsk)] = []
        for (i, s) in sessions.enumerated() {
            for (j, q) in Self.questions.enumerated() {
                asks.append((i * Self.questions.count + j, try s.startAsk(question: q, parameters: Self.parameters)))
            }
        }
        AskBatch.step(asks.map(\.1))
        for (i, s) in sessions.enumerated() {
            for (j, q) in Self.questions.enumerated() {
                asks.append((i * Self.questions.count + j, try s.startAsk(question: q, parameters: Self.parameters)))
            }
        }
        XCTAssertEqual(sessions.map(\.state), [.answering, .answering])
        var steps = 1
        while asks.contains(where: { !$0.1.isFinished }) {
            XCTAssertGreaterThan(AskBatch.step(asks.map(\.1)), 0)
            steps += 1
        }
        for (index, ask) in asks {
            let report = try ask.report()
            XCTAssertEqual(report.tokenIDs, alone[index], "ask \(index)")
            XCTAssertGreaterThan(report.metrics.meanBatchSize, 1)
        }
        XCTAssertLessThanOrEqual(steps, Self.parameters.maxNewTokens + 1, "every step advanced every ask")
        XCTAssertEqual(sessions.map { ($0.cache.entryCount, $0.cache.nextPosition, $0.cache.byteCount) }.map { "\($0)" },
                       before.map { "\($0)" }, "the contexts are unchanged")
        XCTAssertEqual(sessions.map(\.state), [.ready, .ready])
        XCTAssertEqual(sessions.map(\.askCount), askedBefore.map { $0 + 6 })
    }

    func testStoppingOneAskLeavesTheOthersIntact() throws {
        let (_, sessions) = try sessions()
        let s = sessions[0]
        let expected = try Self.questions.map { try s.ask(question: $0, parameters: Self.parameters).tokenIDs }
        var stopAfter = 3
        var streamed: [Int] = []
        let asks = try Self.questions.enumerated().map { i, q in
            try s.startAsk(question: q, parameters: Self.parameters,
                           shouldStop: { i == 1 && stopAfter == 0 ? .cancelled : nil },
                           onToken: { piece in if i == 1, let id = piece.tokenID { streamed.append(id) } })
        }
        while asks.contains(where: { !$0.isFinished }) {
            AskBatch.step(asks)
            stopAfter = max(0, stopAfter - 1)
        }
        XCTAssertEqual(try asks[0].report().tokenIDs, expected[0])
        XCTAssertEqual(try asks[2].report().tokenIDs, expected[2])
        let stopped = try asks[1].report()
        XCTAssertEqual(stopped.finishReason, .cancelled)
        XCTAssertEqual(stopped.tokenIDs, Array(expected[1].prefix(3)))
        XCTAssertEqual(streamed, stopped.tokenIDs)
    }

    func testAnAskThatCannotFitFailsAlone() throws {
        let (model, sessions) = try sessions()
        let s = sessions[0]
        let free = model.config.contextLength - s.cache.nextPosition
        let ok = try s.startAsk(question: Self.questions[1], parameters: Self.parameters)
        // Refused up front when the question and its budget cannot fit.
        XCTAssertThrowsError(try s.startAsk(question: Self.questions[1], parameters: GenerateParameters(maxNewTokens: free))) {
            XCTAssertTrue("\($0)".contains("question"), "\($0)")
        }
        while !ok.isFinished { AskBatch.step([ok]) }
        XCTAssertEqual(try ok.report().tokenIDs, try s.ask(question: Self.questions[1], parameters: Self.parameters).tokenIDs)
    }
}
