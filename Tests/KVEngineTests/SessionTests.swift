import Foundation
import XCTest
import KVEngine
import KVWire
import KVModel
import KVPress

/// The session API on the golden press document: kvpress's prompt split, answers, exact rollback.
final class SessionTests: XCTestCase {
    static let model = Result { try Model(path: DefaultModel.path) }
    static let question = "What is the special magic number for river-gamma mentioned in the provided text?"
    static let answerPrefix = "The special magic number for river-gamma mentioned in the provided text is"

    func model() throws -> Model { try Self.requireModel() }

    /// The default model; a failure (not a skip) when it is missing.
    static func requireModel() throws -> Model {
        guard FileManager.default.fileExists(atPath: DefaultModel.path) else {
            XCTFail("default model not found at \(DefaultModel.path): run scripts/fetch-model (or set KVD_MODEL)")
            throw CocoaError(.fileNoSuchFile)
        }
        return try Self.model.get()
    }

    func goldenDocument(_ model: Model) throws -> (document: String, contextIDs: [Int], questionIDs: [Int], answer: String) {
        try Self.goldenDocument(model)
    }

    /// The golden document, recovered from its context ids (the chat-template prefix removed).
    static func goldenDocument(_ model: Model) throws -> (document: String, contextIDs: [Int], questionIDs: [Int], answer: String) {
        let url = Bundle.module.url(forResource: "Fixtures/none", withExtension: "json")!
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let contextIDs = json["context_ids"] as! [Int]
        let prefix = try model.chatTemplate.get().kvpressPrompt(context: "x", question: "").context.dropLast()
        let text = model.tokenizer.decode(contextIDs)
        XCTAssertTrue(text.hasPrefix(prefix))
        return (String(text.dropFirst(prefix.count)), contextIDs, json["question_ids"] as! [Int], json["answer"] as! String)
    }

    func testPromptSplitReproducesKvpress() throws {
        let model = try model()
        let golden = try goldenDocument(model)
        XCTAssertEqual(try Session.contextTokens(model: model, document: golden.document), golden.contextIDs)
        let question = try model.chatTemplate.get().kvpressPrompt(context: "x", question: Self.question, answerPrefix: Self.answerPrefix).question
        XCTAssertEqual(model.tokenizer.encode(question), golden.questionIDs)
    }

    func testUncompressedAnswerMatchesReference() throws {
        let model = try model()
        let golden = try goldenDocument(model)
        let session = try Session.load(id: SessionID("none"), model: model, document: golden.document, press: nil)
        XCTAssertEqual(session.loadMetrics.contextTokens, golden.contextIDs.count)
        XCTAssertEqual(session.loadMetrics.keptTokens, golden.contextIDs.count)
        XCTAssertEqual(session.loadMetrics.fidelity, 1)
        XCTAssertEqual(session.loadMetrics.achievedRatio, 0)
        let report = try session.ask(question: Self.question, answerPrefix: Self.answerPrefix,
                                     parameters: GenerateParameters(maxNewTokens: 16))
        XCTAssertEqual(report.answer, golden.answer)
        XCTAssertTrue(report.answer.contains("4819233"))
    }

    /// kvd's ask and `TokenIterator` (which the generation goldens run) share `Generation`: over
    /// the same context, a seeded sampled answer has the same tokens, streamed pieces and text.
    func testAskGeneratesWhatTokenIteratorGenerates() throws {
        let model = try model()
        let golden = try goldenDocument(model)
        let session = try Session.load(id: SessionID("same"), model: model, document: golden.document, press: nil)
        let sampling = SamplingParameters(temperature: 0.9, topK: 40, repetitionPenalty: 1.1, seed: 3)
        let parameters = GenerateParameters(maxNewTokens: 12, sampling: sampling)
        var streamed: [GeneratedPiece] = []
        let report = try session.ask(question: Self.question, answerPrefix: Self.answerPrefix, parameters: parameters,
                                     onToken: { streamed.append($0) })

        var direct = parameters
        direct.stopTokens = model.stopTokens
        var iterator = TokenIterator(model: model, cache: session.cache.tail(), prompt: golden.questionIDs, parameters: direct)
        var pieces: [GeneratedPiece] = []
        while let piece = try iterator.nextPiece() { pieces.append(piece) }
        let tail = iterator.flush()
        if !tail.isEmpty { pieces.append(GeneratedPiece(tokenID: nil, text: tail)) }

        XCTAssertEqual(report.tokenIDs, iterator.tokens)
        XCTAssertEqual(streamed, pieces)
        XCTAssertEqual(report.answer, iterator.generation.text)
        XCTAssertEqual(report.finishReason, iterator.generation.end == .stopToken ? .eos : .maxNewTokens)
        XCTAssertEqual(report.metrics.generatedTokens, iterator.timings.generatedTokens)
        XCTAssertEqual(report.metrics.questionTokens, iterator.timings.promptTokens)
    }

    func testRollbackIsExactAcrossQuestions() throws {
        // Three questions against one compressed context give the same answers as three fresh
        // compress-then-ask runs.
        let model = try model()
        let golden = try goldenDocument(model)
        let questions = [Self.question, "What is the text about?", "Name one Python keyword mentioned in the text."]
        let press = try PressSpec.parse("snapkv:ratio=0.5")
        let shared = try Session.load(id: SessionID("shared"), model: model, document: golden.document, press: press)
        let bytes = shared.cache.byteCount
        var reused: [String] = []
        var streamed: [String] = []
        for q in questions {
            var pieces = ""
            let prefix = q == Self.question ? Self.answerPrefix : ""
            reused.append(try shared.ask(question: q, answerPrefix: prefix, parameters: GenerateParameters(maxNewTokens: 12)) { pieces += $0.text }.answer)
            streamed.append(pieces)
            XCTAssertEqual(shared.cache.byteCount, bytes, "the cache is rolled back after each answer")
        }
        XCTAssertEqual(shared.askCount, 3)
        XCTAssertEqual(streamed, reused, "streamed pieces concatenate to the answer")
        for (i, q) in questions.enumerated() {
            let fresh = try Session.load(id: SessionID("fresh\(i)"), model: model, document: golden.document,
                                         press: try PressSpec.parse("snapkv:ratio=0.5"))
            let prefix = q == Self.question ? Self.answerPrefix : ""
            XCTAssertEqual(try fresh.ask(question: q, answerPrefix: prefix, parameters: GenerateParameters(maxNewTokens: 12)).answer,
                           reused[i])
        }
        XCTAssertTrue(reused[0].contains("4819233"), "snapkv@0.5 keeps the needle (reference answer: 4819233)")
    }

    func testCompressionReallyFreesMemory() throws {
        let model = try model()
        let golden = try goldenDocument(model)
        let session = try Session.load(id: SessionID("knorm"), model: model, document: golden.document,
                                       press: try PressSpec.parse("knorm:ratio=0.5"))
        let r = session.loadMetrics
        XCTAssertEqual(r.keptTokens, Int(Double(r.contextTokens) * 0.5))
        XCTAssertEqual(Double(r.kvBytes) / Double(r.kvBytesUncompressed), 0.5, accuracy: 0.002)
        XCTAssertEqual(session.compressionRatio, 0.5)
        XCTAssertTrue(session.pressSpec.hasPrefix("knorm"))
        XCTAssertEqual(r.achievedRatio, 1 - Double(r.keptTokens) / Double(r.contextTokens), accuracy: 1e-12)
        XCTAssertEqual(r.fidelity, 0, "knorm does not read the reconstruction attention: not measured")
    }

    /// kvpress's query-aware mode: the question is compressed with the document (context +
    /// question), and an empty ask answers it. (Compressed, see the end-to-end test.)
    func testQueryAwareSessionAnswersTheQuestionItWasCompressedFor() throws {
        let model = try model()
        let golden = try goldenDocument(model)
        let session = try Session.load(id: SessionID("qa"), model: model, document: golden.document, question: Self.question,
                                       press: nil)
        XCTAssertTrue(session.questionInContext)
        XCTAssertEqual(session.contextTokenIDs, try Session.contextTokens(model: model, document: golden.document + Self.question))
        let report = try session.ask(question: "", answerPrefix: Self.answerPrefix, parameters: GenerateParameters(maxNewTokens: 16))
        XCTAssertTrue(report.answer.contains("4819233"), report.answer)
        XCTAssertThrowsError(try Session.load(id: SessionID("blank"), model: model, document: golden.document, question: "  ",
                                              press: nil)) { XCTAssertEqual($0 as? SessionError, .emptyQuestion) }
    }

    func testBadInputIsRefusedClearly() throws {
        let model = try model()
        XCTAssertThrowsError(try Session.load(id: SessionID("e"), model: model, document: "  \n", press: nil)) {
            XCTAssertEqual($0 as? SessionError, .emptyDocument)
        }
        let long = String(repeating: "lorem ipsum dolor sit amet ", count: 2000)
        XCTAssertThrowsError(try Session.load(id: SessionID("l"), model: model, document: long, press: nil)) { error in
            guard case .documentTooLong(let tokens, let limit)? = error as? SessionError else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(tokens, limit)
            XCTAssertTrue("\(error)".contains("shorten it"))
        }
        let s = try Session.load(id: SessionID("s"), model: model, document: "The sky is blue.", press: nil)
        XCTAssertThrowsError(try s.ask(question: " ", parameters: GenerateParameters())) { XCTAssertEqual($0 as? SessionError, .emptyQuestion) }
        XCTAssertThrowsError(try s.ask(question: "Why?", parameters: GenerateParameters(maxNewTokens: 100_000)))
        XCTAssertThrowsError(try s.ask(question: "Why?", parameters: GenerateParameters(
            sampling: SamplingParameters(temperature: -1))))
    }

    func testCancellationStopsAndRollsBack() throws {
        let model = try model()
        let s = try Session.load(id: SessionID("c"), model: model, document: "Paris is the capital of France.", press: nil)
        let before = s.cache.checkpoint()
        var n = 0
        let report = try s.ask(question: "Write a long poem about Paris.", parameters: GenerateParameters(maxNewTokens: 64),
                               shouldStop: { n >= 3 ? .cancelled : nil }, onToken: { _ in n += 1 })
        XCTAssertEqual(report.finishReason, .cancelled)
        XCTAssertEqual(report.tokenIDs.count, 3)
        XCTAssertEqual(s.cache.checkpoint(), before)
        XCTAssertEqual(s.state, .ready)
    }
}
