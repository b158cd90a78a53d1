import Foundation
import KVModel
import KVPress
import KVTestSupport
import XCTest

/// `minicache` against a naive computation of its definition (SLERP of the two layers' unit
/// directions, each layer's own magnitude, the largest key angles retained), its layer pairs,
/// the bytes it saves, its spec and its refusals.
final class MiniCachePressTests: XCTestCase {
    static let T = 40, D = 8

    /// Two layers' keys and values for one KV head, `[T, D]` each, with edge cases: token 5 the
    /// same in both layers, token 6 opposite, token 7 a zero key in the earlier layer.
    static func layers(seed: UInt64) -> (previous: (k: [Float], v: [Float]), current: (k: [Float], v: [Float])) {
        var rng = SplitMix64(seed: seed)
        func rows() -> [Float] { (0..<(T * D)).map { _ in Float(rng.nextDouble() * 2 - 1) } }
        var pk = rows(), ck = rows()
        let pv = rows(), cv = rows()
        for c in 0..<D {
            ck[5 * D + c] = pk[5 * D + c]
            ck[6 * D + c] = -pk[6 * D + c]
            pk[7 * D + c] = 0
        }
        return ((pk, pv), (ck, cv))
    }

    static func head(_ k: [Float], _ v: [Float]) -> HeadKVCache {
        let h = HeadKVCache(headDimension: D, storage: .f32)
        h.append(keys: k, values: v, count: T, firstPosition: 0)
        return h
    }

    /// The definition, in double precision: per token, unit directions and norms (clamped at
    /// 1e-6), the angle (cosine clamped to ±(1 − 1e-6)), SLERP weights sin((1−t)θ)/sin θ and
    /// sin(tθ)/sin θ, the merged direction renormalised.
    static func naiveSlerp(_ a: [Float], _ b: [Float], t: Double) -> (directions: [[Double]], normA: [Double], normB: [Double], angle: [Double]) {
        var out: (directions: [[Double]], normA: [Double], normB: [Double], angle: [Double]) = ([], [], [], [])
        for i in 0..<T {
            let x = (0..<D).map { Double(a[i * D + $0]) }, y = (0..<D).map { Double(b[i * D + $0]) }
            let nx = max(sqrt(x.map { $0 * $0 }.reduce(0, +)), 1e-6), ny = max(sqrt(y.map { $0 * $0 }.reduce(0, +)), 1e-6)
            var cosine = 0.0
            for c in 0..<D { cosine += x[c] / nx * y[c] / ny }
            let theta = acos(min(max(cosine, -1 + 1e-6), 1 - 1e-6))
            var m = (0..<D).map { sin((1 - t) * theta) / sin(theta) * x[$0] / nx + sin(t * theta) / sin(theta) * y[$0] / ny }
            let nm = max(sqrt(m.map { $0 * $0 }.reduce(0, +)), 1e-6)
            m = m.map { $0 / nm }
            out.directions.append(m)
            out.normA.append(nx)
            out.normB.append(ny)
            out.angle.append(theta)
        }
        return out
    }

    func testMergeMatchesNaiveDefinition() throws {
        for (n, (t, ratio)) in [(0.6, 0.05), (0.0, 0.25), (1.0, 0.0), (0.3, 1.0), (0.5, 0.1)].enumerated() {
            let press = try XCTUnwrap(PressSpec.parse("minicache:interpolation=\(t),retention_ratio=\(ratio)") as? MiniCachePress)
            let (p, c) = Self.layers(seed: UInt64(n))
            let previous = Self.head(p.k, p.v), current = Self.head(c.k, c.v)
            press.merge(previous: previous, current: current)

            let keys = Self.naiveSlerp(p.k, c.k, t: t), values = Self.naiveSlerp(p.v, c.v, t: t)
            let retainedCount = Int((Double(Self.T) * ratio).rounded(.up))
            let byAngle = (0..<Self.T).sorted { keys.angle[$0] != keys.angle[$1] ? keys.angle[$0] > keys.angle[$1] : $0 < $1 }
            let retained = Array(byAngle.prefix(retainedCount)).sorted()
            let merged = (0..<Self.T).filter { !retained.contains($0) }
            let label = "t=\(t), retention_ratio=\(ratio)"
            if ratio == 0.05 { XCTAssertEqual(retained.count, 2, label) }
            if retainedCount > 0 && retainedCount < 30 { XCTAssertTrue(retained.contains(6), "\(label): opposite directions are retained") }
            for head in [previous, current] {
                XCTAssertEqual(head.positions, merged + retained, label)
                XCTAssertEqual(head.mergedCount, merged.count, label)
            }
            XCTAssertTrue(previous.merged?.directions === current.merged?.directions, label)
            for (layer, head, source, kNorm, vNorm) in [(0, previous, p, keys.normA, values.normA), (1, current, c, keys.normB, values.normB)] {
                for (j, token) in merged.enumerated() {
                    for ch in 0..<Self.D {
                        XCTAssertEqual(Double(head.key(j, ch)), kNorm[token] * keys.directions[token][ch], accuracy: 2e-5 * max(1, kNorm[token]),
                                       "\(label): layer \(layer) token \(token) key")
                        XCTAssertEqual(Double(head.value(j, ch)), vNorm[token] * values.directions[token][ch], accuracy: 2e-5 * max(1, vNorm[token]),
                                       "\(label): layer \(layer) token \(token) value")
                    }
                }
                for (i, token) in retained.enumerated() {
                    for ch in 0..<Self.D {
                        XCTAssertEqual(head.key(merged.count + i, ch), source.k[token * Self.D + ch], "\(label): retained keys are exact")
                        XCTAssertEqual(head.value(merged.count + i, ch), source.v[token * Self.D + ch], "\(label): retained values are exact")
                    }
                }
            }
            if let j = merged.firstIndex(of: 5) {
                for ch in 0..<Self.D { XCTAssertEqual(previous.key(j, ch), current.key(j, ch), accuracy: 1e-5, "\(label): one direction") }
            }
            if t == 0, let j = merged.firstIndex(of: 9) {
                for ch in 0..<Self.D { XCTAssertEqual(previous.key(j, ch), p.k[9 * Self.D + ch], accuracy: 1e-5, "t = 0 keeps the earlier layer") }
            }
        }
    }

    func testLayersPairFromTheMiddle() {
        XCTAssertEqual(MiniCachePress.pairs(layerCount: 30).map { [$0.previous, $0.current] },
                       [[15, 16], [17, 18], [19, 20], [21, 22], [23, 24], [25, 26], [27, 28]])
        XCTAssertEqual(MiniCachePress.pairs(layerCount: 24).map { [$0.previous, $0.current] },
                       [[12, 13], [14, 15], [16, 17], [18, 19], [20, 21], [22, 23]])
        XCTAssertEqual(MiniCachePress.pairs(layerCount: 4).map { [$0.previous, $0.current] }, [[2, 3]])
        XCTAssertTrue(MiniCachePress.pairs(layerCount: 2).isEmpty)
    }

    /// On SmolLM2 (30 layers; the tiny fixtures have 2, too few to pair): only the paired layers
    /// are merged, every entry stays, the bytes drop by the shared rows, and answering still runs;
    /// a model with sliding-window layers is refused.
    func testModelPassMergesThePairsAndSavesBytes() throws {
        let model = try TestModel.model()
        let c = model.config
        var rng = SplitMix64(seed: 3)
        let ids = (0..<120).map { _ in 4 + Int(rng.next() % UInt64(c.vocabularySize - 8)) }
        let hook = PressHook(try PressSpec.parse("minicache"), model: model)
        let cache = model.makeCache()
        _ = try model.forward(ids, cache: cache, hook: hook, logits: .none)
        let before = cache.byteCount
        XCTAssertEqual(before, cache.uncompressedByteCount(tokens: 120))
        try hook.finish(cache, contextIDs: ids)
        let pairs = MiniCachePress.pairs(layerCount: c.layerCount)
        XCTAssertEqual(pairs.count, 7)
        let paired = Set(pairs.flatMap { [$0.previous, $0.current] })
        for l in 0..<c.layerCount {
            for head in cache.layers[l] {
                XCTAssertEqual(head.count, 120)
                XCTAssertEqual(head.mergedCount, paired.contains(l) ? 120 - 6 : 0, "layer \(l)")
            }
        }
        let d = c.headDimension, perPairHead = 2 * 120 * 2 * d * 2 - (114 * 2 * d * 2 + 2 * 114 * 8 + 2 * 6 * 2 * d * 2)
        XCTAssertEqual(before - cache.byteCount, pairs.count * c.headCountKV * perPairHead)
        XCTAssertEqual(cache.entryCount, c.layerCount * c.headCountKV * 120, "no entry is evicted")
        let logits = try model.forward([ids[0], ids[1]], cache: cache, logits: .last)
        XCTAssertFalse(logits.contains { !$0.isFinite })

        let gemma = try TestModel.tinyModel("tiny-gemma3-scaled")
        let gemmaHook = PressHook(try PressSpec.parse("minicache"), model: gemma)
        let gemmaCache = gemma.makeCache(), gemmaIDs = ids.prefix(40).map { $0 % gemma.config.vocabularySize }
        _ = try gemma.forward(gemmaIDs, cache: gemmaCache, hook: gemmaHook, logits: .none)
        XCTAssertThrowsError(try gemmaHook.finish(gemmaCache, contextIDs: gemmaIDs)) {
            XCTAssertTrue("\($0)".contains("sliding-window layers"), "\($0)")
        }
    }

    func testSpecRoundTripAndBadParameters() throws {
        XCTAssertEqual(try PressSpec.parse("minicache").description, "minicache:interpolation=0.6,retention_ratio=0.05")
        let spec = "minicache:interpolation=0.25,retention_ratio=0.1"
        let press = try XCTUnwrap(PressSpec.parse(spec) as? MiniCachePress)
        XCTAssertEqual(press.description, spec)
        XCTAssertEqual(press.interpolation, 0.25)
        XCTAssertEqual(press.retentionRatio, 0.1)
        XCTAssertEqual(press.compressionRatio, 0, "no entry is evicted")
        XCTAssertEqual(try PressSpec.parse(press.description).description, spec)
        for (bad, parameter, value) in [("minicache:interpolation=1.5", "interpolation", "1.5"),
                                        ("minicache:retention_ratio=-0.1", "retention_ratio", "-0.1"),
                                        ("minicache:interpolation=abc", "interpolation", "abc")] {
            XCTAssertThrowsError(try PressSpec.parse(bad), bad) {
                XCTAssertEqual($0 as? PressError, .invalidValue(press: "minicache", parameter: parameter, value: value,
                                                                expected: "a number in [0.0, 1.0]"))
            }
        }
        XCTAssertThrowsError(try PressSpec.parse("minicache:ratio=0.5")) { XCTAssertTrue("\($0)".contains("retention_ratio"), "\($0)") }
    }
}
