import Foundation
import KVModel
import KVPress
import KVTestSupport
import XCTest

/// Every registered press on every architecture (the tiny random-weight models of
/// `Tests/KVModelTests/Fixtures/tiny/`): it runs, compresses exactly the layers kvpress compresses
/// (all but Gemma 3's local layers, which keep their window), keeps the budget, and the cache then
/// answers (a question's forward pass continues after the original positions).
final class ArchitecturePressTests: XCTestCase {
    static let models = ["tiny-llama", "tiny-qwen2", "tiny-qwen3", "tiny-gemma3-scaled", "tiny-phi3"]
    static let tokens = 200
    /// Presses whose budget differs per head or layer (their mean still is the ratio's).
    static let uneven: Set<String> = ["adakv", "critical_adakv", "pyramidkv", "kvzip", "kvcompose"]
    /// Presses that at these settings evict no tokens: `think` narrows key channels instead,
    /// `simlayerkv` compresses only layers it finds lazy, `minicache` merges layer pairs; `dms`
    /// evicts what falls below its threshold, however many entries that is.
    static let noTokenBudget: Set<String> = ["think", "simlayerkv", "minicache", "dms"]

    func testEveryPressOnEveryArchitecture() throws {
        var report = ""
        for name in Self.models {
            let model = try TestModel.tinyModel(name)
            let c = model.config
            var rng = KVModel.SplitMix64(seed: 7)
            let ids = (0..<Self.tokens).map { _ in 4 + Int(rng.next() % UInt64(c.vocabularySize - 8)) }
            let global = (0..<c.layerCount).filter { !c.isLocalLayer($0) }
            for press in PressCatalog.names {
                var spec = PressExamples.halfRatio[press]!
                if press == "per_layer" {
                    spec = "per_layer(snapkv):compression_ratios=" + Array(repeating: "0.5", count: c.layerCount).joined(separator: ";")
                }
                let hook = PressHook(try PressSpec.parse(spec), model: model)
                let cache = model.makeCache(storage: .f32)
                let rerotates = PressHook.rerotates(hook.press)
                if rerotates && c.slidingLayers.contains(true) {
                    XCTAssertThrowsError(try model.forward(ids, cache: cache, hook: hook, logits: .none)) {
                        XCTAssertTrue("\($0)".contains("sliding-window layers"), "\($0)")
                    }
                    continue
                }
                if press == "headkv" {
                    // Its built-in retrieval-head profile is SmolLM2's: other models need their own
                    // (`kvbench profile-heads`), and say so.
                    XCTAssertThrowsError(try model.forward(ids, cache: cache, hook: hook, logits: .none)) {
                        XCTAssertTrue("\($0)".contains("profile"), "\($0)")
                    }
                    continue
                }
                _ = try model.forward(ids, cache: cache, hook: hook, logits: .none)
                if press == "minicache" && c.slidingLayers.contains(true) {
                    // A local layer keeps its own window; it cannot share entries with its neighbour.
                    XCTAssertThrowsError(try hook.finish(cache, contextIDs: ids)) {
                        XCTAssertTrue("\($0)".contains("sliding-window layers"), "\($0)")
                    }
                    continue
                }
                try hook.finish(cache, contextIDs: ids)
                model.dropEntriesOutsideWindows(cache)
                XCTAssertEqual(hook.layersCompressed, global.count, "\(name) \(spec): layers compressed")
                for l in 0..<c.layerCount {
                    for (g, head) in cache.layers[l].enumerated() {
                        if let w = c.window(layer: l), c.isLocalLayer(l) {
                            XCTAssertEqual(head.positions, Array((Self.tokens - w + 1)..<Self.tokens), "\(name) \(spec): local layer \(l) head \(g) keeps its window")
                        } else {
                            XCTAssertGreaterThan(head.count, 0, "\(name) \(spec): layer \(l) head \(g) is empty")
                            XCTAssertLessThanOrEqual(head.count, Self.tokens, "\(name) \(spec): layer \(l) head \(g)")
                        }
                    }
                }
                let counts = global.flatMap { l in cache.layers[l].map(\.count) }
                report += "\(name) \(spec): \(counts)\n"
                let half = Self.tokens / 2
                if press == "fidelity" {
                    // Its budget follows the reconstruction attention: whatever holds the target.
                    XCTAssertGreaterThanOrEqual(try XCTUnwrap(hook.fidelity), 0.9, "\(name) \(spec): fidelity")
                    XCTAssertLessThan(counts.reduce(0, +), counts.count * Self.tokens, "\(name) \(spec): evicts something")
                } else if press == "think" {
                    XCTAssertEqual(Set(global.flatMap { l in cache.layers[l].map(\.keyDimension) }), [c.headDimension / 2],
                                   "\(name) \(spec): key channels kept")
                } else if press == "pyramidkv" && global.count < c.layerCount {
                    // Its budgets follow the layer index over all layers (kvpress); Gemma 3's global
                    // layers sit at the narrow end of the pyramid, so their mean is below the ratio's.
                    XCTAssertLessThan(counts.max()!, half, "\(name) \(spec)")
                } else if Self.uneven.contains(press) {
                    XCTAssertEqual(Double(counts.reduce(0, +)) / Double(counts.count), Double(half), accuracy: 1,
                                   "\(name) \(spec): mean kept per head \(counts)")
                } else if !Self.noTokenBudget.contains(press) {
                    XCTAssertEqual(Set(counts), [half], "\(name) \(spec): kept per head")
                }
                let next = try model.forward([ids[0], ids[1]], cache: cache, logits: .last)
                XCTAssertEqual(cache.nextPosition, rerotates ? counts.max()! + 2 : Self.tokens + 2, "\(name) \(spec): next position")
                XCTAssertFalse(next.contains { !$0.isFinite }, "\(name) \(spec): non-finite logits after compression")
            }
        }
        if ProcessInfo.processInfo.environment["KVD_VERBOSE"] == "1" { print(report) }
    }
}

