import Foundation
import XCTest
import KVEngine
import KVWire
import KVModel
import KVPress
import KVTestSupport

/// `minicache` on SmolLM2 through the session API: `kv_bytes` drops by exactly the shared rows of
/// the merged layer pairs, a snapshot of the merged cache restores to the same answer, decoding
/// compression evicts merged entries from an ask's copy only, and with every token retained the
/// needle is found as without a press.
///
/// At the defaults SmolLM2 loses the needle (even at `retention_ratio=0.9`): its adjacent layers'
/// keys and values are about orthogonal per head (mean angular distance ≈ 0.5 at layers 15/16),
/// so MiniCache's premise, similar states in the deeper half, does not hold for this model.
extension RealModelSessionTests {
    func testSmolLM2MiniCacheSavesBytesAndRestores() throws {
        let model = try TestModel.model()
        let c = model.config, text = try document()
        let parameters = GenerateParameters(maxNewTokens: 12)
        let all = try Session.load(id: SessionID("all"), model: model, document: text,
                                   press: try PressSpec.parse("minicache:retention_ratio=1.0"))
        let retainedAnswer = try all.ask(question: Self.question, answerPrefix: Self.answerPrefix, parameters: parameters).answer
        XCTAssertTrue(retainedAnswer.contains("4819233"), retainedAnswer.debugDescription)
        XCTAssertEqual(all.loadMetrics.kvBytes, all.loadMetrics.kvBytesUncompressed, "nothing merged, nothing saved")

        let merged = try Session.load(id: SessionID("mini"), model: model, document: text, press: try PressSpec.parse("minicache"))
        let answer = try merged.ask(question: Self.question, answerPrefix: Self.answerPrefix, parameters: parameters).answer
        let m = merged.loadMetrics
        print("minicache: \(answer.debugDescription); kv_bytes \(m.kvBytes) of \(m.kvBytesUncompressed)")
        let T = m.contextTokens, r = Int((Double(T) * 0.05).rounded(.up)), d = c.headDimension
        let pairs = MiniCachePress.pairs(layerCount: c.layerCount).count
        let pairBytes = (T - r) * 2 * d * 2 + 2 * (T - r) * 8 + 2 * r * 2 * d * 2
        XCTAssertEqual(pairs, 7)
        XCTAssertEqual(m.kvBytesUncompressed, c.layerCount * c.headCountKV * T * 2 * d * 2)
        XCTAssertEqual(m.kvBytes, m.kvBytesUncompressed - pairs * c.headCountKV * (2 * T * 2 * d * 2 - pairBytes))
        XCTAssertEqual(m.keptTokens, T, "no entry is evicted")

        let restored = Session.makeCache(model: model, storage: .f16, contextTokens: T)
        try KVCacheSnapshot.decode(KVCacheSnapshot.encode(merged.cache), format: KVCacheSnapshot.format(of: merged.cache), into: restored)
        restored.nextPosition = merged.cache.nextPosition
        XCTAssertEqual(restored.byteCount, m.kvBytes)
        let again = Session(id: try SessionID("again"), model: model, cache: restored, contextTokenIDs: merged.contextTokenIDs,
                            pressSpec: merged.pressSpec, compressionRatio: 0, loadMetrics: m)
        XCTAssertEqual(try again.ask(question: Self.question, answerPrefix: Self.answerPrefix, parameters: parameters).answer, answer)

        // Decoding compression evicts from a copy of the context, merged entries included
        // (each evicting layer gets directions of its own); the session's cache stays as it was.
        let squeezed = try merged.ask(question: Self.question, answerPrefix: Self.answerPrefix, parameters: parameters,
                                      decoding: try DecodingSpec.parse("knorm:cache_budget=1024,compression_interval=4"))
        XCTAssertGreaterThan(squeezed.metrics.decodingCompressions, 0)
        XCTAssertLessThan(squeezed.metrics.kvBytes, m.kvBytes)
        XCTAssertEqual(merged.cache.byteCount, m.kvBytes)
        XCTAssertEqual(try merged.ask(question: Self.question, answerPrefix: Self.answerPrefix, parameters: parameters).answer, answer)
    }
}
