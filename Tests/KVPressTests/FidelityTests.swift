import KVModel
@testable import KVPress
import KVTestSupport
import XCTest

/// The fidelity a load reports (the share of the model's reconstruction attention the kept entries
/// hold) and the press that compresses to a target fidelity instead of a ratio.
final class FidelityTests: XCTestCase {
    func testFidelityIsTheShareOfReconstructionAttentionKept() {
        // Two layers (layer 1 is local: not scored), two KV heads, four tokens.
        let mass: [[Float]] = [[0.5, 0.25, 0.125, 0.125, 1, 0, 0, 1], [9, 9, 9, 9, 9, 9, 9, 9]]
        let r = Reconstruction(scores: mass, mass: mass, layers: [0], tokenCount: 4)
        XCTAssertEqual(r.fidelity { _, _ in [0, 1, 2, 3] }, 1)
        XCTAssertEqual(r.fidelity { _, g in g == 0 ? [0, 2] : [3] }, (0.5 + 0.125 + 1) / 3, accuracy: 1e-12)
        XCTAssertEqual(r.fidelity { _, _ in [] }, 0)
        XCTAssertEqual(r.fidelity { _, _ in [7, -1] }, 0, "positions outside the context count for nothing")
    }

    /// On the model: kvzip reports how much it lost, the fidelity press reaches its target with the
    /// fewest entries in kvzip's order, and presses without the reconstruction measure nothing.
    func testFidelityOnTheModel() throws {
        let model = try TestModel.model()
        let none = try TestModel.golden("presses/none.json") as! [String: Any]
        // The first 640 tokens: enough text for every property, a quarter of the cost.
        let context = Array((none["context_ids"] as! [Int]).prefix(640))
        func load(_ spec: String) throws -> (fidelity: Double?, hook: PressHook, cache: KVCache) {
            let cache = model.makeCache()
            let hook = PressHook(try PressSpec.parse(spec), model: model)
            _ = try model.forward(context, cache: cache, hook: hook, logits: .none)
            try hook.finish(cache, contextIDs: context)
            return (hook.fidelity, hook, cache)
        }
        XCTAssertNil(try load("snapkv:ratio=0.5").fidelity, "snapkv does not read the reconstruction")

        let half = try XCTUnwrap(try load("kvzip:ratio=0.5").fidelity)
        let tenth = try XCTUnwrap(try load("kvzip:ratio=0.9").fidelity)
        XCTAssertLessThan(half, 1)
        XCTAssertLessThan(tenth, half, "keeping a subset of the same order holds less")
        XCTAssertGreaterThan(tenth, 0.1, "kvzip keeps the most attended entries: more than their share")

        let target = try load("fidelity:target=0.9")
        let reached = try XCTUnwrap(target.fidelity)
        XCTAssertGreaterThanOrEqual(reached, 0.9)
        let achieved = target.hook.press.compressionRatio
        XCTAssertGreaterThan(achieved, 0.3)
        XCTAssertEqual(achieved, 1 - Double(target.cache.entryCount) / Double(30 * 3 * context.count), accuracy: 1e-12)
        // kvzip evicting slightly more, in the same order, falls below the target.
        let more = try XCTUnwrap(try load("kvzip:ratio=\(min(achieved + 0.02, 0.99))").fidelity)
        XCTAssertLessThan(more, 0.9)
    }
}
