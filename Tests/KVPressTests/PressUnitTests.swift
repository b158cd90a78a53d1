import KVModel
@testable import KVPress
import XCTest

/// Each press's distinctive behaviour on a tiny synthetic layer (no model needed).
final class PressUnitTests: XCTestCase {
    func testKnormKeepsSmallNormKeys() throws {
        let s = Synthetic(tokens: 10)
        for t in 0..<10 {
            s.setKey(0, t, axis(0, Float(t + 1)))
            s.setKey(1, t, axis(1, Float(10 - t)))
        }
        let heads = try s.run(PressSpec.parse("knorm:ratio=0.5"))
        XCTAssertEqual(heads[0].positions, [0, 1, 2, 3, 4])
        XCTAssertEqual(heads[1].positions, [5, 6, 7, 8, 9])
        XCTAssertEqual(try s.run(PressSpec.parse("l2norm:ratio=0.5"))[0].positions, [0, 1, 2, 3, 4], "l2norm is knorm")
    }

    func testStreamingLLMKeepsSinksAndRecentWindow() throws {
        let s = Synthetic(tokens: 20)
        let heads = try s.run(press("streaming_llm:ratio=0.5,n_sink=4"))
        for h in heads { XCTAssertEqual(h.positions, [0, 1, 2, 3] + Array(14..<20)) }
        XCTAssertThrowsError(try Synthetic(tokens: 4).run(press("streaming_llm:ratio=0.5,n_sink=4")))
    }

    func testSnapKVKeepsWhatTheWindowAttendsAndTheWindow() throws {
        let s = Synthetic(tokens: 16)
        for h in 0..<4 { for t in 12..<16 { s.setQuery(h, t, axis(0, 10)) } }
        for g in 0..<2 { s.setKey(g, 5, axis(0, 5)) }
        let heads = try s.run(press("snapkv:ratio=0.5,window_size=4,kernel_size=1"))
        for h in heads {
            XCTAssertEqual(h.count, 8)
            XCTAssertTrue(h.positions.contains(5))
            XCTAssertTrue(Set(12..<16).isSubset(of: Set(h.positions)), "the window always stays")
        }
        XCTAssertThrowsError(try Synthetic(tokens: 64).run(press("snapkv:ratio=0.5")), "window 64 needs more than 64 tokens")
    }

    func testTOVAUsesTheLastQueryAveragedOverAllHeads() throws {
        let s = Synthetic(tokens: 10)
        for h in 0..<4 { s.setQuery(h, 9, axis(1, 10)) }
        s.setKey(0, 3, axis(1, 5))  // only KV head 0 holds the attended key
        let heads = try s.run(press("tova:ratio=0.5"))
        XCTAssertEqual(heads[0].positions, heads[1].positions, "TOVA scores are shared by all KV heads")
        XCTAssertTrue(heads[1].positions.contains(3))
        XCTAssertTrue(heads[1].positions.contains(9), "the last token stays")
    }

    func testExpectedAttentionKeepsSinksAndDropsZeroValues() throws {
        let s = Synthetic(tokens: 32)
        for g in 0..<2 { s.setValue(g, 10, axis(0, 0)) }
        let heads = try s.run(press("expected_attention:ratio=0.5"))
        for h in heads {
            XCTAssertEqual(h.count, 16)
            XCTAssertTrue(Set(0..<4).isSubset(of: Set(h.positions)), "sinks stay")
            XCTAssertFalse(h.positions.contains(10), "a zero value contributes nothing (use_vnorm)")
        }
    }

    func testObservedAttentionKeepsTheKeyEveryoneAttends() throws {
        let s = Synthetic(tokens: 12)
        for h in 0..<4 { for t in 0..<12 { s.setQuery(h, t, axis(2, 10)) } }
        for g in 0..<2 { s.setKey(g, 7, axis(2, 5)) }
        for h in try s.run(press("observed_attention:ratio=0.5")) { XCTAssertTrue(h.positions.contains(7)) }
    }

    func testKeyDiffKeepsDistinctiveKeys() throws {
        let s = Synthetic(tokens: 10)
        for t in 0..<10 { s.setKey(0, t, axis(0, 1 + Float(t) * 0.01)) }
        s.setKey(0, 6, axis(3))
        s.setKey(0, 2, axis(4))
        let heads = try s.run(press("keydiff:ratio=0.2"))
        XCTAssertTrue(heads[0].positions.contains(6) && heads[0].positions.contains(2))
        XCTAssertEqual(heads[0].count, 8)
    }

    func testLagKVKeepsSinksAndTail() throws {
        let short = try Synthetic(tokens: 12).run(press("lagkv:ratio=0.5,n_sink=4,lag_size=8"))
        XCTAssertEqual(short[0].positions, [0, 1, 2, 3, 10, 11], "too short to partition: sinks + most recent")
        let s = Synthetic(tokens: 28)
        for h in try s.run(press("lagkv:ratio=0.5,n_sink=4,lag_size=8")) {
            XCTAssertEqual(h.count, 14)
            XCTAssertTrue(Set(0..<4).union(20..<28).isSubset(of: Set(h.positions)), "sinks and the last partition stay")
        }
    }

    func testNonCausalAttentionIsZNormalisedAndFavoursLargeValues() throws {
        let s = Synthetic(tokens: 20)
        for g in 0..<2 { s.setValue(g, 9, axis(0, 100)) }
        let scores = try s.scores(press("non_causal_attn:ratio=0.5,chunk_size=8"))
        let mean = scores.reduce(0, +) / Float(scores.count)
        XCTAssertEqual(mean, 0, accuracy: 1e-4)
        for h in try s.run(press("non_causal_attn:ratio=0.5,chunk_size=8")) { XCTAssertTrue(h.positions.contains(9)) }
    }

    func testChunkPressKeepsTheSameShareOfEveryChunk() throws {
        let s = Synthetic(tokens: 20)
        for g in 0..<2 { for t in 0..<20 { s.setKey(g, t, axis(0, Float(t + 1))) } }
        let heads = try s.run(PressSpec.parse("chunk(knorm:ratio=0.4):chunk_length=5"))
        for h in heads {
            let perChunk = (0..<4).map { c in h.positions.filter { $0 / 5 == c }.count }
            XCTAssertEqual(perChunk, [3, 3, 3, 3])
        }
    }

    func testChunkKVKeepsWholeChunks() throws {
        let s = Synthetic(tokens: 20)
        let heads = try s.run(PressSpec.parse("chunkkv(knorm:ratio=0.5):chunk_length=4"))
        XCTAssertEqual(heads[0].positions, heads[1].positions, "the same chunks in every head")
        XCTAssertEqual(heads[0].count, 8)
        let chunks = Set(heads[0].positions.map { $0 / 4 })
        XCTAssertEqual(chunks.count, 2)
        for c in chunks { XCTAssertTrue(Set((c * 4)..<(c * 4 + 4)).isSubset(of: Set(heads[0].positions))) }
    }

    func testCriticalKVNeedsTheModel() {
        XCTAssertThrowsError(try Synthetic(tokens: 80).run(PressSpec.parse("criticalkv(snapkv:window_size=8):ratio=0.5"))) {
            XCTAssertEqual($0 as? PressError, .modelRequired(press: "criticalkv"))
        }
    }

    func testAdaKVHeadsKeepDifferentLengthsAndMemoryDrops() throws {
        let s = Synthetic(tokens: 20)
        for t in 0..<20 {
            s.setKey(0, t, axis(0, 0.01 * Float(t + 1)))
            s.setKey(1, t, axis(0, 10 + Float(t)))
        }
        let before = 2 * 20 * (8 + 8) * 4
        let heads = try s.run(PressSpec.parse("adakv(knorm):ratio=0.5,alpha_safeguard=0.2"))
        XCTAssertEqual(heads.map(\.count), [18, 2], "head 1 keeps only its safeguard of Int(10 * 0.2)")
        XCTAssertEqual(heads[1].positions, [0, 1])
        XCTAssertEqual(heads.reduce(0) { $0 + $1.byteCount }, before / 2, "memory really drops by the ratio")
        XCTAssertLessThanOrEqual(heads.reduce(0) { $0 + $1.allocatedBytes }, before / 2 + 2 * 20 * 4 + 200)
    }

    func testLeverageIsReproducibleWithASeedAndKeepsOutliers() throws {
        let s = Synthetic(tokens: 30)
        for g in 0..<2 { s.setKey(g, 11, axis(5, 100)) }
        let a = try s.run(press("leverage:ratio=0.5,seed=3")).map(\.positions)
        let b = try s.run(press("leverage:ratio=0.5,seed=3")).map(\.positions)
        XCTAssertEqual(a, b)
        for p in a { XCTAssertTrue(p.contains(11)) }
    }

    func testCURKeepsSinks() throws {
        for h in try Synthetic(tokens: 20).run(press("cur:ratio=0.5")) {
            XCTAssertTrue(Set(0..<4).isSubset(of: Set(h.positions)))
            XCTAssertEqual(h.count, 10)
        }
    }

    func testCompactorKeepsBothSinkEnds() throws {
        for h in try Synthetic(tokens: 40).run(press("compactor:ratio=0.5,chunk_size=16,seed=1")) {
            XCTAssertTrue(Set(0..<8).union(36..<40).isSubset(of: Set(h.positions)))
            XCTAssertEqual(h.count, 20)
        }
    }

    func testPyramidKVLayerBudgets() throws {
        let p = try press("pyramidkv:ratio=0.5", as: PyramidKVPress.self)
        let budgets = (0..<30).map { p.layerBudget(layer: $0, layerCount: 30, tokens: 1663) }
        XCTAssertEqual(budgets.first, 1599, "bottom layer: T − window_size")
        XCTAssertEqual(budgets.last, 64, "top layer: the window")
        XCTAssertTrue(zip(budgets, budgets.dropFirst()).allSatisfy { $0 > $1 }, "strictly decreasing with depth")
        XCTAssertEqual(Double(budgets.reduce(0, +)) / 30, 831.5, accuracy: 1, "the average budget is T(1 − ratio)")
        XCTAssertEqual(p.layerBudget(layer: 3, layerCount: 30, tokens: 100), 50, "too short for a pyramid: uniform")

        let s = Synthetic(tokens: 200)
        s.layerCount = 4
        let pyramid = try press("pyramidkv:ratio=0.5,window_size=8,kernel_size=5", as: PyramidKVPress.self)
        for l in 0..<4 {
            s.layer = l
            let heads = try s.run(pyramid)
            XCTAssertEqual(heads[0].count, pyramid.layerBudget(layer: l, layerCount: 4, tokens: 200))
        }
    }

    func testRandomIsSeeded() throws {
        let s = Synthetic(tokens: 50)
        let a = try s.run(press("random:ratio=0.5,seed=7")).map(\.positions)
        XCTAssertEqual(a, try s.run(press("random:ratio=0.5,seed=7")).map(\.positions))
        XCTAssertNotEqual(a, try s.run(press("random:ratio=0.5,seed=8")).map(\.positions))
        XCTAssertEqual(a[0].count, 25)
    }

    func testThinKNarrowsStoredKeys() throws {
        let s = Synthetic(tokens: 16)
        for g in 0..<2 { for t in 0..<16 { s.setKey(g, t, [5, 5, 5, 5, 0.1, 0.1, 0.1, 0.1]) } }
        for h in 0..<4 { for t in 0..<16 { s.setQuery(h, t, [1, 1, 1, 1, 1, 1, 1, 1]) } }
        let heads = try s.run(press("think:key_channel_compression_ratio=0.5,window_size=4"))
        for h in heads {
            XCTAssertEqual(h.keyChannels, [0, 1, 2, 3])
            XCTAssertEqual(h.keyDimension, 4)
            XCTAssertEqual(h.count, 16)
            XCTAssertEqual(h.byteCount, 16 * (4 + 8) * 4, "stored keys really lose half their channels")
        }
    }

    func testComposedAppliesEachPressInTurn() throws {
        let s = Synthetic(tokens: 20)
        let press = try PressSpec.parse("composed(think:key_channel_compression_ratio=0.5,knorm:ratio=0.5)")
        XCTAssertEqual(press.compressionRatio, 0.625, accuracy: 1e-12)
        for h in try s.run(press) {
            XCTAssertEqual(h.keyDimension, 4)
            XCTAssertEqual(h.count, 10)
        }
    }

    func testPerLayerUsesEachLayersRatio() throws {
        let s = Synthetic(tokens: 20)
        s.layerCount = 2
        let press = try PressSpec.parse("per_layer(knorm):compression_ratios=0.5;0.25")
        XCTAssertEqual(try s.run(press)[0].count, 10)
        s.layer = 1
        XCTAssertEqual(try s.run(press)[0].count, 15)
        s.layer = 0
        XCTAssertEqual(press.compressionRatio, 0.375)
    }

    func testBlockPressKeepsTheBudget() throws {
        let s = Synthetic(tokens: 20)
        for t in 0..<20 { s.setKey(0, t, axis(0, 1)) }
        s.setKey(0, 3, axis(2))
        let heads = try s.run(PressSpec.parse("block(keydiff:ratio=0.5):block_size=4"))
        XCTAssertEqual(heads.map(\.count), [10, 10])
        XCTAssertTrue(heads[0].positions.contains(3), "the distinctive key survives every block")
    }

    func testKeyRerotationMovesKeptKeysToConsecutivePositions() throws {
        let s = Synthetic(tokens: 12)
        let rope = s.geometry.rope
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        func rotated(_ p: Int) -> [Float] {
            var v = x, c = [Float](repeating: 0, count: 4), sn = c
            rope.tables(first: p, count: 1, cos: &c, sin: &sn)
            rope.rotate(&v, heads: 1, stride: 8, cos: c, sin: sn)
            return v
        }
        for g in 0..<2 { for t in 0..<12 { s.setKey(g, t, rotated(t)) } }
        let heads = try s.run(PressSpec.parse("key_rerotation(streaming_llm:ratio=0.5,n_sink=2)"))
        XCTAssertEqual(heads[0].positions, Array(0..<6))
        var key = [Float](repeating: 0, count: 8)
        for i in 0..<6 {
            heads[0].copyKey(i, into: &key)
            for (a, b) in zip(key, rotated(i)) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        }
    }

    func testH2OKeepsHeavyHittersAndTheWindow() throws {
        let s = Synthetic(tokens: 16)
        for h in 0..<4 { for t in 0..<16 { s.setQuery(h, t, axis(2, 10)) } }
        for g in 0..<2 { s.setKey(g, 2, axis(2, 5)) }
        for h in try s.run(press("h2o:ratio=0.5,window_size=4")) {
            XCTAssertEqual(h.count, 8)
            XCTAssertTrue(h.positions.contains(2))
            XCTAssertTrue(Set(12..<16).isSubset(of: Set(h.positions)))
        }
    }

    func testMergingFoldsEvictedValuesIntoTheirNearestKeptNeighbour() throws {
        let s = Synthetic(tokens: 4)
        // Head 0: token 1 (evicted, larger norm) has the same key direction as token 0 (kept).
        s.setKey(0, 0, axis(0, 1)); s.setKey(0, 1, axis(0, 2)); s.setKey(0, 2, axis(1, 1)); s.setKey(0, 3, axis(2, 3))
        s.setValue(0, 0, axis(0, 1)); s.setValue(0, 1, axis(1, 1)); s.setValue(0, 2, axis(2, 1)); s.setValue(0, 3, axis(3, 1))
        let heads = try s.run(PressSpec.parse("merging(knorm:ratio=0.5)"))
        XCTAssertEqual(heads[0].positions, [0, 2])
        var v = [Float](repeating: 0, count: 8)
        heads[0].copyValue(0, into: &v)
        // w = 1 · 1/(1 + 1 + 1e-6) ≈ 0.5 → (e0 + 0.5 e1) / 1.5; token 3 (orthogonal keys) merges nowhere useful.
        XCTAssertEqual(v[0], 1 / 1.5, accuracy: 1e-3)
        XCTAssertEqual(v[1], 0.5 / 1.5, accuracy: 1e-3)
        XCTAssertEqual(heads[0].count, 2)
    }

    func testSimLayerKVCompressesOnlyLazyLayers() throws {
        let s = Synthetic(tokens: 40)
        // The last query looks only at the first token: lazy under any threshold below 1.
        for h in 0..<4 { s.setQuery(h, 39, axis(0, 20)) }
        for g in 0..<2 { s.setKey(g, 0, axis(0, 5)) }
        let simLayer = try press("simlayerkv:lazy_threshold=0.5,n_last=1,n_recent=8,n_initial=4", as: SimLayerKVPress.self)
        let heads = try s.run(simLayer)
        XCTAssertEqual(heads[0].positions, [0, 1, 2, 3] + Array(33..<40))
        XCTAssertEqual(simLayer.compressionRatio, Double(40 - 4 - 8 + 1) / 40, accuracy: 1e-12)
        XCTAssertEqual(try s.run(press("simlayerkv"))[0].count, 40, "threshold 1 never compresses")
        for h in 0..<4 { s.setQuery(h, 39, axis(0, 0)) }
        for g in 0..<2 { s.setKey(g, 0, axis(0, 0)); for t in 4..<32 { s.setKey(g, t, axis(1, 5)) } }
        for h in 0..<4 { s.setQuery(h, 39, axis(1, 20)) }
        XCTAssertEqual(try s.run(simLayer)[0].count, 40, "attention on the middle: not lazy")
    }

    func testGQAAggregation() {
        let perHead: [Float] = [1, 2, 3, 4, 5, 6]  // H = 3 (one group), n = 2
        XCTAssertEqual(GQAScoreAggregation.mean.aggregate(perHead, headCount: 3, headCountKV: 1, count: 2), [3, 4])
        XCTAssertEqual(GQAScoreAggregation.max.aggregate(perHead, headCount: 3, headCountKV: 1, count: 2), [5, 6])
        XCTAssertEqual(GQAScoreAggregation.sum.aggregate(perHead, headCount: 3, headCountKV: 1, count: 2), [9, 12])
    }
}
