import Dispatch
import Foundation
import KVModel
import KVTestSupport
import KVPress
import XCTest

/// Compresses each layer of one prefill with several presses, each on a throwaway copy of the
/// layer's heads (so memory stays one layer per press), timing every press.
final class TimingHook: LayerHook {
    let hooks: [PressHook]
    let model: Model

    init(presses: [Press], model: Model) {
        self.model = model
        hooks = presses.map { PressHook($0, model: model) }
    }

    var observes: AttentionOutputs { hooks.reduce([]) { $0.union($1.observes) } }

    func afterAttention(_ o: AttentionObservation) throws {
        let D = o.config.headDimension, T = o.tokenCount
        for hook in hooks {
            let heads = (0..<o.config.headCountKV).map { g -> HeadKVCache in
                let head = HeadKVCache(headDimension: D, storage: .f16)
                head.append(keys: o.keys + g * T * D, values: o.values + g * T * D, count: T, firstPosition: o.firstPosition)
                return head
            }
            try hook.apply(PressInput(o, cache: heads, model: model))
        }
    }
}

/// Prints, for every registered press, its compression time next to the prefill time of a
/// 4096-token context (the bar: under 10% for scorer presses, kvzip excepted). No timing
/// assertions: the machine is shared. Runs only with `KVD_PRESS_SPEED=1` (about two minutes).
final class CompressionSpeedTests: XCTestCase {
    /// One spec per registered press (wrappers wrap snapkv); a new press must add its row.
    static let specs: [String: String] = [
        "knorm": "knorm:ratio=0.5", "l2norm": "l2norm:ratio=0.5", "streaming_llm": "streaming_llm:ratio=0.5",
        "snapkv": "snapkv:ratio=0.5", "tova": "tova:ratio=0.5", "expected_attention": "expected_attention:ratio=0.5",
        "observed_attention": "observed_attention:ratio=0.5", "keydiff": "keydiff:ratio=0.5", "lagkv": "lagkv:ratio=0.5",
        "non_causal_attn": "non_causal_attn:ratio=0.5", "leverage": "leverage:ratio=0.5,seed=1", "cur": "cur:ratio=0.5",
        "compactor": "compactor:ratio=0.5,seed=1", "pyramidkv": "pyramidkv:ratio=0.5", "random": "random:ratio=0.5,seed=1",
        "h2o": "h2o:ratio=0.5", "simlayerkv": "simlayerkv:lazy_threshold=0.6", "merging": "merging(snapkv):ratio=0.5",
        "chunk": "chunk(snapkv):ratio=0.5", "chunkkv": "chunkkv(snapkv):ratio=0.5", "criticalkv": "criticalkv(snapkv):ratio=0.5",
        "adakv": "adakv(snapkv):ratio=0.5", "critical_adakv": "critical_adakv(snapkv):ratio=0.5",
        "block": "block(snapkv):ratio=0.5", "composed": "composed(think:key_channel_compression_ratio=0.25,snapkv:ratio=0.5)",
        "per_layer": "per_layer(snapkv):compression_ratios=" + Array(repeating: "0.5", count: 30).joined(separator: ";"),
        "key_rerotation": "key_rerotation(snapkv:ratio=0.5)", "think": "think:key_channel_compression_ratio=0.5",
        "cam": "cam:ratio=0.5", "nacl": "nacl:ratio=0.5,seed=1", "scissorhands": "scissorhands:ratio=0.5",
        "finch": "finch:ratio=0.5", "kvzip": "kvzip:ratio=0.5",
        "headkv": "headkv:ratio=0.5",
    ]

    /// Presses that need the whole prefilled context and extra forward passes (timed on their own).
    static let postPrefill: Set<String> = ["kvzip"]

    static let tokens = 4096

    /// The golden context repeated to `tokens` ids.
    static func context() throws -> [Int] {
        let none = try TestModel.golden("presses/none.json") as! [String: Any]
        let ids = none["context_ids"] as! [Int]
        return (0..<tokens).map { ids[$0 % ids.count] }
    }

    func testEveryPressHasASpec() {
        XCTAssertEqual(Set(PressCatalog.names).subtracting(Self.specs.keys), [], "add a row to CompressionSpeedTests.specs")
    }

    func testCompressionVersusPrefillAt4096Tokens() throws {
        guard ProcessInfo.processInfo.environment["KVD_PRESS_SPEED"] == "1" else {
            throw XCTSkip("set KVD_PRESS_SPEED=1 to measure compression against prefill at \(Self.tokens) tokens")
        }
        let model = try TestModel.model()
        let ids = try Self.context()
        let only = ProcessInfo.processInfo.environment["KVD_PRESS_SPEED_ONLY"].map { Set($0.split(separator: ",").map(String.init)) }
        let names = PressCatalog.names.filter { only?.contains($0) ?? true }

        // Plain prefill, twice (the first warms the workspace); the faster counts.
        var prefill = Double.infinity
        for _ in 0..<2 {
            let t0 = DispatchTime.now()
            _ = try model.forward(ids, cache: model.makeCache(), logits: .none)
            prefill = min(prefill, Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9)
        }

        let perLayer = names.filter { !Self.postPrefill.contains($0) }
        let presses = try perLayer.map { try PressSpec.parse(Self.specs[$0] ?? "\($0):ratio=0.5") }
        let timing = TimingHook(presses: presses, model: model)
        _ = try model.forward(ids, cache: model.makeCache(), hook: timing, logits: .none)
        var rows = zip(perLayer, timing.hooks.map(\.compressionSeconds)).map { ($0, $1) }

        for name in names where Self.postPrefill.contains(name) {
            let hook = PressHook(try PressSpec.parse(Self.specs[name]!), model: model)
            let cache = model.makeCache()
            _ = try model.forward(ids, cache: cache, hook: hook, logits: .none)
            try hook.finish(cache, contextIDs: ids)
            rows.append((name, hook.compressionSeconds))
        }

        var report = String(format: "prefill of %d tokens: %.2f s\n", Self.tokens, prefill)
        report += "press               compression   % of prefill\n"
        for (name, seconds) in rows {
            report += name.padding(toLength: 18, withPad: " ", startingAt: 0)
                + String(format: " %8.3f s   %6.1f %%\n", seconds, 100 * seconds / prefill)
        }
        print(report)
    }
}
