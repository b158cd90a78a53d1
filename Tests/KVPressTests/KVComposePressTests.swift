import Foundation
import KVModel
@testable import KVPress
import KVTestSupport
import XCTest

/// `kvcompose` against a naive computation of kvpress's definition on tiny models, its composite
/// budgets on hand-made scores, its spec and its errors. No kvpress golden exists for it (kvpress
/// needs torch, which this machine lacks, and `golden/presses/` predates the press).
final class KVComposePressTests: XCTestCase {
    // MARK: - Budgets on hand-made scores

    /// Three layers, two KV heads, four entries: `[G, T]` per layer (scores already enhanced). Each
    /// layer's heads rank the same values on different entries.
    static let scores: [[Float]] = [
        [0.5, 0.1, 0, 0, /**/ 0, 0, 0.5, 0.1],
        [0.2, 0.9, 0, 0, /**/ 0, 0, 0.9, 0.2],
        [0.6, 0.55, 0, 0, /**/ 0.55, 0, 0, 0.6],
    ]

    func testCompositeTokensSetOneCountPerLayerAndEachHeadKeepsItsOwnBest() throws {
        // Composite scores (mean of the heads' ranked scores): 0.5 0.1 0 0 | 0.9 0.2 0 0 | 0.6 0.55 0 0.
        // The first layer is raised to the max over layers: 0.9 0.55 0 0. Int(12 · 0.25) = 3 best:
        // 0.9 (layer 0), 0.9 (layer 1), 0.6 (layer 2). Without raising layer 0: 0.9, 0.6, 0.55 → 0, 1, 2.
        let kvcompose = try press("kvcompose:ratio=0.75", as: KVComposePress.self)
        XCTAssertEqual(kvcompose.keptCounts(Self.scores, headsKV: 2, tokens: 4), [[1, 1], [1, 1], [1, 1]])
        XCTAssertEqual(kvcompose.keptEntries(Self.scores, headsKV: 2, tokens: 4), [[[0], [2]], [[1], [2]], [[0], [3]]],
                       "composite token i = each head's own i-th best entry")
    }

    func testUnstructuredHeadsCompeteDirectly() throws {
        // Int(24 · 0.25) = 6 best ranked scores: 0.9 0.9 0.6 0.6 0.55 0.55 → layer 0 keeps nothing.
        let kvcompose = try press("kvcompose:ratio=0.75,structured=false", as: KVComposePress.self)
        XCTAssertEqual(kvcompose.keptEntries(Self.scores, headsKV: 2, tokens: 4), [[[], []], [[1], [2]], [[0, 1], [0, 3]]])
    }

    func testLayersHaveNoFloorButTheLowerBoundIsFavoured() throws {
        let quiet: [[Float]] = [Self.scores[0], [Float](repeating: 0, count: 8)]
        // Int(8 · 0.25) = 2: layer 0's composite tokens (0.5, 0.1) beat layer 1's zeros, which keeps nothing.
        let plain = try press("kvcompose:ratio=0.75", as: KVComposePress.self)
        XCTAssertEqual(plain.keptEntries(quiet, headsKV: 2, tokens: 4), [[[0, 1], [2, 3]], [[], []]])
        // keep_token_lower_bound=1 lifts every layer's first composite token by 1e9.
        let bounded = try press("kvcompose:ratio=0.75,keep_token_lower_bound=1", as: KVComposePress.self)
        XCTAssertEqual(bounded.keptEntries(quiet, headsKV: 2, tokens: 4), [[[0], [2]], [[0], [0]]])
    }

    // MARK: - The whole press against the naive definition

    func testMatchesTheNaiveDefinitionOnTinyLlama() throws {
        let model = try TestModel.tinyModel("tiny-llama")
        let ids = Self.context(40)
        for spec in ["kvcompose:ratio=0.5", "kvcompose:ratio=0.6,structured=false",
                     "kvcompose:ratio=0.8,agg_task=mean,agg_group=max,agg_head=max,add_v_norm=true,"
                        + "add_mean_across_heads=false,keep_token_lower_bound=5"] {
            try checkAgainstNaive(model, ids, spec, scale: 1 / Float(16).squareRoot())
        }
    }

    func testGemma3ScoresOnlyItsGlobalLayer() throws {
        // Layers 0–4 are local (window 8), layer 5 global; kvd's Gemma 3 attends with 1/√head_dim = 24^-½.
        let model = try TestModel.tinyModel("tiny-gemma3")
        let cache = try checkAgainstNaive(model, Self.context(40), "kvcompose:ratio=0.5", scale: 1 / Float(24).squareRoot())
        for l in 0..<5 { XCTAssertEqual(cache.layers[l][0].count, 40, "local layer \(l) is left alone") }
        XCTAssertEqual(cache.layers[5][0].count, 20)
    }

    func testAnEmptiedLayerStillAnswers() throws {
        // At high ratios a layer can keep nothing (kvpress main has no floor): the model must still run.
        let model = try TestModel.tinyModel("tiny-llama")
        let ids = Self.context(40)
        let cache = try compressed(model, ids, "kvcompose:ratio=0.5")
        for head in cache.layers[1] { head.keep([]) }
        let logits = try model.forward([5, 6, 7], cache: cache)
        XCTAssertEqual(logits.count, model.config.vocabularySize)
        XCTAssertTrue(logits.allSatisfy(\.isFinite))
    }

    // MARK: - Spec and errors

    func testSpecRoundTripsAndBadParametersAreRefused() throws {
        let p = try PressSpec.parse("kvcompose:ratio=0.3,structured=false,agg_task=mean,keep_token_lower_bound=4")
        XCTAssertEqual(p.description, "kvcompose:structured=false,compression_ratio=0.3,agg_task=mean,agg_group=mean,"
                       + "agg_head=mean,add_v_norm=false,add_mean_across_heads=true,keep_token_lower_bound=4")
        XCTAssertEqual(try PressSpec.parse(p.description).description, p.description)
        XCTAssertEqual(try PressSpec.parse("kvcompose").description, "kvcompose:structured=true,compression_ratio=0.0,"
                       + "agg_task=max,agg_group=mean,agg_head=mean,add_v_norm=false,add_mean_across_heads=true,keep_token_lower_bound=0")
        func message(_ spec: String) -> String {
            do { _ = try PressSpec.parse(spec); return "" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("kvcompose:ratio=1"), "invalid value '1' for kvcompose.compression_ratio; expected a number in [0, 1)")
        XCTAssertEqual(message("kvcompose:agg_task=sum"), "invalid value 'sum' for kvcompose.agg_task; expected one of mean, max")
        XCTAssertEqual(message("kvcompose:agg_head=median"), "invalid value 'median' for kvcompose.agg_head; expected one of mean, max")
        XCTAssertEqual(message("kvcompose:keep_token_lower_bound=-1"),
                       "invalid value '-1' for kvcompose.keep_token_lower_bound; expected an integer ≥ 0")
        XCTAssertEqual(message("kvcompose:structured=maybe"), "invalid value 'maybe' for kvcompose.structured; expected true or false")
        XCTAssertTrue(message("kvcompose:window_size=4").hasPrefix("press 'kvcompose' has no parameter 'window_size'"))
        XCTAssertEqual(message("composed(kvcompose:ratio=0.5,knorm:ratio=0.5)"),
                       "press 'composed' cannot contain 'kvcompose' (it compresses after the prefill)")
    }

    func testContextsThatCannotBeReReadAreRefused() throws {
        let llama = try TestModel.tinyModel("tiny-llama")
        let limit = llama.config.contextLength
        XCTAssertThrowsError(try compressed(llama, Self.context(limit / 2 + 1), "kvcompose:ratio=0.5")) {
            XCTAssertEqual("\($0)", "press 'kvcompose' takes a context of at most \(limit / 2) tokens on this model, "
                           + "got \(limit / 2 + 1); use a shorter document or another press")
        }
        // A model whose every layer attends through a window of 8 (Mistral's kind) would not see the context it re-reads.
        var windowed = llama.config
        windowed.slidingWindow = 8
        windowed.slidingLayers = [true, true]
        let kvcompose = try press("kvcompose:ratio=0.5", as: KVComposePress.self)
        XCTAssertEqual(kvcompose.rereadError(windowed, tokens: 40, nextPosition: 40)?.description,
                       "press 'kvcompose' cannot be used with this model: layer 0 attends through a window of "
                       + "8 positions, too few to re-read a context of 40 tokens after itself")
        XCTAssertNil(kvcompose.rereadError(windowed, tokens: 4, nextPosition: 4), "a window of 8 sees a re-read of 4 after 4")
        XCTAssertNil(kvcompose.rereadError(llama.config, tokens: limit / 2, nextPosition: limit / 2))
    }

    // MARK: - Helpers

    /// Deterministic token ids below the tiny models' vocabulary of 384.
    static func context(_ n: Int) -> [Int] { (0..<n).map { 3 + ($0 * 37 + $0 * $0 * 11) % 380 } }

    /// `ids` prefilled (f32) and compressed by `spec` through `PressHook`, as a load does.
    func compressed(_ model: Model, _ ids: [Int], _ spec: String) throws -> KVCache {
        let cache = model.makeCache(storage: .f32)
        let hook = PressHook(try PressSpec.parse(spec), model: model)
        _ = try model.forward(ids, cache: cache, hook: hook, logits: .none)
        try hook.finish(cache, contextIDs: ids)
        return cache
    }

    /// Compresses `ids` with `spec` and checks the kept entries against `NaiveKVCompose`, and that
    /// kept entries are the prefill's own, untouched. Returns the compressed cache.
    @discardableResult
    func checkAgainstNaive(_ model: Model, _ ids: [Int], _ spec: String, scale: Float) throws -> KVCache {
        let kvcompose = try press(spec, as: KVComposePress.self)
        let c = model.config, T = ids.count
        let prefilled = model.makeCache(storage: .f32)
        _ = try model.forward(ids, cache: prefilled, logits: .none)
        let capture = RereadCapture(contextLength: T)
        _ = try model.forward(ids, cache: prefilled.copy(), hook: capture, logits: .none)
        let global = (0..<c.layerCount).filter { capture.layers[$0] != nil }
        let naive = NaiveKVCompose(press: kvcompose, layers: global.map { capture.layers[$0]! }, tokens: T,
                                   heads: c.headCount, headsKV: c.headCountKV, width: c.headDimension, scale: scale)

        // The press's own pass scores agree with the naive attention.
        let passScores = try kvcompose.passScores(contextIDs: ids, cache: prefilled.copy(), model: model, layers: global)
        for (i, s) in passScores.enumerated() {
            for (a, b) in zip(s, naive.passScores[i]) { XCTAssertEqual(Double(a), b, accuracy: 1e-5 * max(1, abs(b)), spec) }
        }

        let cache = try compressed(model, ids, spec)
        XCTAssertEqual(cache.nextPosition, T, "later tokens continue after the original context")
        let kept = naive.kept()
        for (i, l) in global.enumerated() {
            for g in 0..<c.headCountKV {
                let head = cache.layers[l][g]
                XCTAssertEqual(head.positions, kept[i][g], "\(spec): layer \(l) head \(g)")
                for (row, p) in head.positions.enumerated() {
                    for ch in 0..<c.headDimension {
                        XCTAssertEqual(head.key(row, ch), prefilled.layers[l][g].key(p, ch))
                        XCTAssertEqual(head.value(row, ch), prefilled.layers[l][g].value(p, ch))
                    }
                }
            }
            if kvcompose.structured {
                XCTAssertEqual(Set(cache.layers[l].map(\.count)).count, 1, "\(spec): one count per layer")
            }
        }
        let total = global.count * (kvcompose.structured ? 1 : c.headCountKV) * T
        let units = global.reduce(0) { n, l in n + cache.layers[l].map(\.count).reduce(0, +) } / (kvcompose.structured ? c.headCountKV : 1)
        XCTAssertEqual(units, Int(Double(total) * (1 - kvcompose.compressionRatio)), "\(spec): the global budget")
        return cache
    }
}

/// Copies what the re-read shows in each global layer: its queries and keys, and the context's keys and values.
private final class RereadCapture: LayerHook {
    struct Layer {
        var queries: [Float], ownKeys: [Float], contextKeys: [Float], contextValues: [Float]
    }
    let contextLength: Int
    var layers: [Int: Layer] = [:]

    init(contextLength: Int) { self.contextLength = contextLength }

    func afterAttention(_ o: AttentionObservation) throws {
        guard !o.config.isLocalLayer(o.layer) else { return }
        let T = contextLength, q = o.tokenCount, D = o.config.headDimension, G = o.cache.count
        var context = [Float](), values = [Float]()
        for g in 0..<G {
            for j in 0..<T {
                for c in 0..<D {
                    context.append(o.cache[g].key(j, c))
                    values.append(o.cache[g].value(j, c))
                }
            }
        }
        layers[o.layer] = Layer(queries: Array(UnsafeBufferPointer(start: o.queries, count: G * o.config.groupSize * q * D)),
                                ownKeys: Array(UnsafeBufferPointer(start: o.keys, count: G * q * D)),
                                contextKeys: context, contextValues: values)
    }
}

/// kvpress's `KVComposePress` written out as loops in Double, from what the re-read showed.
private struct NaiveKVCompose {
    let press: KVComposePress
    let T: Int, G: Int, D: Int
    /// Per scored layer, `[g][j]` flattened: attention reduced over the queries and the group.
    let passScores: [[Double]]
    let values: [[Float]]

    init(press: KVComposePress, layers: [RereadCapture.Layer], tokens T: Int, heads H: Int, headsKV G: Int, width D: Int, scale: Float) {
        self.press = press
        self.T = T
        self.G = G
        self.D = D
        values = layers.map(\.contextValues)
        passScores = layers.map { layer in
            func dot(_ a: [Float], _ i: Int, _ b: [Float], _ j: Int) -> Double {
                (0..<D).reduce(0.0) { $0 + Double(a[i * D + $1]) * Double(b[j * D + $1]) }
            }
            var perQueryHead = [[Double]](repeating: [Double](repeating: 0, count: T), count: H)
            for h in 0..<H {
                let g = h / (H / G)
                for i in 0..<T {
                    // Query i sees the whole context, then the re-read's tokens 0...i.
                    var logits = (0..<T).map { j in dot(layer.queries, h * T + i, layer.contextKeys, g * T + j) * Double(scale) }
                    logits += (0...i).map { j in dot(layer.queries, h * T + i, layer.ownKeys, g * T + j) * Double(scale) }
                    let top = logits.max()!
                    let e = logits.map { Foundation.exp($0 - top) }
                    let total = e.reduce(0, +)
                    for j in 0..<T {
                        let p = e[j] / total
                        perQueryHead[h][j] = press.taskAggregation == .max ? max(perQueryHead[h][j], p) : perQueryHead[h][j] + p / Double(T)
                    }
                }
            }
            var s = [Double]()
            for g in 0..<G {
                let group = ((g * H / G)..<((g + 1) * H / G)).map { perQueryHead[$0] }
                for j in 0..<T {
                    let column = group.map { $0[j] }
                    s.append(press.groupAggregation == .max ? column.max()! : column.reduce(0, +) / Double(column.count))
                }
            }
            return s
        }
    }

    /// Per scored layer and KV head, the positions kept.
    func kept() -> [[[Int]]] {
        let L = passScores.count, bound = min(press.keepTokenLowerBound, T)
        var scores = passScores
        for l in 0..<L {
            if press.addValueNorm {
                for g in 0..<G {
                    for j in 0..<T {
                        let v = values[l][((g * T + j) * D)..<((g * T + j + 1) * D)]
                        scores[l][g * T + j] *= v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                    }
                }
            }
            if press.addMeanAcrossHeads {
                let means = (0..<T).map { j in (0..<G).reduce(0.0) { $0 + scores[l][$1 * T + j] } / Double(G) }
                for g in 0..<G { for j in 0..<T { scores[l][g * T + j] += means[j] } }
            }
        }
        let ranked = scores.map { s in (0..<G).map { g in Array(s[(g * T)..<((g + 1) * T)]).sorted(by: >) } }
        var counts = [[Int]](repeating: [Int](repeating: 0, count: G), count: L)
        if press.structured {
            var composite = ranked.map { heads in
                (0..<T).map { r in press.headAggregation == .max ? heads.map { $0[r] }.max()! : heads.reduce(0.0) { $0 + $1[r] } / Double(G) }
            }
            for l in 0..<L { for r in 0..<bound { composite[l][r] += 1e9 } }
            for r in 0..<T { composite[0][r] = (0..<L).map { composite[$0][r] }.max()! }
            var order: [(score: Double, layer: Int, rank: Int)] = []
            for l in 0..<L { for r in 0..<T { order.append((composite[l][r], l, r)) } }
            order.sort { $0.score != $1.score ? $0.score > $1.score : ($0.layer, $0.rank) < ($1.layer, $1.rank) }
            for e in order.prefix(Int(Double(L * T) * (1 - press.compressionRatio))) {
                for g in 0..<G { counts[e.layer][g] += 1 }
            }
        } else {
            var order: [(score: Double, layer: Int, head: Int)] = []
            for l in 0..<L {
                for g in 0..<G {
                    for r in 0..<T { order.append((ranked[l][g][r] + (r < bound ? 1e9 : 0), l, g)) }
                }
            }
            order.sort { $0.score > $1.score }
            for e in order.prefix(Int(Double(L * G * T) * (1 - press.compressionRatio))) { counts[e.layer][e.head] += 1 }
        }
        return (0..<L).map { l in
            (0..<G).map { g in
                (0..<T).sorted { a, b in
                    let x = scores[l][g * T + a], y = scores[l][g * T + b]
                    return x != y ? x > y : a < b
                }.prefix(counts[l][g]).sorted()
            }
        }
    }
}
