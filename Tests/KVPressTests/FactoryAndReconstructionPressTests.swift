import Foundation
import KVModel
@testable import KVPress
import XCTest

/// Synthetic tests of KVCache-Factory's presses and kvpress's question-aware and reconstruction
/// presses (cam, nacl, scissorhands, headkv, finch, kvzip), and of the attention column sums the
/// model hands to hooks.
final class FactoryAndReconstructionPressTests: XCTestCase {
    func testColumnSumsFastPathEqualsRecomputation() throws {
        let s = Synthetic(tokens: 40)
        let slow = try s.scores(press("observed_attention:ratio=0.5"))
        // The same sums, precomputed, must give the same scores.
        let sums = try s.columnSums()
        let fast = try s.scores(press("observed_attention:ratio=0.5"), columnSums: sums)
        for (a, b) in zip(slow, fast) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertTrue(try PressSpec.parse("adakv(observed_attention):ratio=0.5").observes.contains(.columnSums))
        XCTAssertFalse(try PressSpec.parse("snapkv:ratio=0.5").observes.contains(.columnSums))
    }

    func testCAMMergesValuesForwardAndKeepsTheBudget() throws {
        let s = Synthetic(tokens: 32)
        for h in 0..<4 { for t in 28..<32 { s.setQuery(h, t, axis(2, 10)) } }
        for g in 0..<2 { s.setKey(g, 10, axis(2, 5)) }
        let heads = try s.run(press("cam:ratio=0.5,window_size=4,start_budget_ratio=0.1,seed=3"))
        for h in heads {
            XCTAssertEqual(h.count, 16)
            XCTAssertTrue(h.positions.contains(10), "the attended key stays")
            XCTAssertTrue(Set(28..<32).isSubset(of: Set(h.positions)), "the window stays")
        }
        // Token 10 draws merge probability 1 (it is the max of its window): its value spreads to 11…14.
        var changed = 0
        for (i, t) in heads[0].positions.enumerated() {
            let original = (0..<8).map { s.values[(0 * 32 + t) * 8 + $0] }
            let stored = (0..<8).map { heads[0].value(i, $0) }
            if zip(original, stored).contains(where: { abs($0 - $1) > 1e-6 }) { changed += 1 }
        }
        XCTAssertGreaterThan(changed, 0, "kept values received merges")
        // Seeded: the same draws twice.
        let again = try s.run(press("cam:ratio=0.5,window_size=4,start_budget_ratio=0.1,seed=3"))
        XCTAssertEqual((0..<16).map { again[1].value($0, 0) }, (0..<16).map { heads[1].value($0, 0) })
    }

    func testNACLKeepsProxiesSinksTopAndASeededRandomPart() throws {
        let s = Synthetic(tokens: 64)
        for h in 0..<4 { for t in 56..<64 { s.setQuery(h, t, axis(1, 10)) } }
        for g in 0..<2 { s.setKey(g, 20, axis(1, 5)) }
        let nacl = try press("nacl:ratio=0.5,proxy_size=8,n_sink=2,random_ratio=0.25,seed=7", as: Press.self)
        let a = try s.run(nacl).map(\.positions)
        let b = try s.run(nacl).map(\.positions)
        XCTAssertEqual(a, b, "seeded")
        for p in a {
            XCTAssertEqual(p.count, 32)
            XCTAssertTrue(Set([0, 1, 20] + Array(56..<64)).isSubset(of: Set(p)))
        }
        let c = try s.run(press("nacl:ratio=0.5,proxy_size=8,n_sink=2,random_ratio=0.25,seed=8")).map(\.positions)
        XCTAssertNotEqual(a, c, "another seed draws another random part")
        let none = try s.run(press("nacl:ratio=0.5,proxy_size=8,n_sink=2,random_ratio=0,seed=8")).map(\.positions)
        let none2 = try s.run(press("nacl:ratio=0.5,proxy_size=8,n_sink=2,random_ratio=0,seed=9")).map(\.positions)
        XCTAssertEqual(none, none2, "without a random part the seed does not matter")
    }

    func testScissorhandsKeepsPersistentlyImportantTokens() throws {
        let s = Synthetic(tokens: 64)
        // Every query of the history attends token 5; only the oldest history queries attend token 30.
        for h in 0..<4 { for t in 32..<64 { s.setQuery(h, t, axis(3, 10)) } }
        for g in 0..<2 { s.setKey(g, 5, axis(3, 5)) }
        for h in try s.run(press("scissorhands:ratio=0.75,history_window=32,recent_size=4,n_sink=1")) {
            XCTAssertEqual(h.count, 16)
            XCTAssertTrue(h.positions.contains(5))
            XCTAssertTrue(h.positions.contains(0))
            XCTAssertTrue(Set(60..<64).isSubset(of: Set(h.positions)))
        }
        let p = try press("scissorhands:ratio=0.5,selection=prob,seed=1", as: ScissorhandsPress.self)
        XCTAssertEqual(try s.run(p).map(\.positions), try s.run(p).map(\.positions))
    }

    func testHeadKVGivesRetrievalHeadsLargerBudgets() throws {
        // Layer 0: query heads 0–1 (KV head 0) are retrieval heads, 2–3 (KV head 1) are not.
        let profile = HeadProfile(runs: [[[1.0], [1.0], [0.0], [0.0]]])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kvd-headkv-\(UUID()).json")
        try profile.jsonData().write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertEqual(try HeadProfile(contentsOf: url.path), profile)
        let s = Synthetic(tokens: 64)
        let heads = try s.run(press("headkv:ratio=0.5,profile=\(url.path),window_size=4,kernel_size=1"))
        XCTAssertGreaterThan(heads[0].count, heads[1].count)
        XCTAssertLessThanOrEqual(abs(heads[0].count + heads[1].count - 64), 2)
        for h in heads { XCTAssertTrue(Set(60..<64).isSubset(of: Set(h.positions))) }
        XCTAssertThrowsError(try HeadProfile(json: Data("{\"0-0\": 1}".utf8)))
        XCTAssertThrowsError(try PressSpec.parse("headkv:profile=/nonexistent/profile.json"))
    }

    func testFinchNormalisesRowsAndReRotatesKeys() throws {
        let s = Synthetic(tokens: 32)
        for h in 0..<4 { for t in 24..<32 { s.setQuery(h, t, axis(4, 10)) } }
        for g in 0..<2 { s.setKey(g, 3, axis(4, 5)) }
        let heads = try s.run(press("finch:ratio=0.5,window_size=8"))
        for h in heads {
            XCTAssertEqual(h.count, 16)
            XCTAssertEqual(h.positions, Array(0..<16), "keys re-rotated to consecutive positions")
        }
        let plain = try s.run(press("finch:ratio=0.5,window_size=8,rerotate_keys=false"))
        for h in plain {
            XCTAssertTrue(h.positions.contains(3))
            XCTAssertTrue(Set(24..<32).isSubset(of: Set(h.positions)))
        }
        XCTAssertThrowsError(try PressSpec.parse("finch:ratio=0.5,window_size=8,chunk_length=10"))
    }

    func testKVzipNeedsTheContextAndEvictsTheLowestScoresGlobally() throws {
        let kvzip = try press("kvzip:ratio=0.5", as: KVzipPress.self)
        // Per-layer compress keeps everything: the work happens after the prefill.
        let s = Synthetic(tokens: 16)
        XCTAssertEqual(try s.run(kvzip).map(\.count), [16, 16])
        // Global budget: scores of two layers, one KV head, 4 tokens.
        let cache = KVCache(layerCount: 2, headCountKV: 1, headDimension: 8, storage: .f32)
        let zeros = [Float](repeating: 0, count: 4 * 8)
        for l in 0..<2 { cache.layers[l][0].append(keys: zeros, values: zeros, count: 4, firstPosition: 0) }
        kvzip.apply([[0.9, 0.8, 0.7, 0.6], [0.1, 0.95, 0.2, 0.3]], cache: cache, tokens: 4, layers: [0, 1])
        XCTAssertEqual(cache.layers[0][0].positions, [0, 1, 2])
        XCTAssertEqual(cache.layers[1][0].positions, [1])
        let hook = PressHook(kvzip)
        XCTAssertThrowsError(try hook.finish(cache, contextIDs: [1, 2, 3]))
    }
}

extension Synthetic {
    /// Causal attention column sums `[H, T]` computed naively.
    func columnSums() throws -> [Float] {
        var out = [Float](repeating: 0, count: H * T)
        let scale = 1 / Float(D).squareRoot()
        for h in 0..<H {
            let g = h / (H / G)
            for i in 0..<T {
                var logits = (0...i).map { j in (0..<D).reduce(Float(0)) { $0 + queries[(h * T + i) * D + $1] * keys[(g * T + j) * D + $1] } * scale }
                let m = logits.max()!
                logits = logits.map { Foundation.exp($0 - m) }
                let s = logits.reduce(0, +)
                for j in 0...i { out[h * T + j] += logits[j] / s }
            }
        }
        return out
    }

    /// Scores of `press` given precomputed column sums.
    func scores(_ press: ScorerPress, columnSums: [Float]) throws -> [Float] {
        try hidden.withUnsafeBufferPointer { h in
            try queries.withUnsafeBufferPointer { q in
                try keys.withUnsafeBufferPointer { k in
                    try values.withUnsafeBufferPointer { v in
                        try columnSums.withUnsafeBufferPointer { c in
                            try press.score(PressInput(geometry: geometry, tokenCount: T, hidden: h.baseAddress!, queries: q.baseAddress!,
                                                       keys: k.baseAddress!, values: v.baseAddress!, cache: [], columnSums: c.baseAddress!))
                        }
                    }
                }
            }
        }
    }
}
