import XCTest
import KVEngine
import KVWire
import KVModel
import KVPress

/// Asks with decoding compression: the session's stored context stays intact, and the ask's
/// counters agree with what the compressor did.
extension SessionTests {
    func testDecodingCompressionLeavesTheContextIntact() throws {
        let model = try model()
        let golden = try goldenDocument(model)
        let press = try PressSpec.parse("knorm:ratio=0.5")
        let session = try Session.load(id: SessionID("decoding"), model: model, document: golden.document, press: press)
        let bytes = session.cache.byteCount
        let budget = 64, interval = 4
        let decoding = try DecodingSpec.parse("h2o:window_size=8,cache_budget=\(budget),compression_interval=\(interval)")
        let compressed = try session.ask(question: Self.question, answerPrefix: Self.answerPrefix,
                                         parameters: GenerateParameters(maxNewTokens: 14), decoding: decoding)
        XCTAssertEqual(session.cache.byteCount, bytes)

        // Counters.
        let steps = compressed.metrics.generatedTokens - 1
        XCTAssertEqual(compressed.metrics.generatedTokens, compressed.tokenIDs.count)
        XCTAssertEqual(compressed.metrics.decodingCompressions, steps / interval)
        XCTAssertGreaterThan(compressed.metrics.decodingCompressMs, 0)
        XCTAssertEqual(compressed.metrics.contextTokens, session.loadMetrics.contextTokens)
        XCTAssertEqual(compressed.metrics.keptTokens, session.loadMetrics.keptTokens)
        XCTAssertEqual(compressed.metrics.kvBytesBefore, bytes)
        let c = model.config
        let bytesPerEntry = 2 * c.headDimension * 2  // f16 key + value
        XCTAssertLessThanOrEqual(compressed.metrics.kvBytes, (budget + steps % interval) * bytesPerEntry * c.layerCount * c.headCountKV)
        XCTAssertLessThanOrEqual(compressed.metrics.finalCacheTokens, budget + steps % interval)
        XCTAssertGreaterThan(compressed.metrics.peakRssBytes, 0)

        // A later ask without decoding compression answers exactly as a fresh session.
        let later = try session.ask(question: Self.question, answerPrefix: Self.answerPrefix,
                                    parameters: GenerateParameters(maxNewTokens: 14))
        let fresh = try Session.load(id: SessionID("fresh"), model: model, document: golden.document, press: press)
        let reference = try fresh.ask(question: Self.question, answerPrefix: Self.answerPrefix,
                                      parameters: GenerateParameters(maxNewTokens: 14))
        XCTAssertEqual(later.tokenIDs, reference.tokenIDs)
        XCTAssertEqual(later.metrics.decodingCompressions, 0)
        XCTAssertEqual(later.metrics.decodingCompressMs, 0)
        XCTAssertEqual(later.metrics.kvBytesBefore, bytes)
        XCTAssertEqual(later.metrics.kvBytes, bytes
                       + (later.metrics.questionTokens + later.metrics.generatedTokens - 1) * bytesPerEntry * c.layerCount * c.headCountKV)
    }
}
