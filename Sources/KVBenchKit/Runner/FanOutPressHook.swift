import KVModel
import KVPress

/// Applies several presses to ONE context prefill, each to its own copy of the cache.
///
/// A press compresses a layer's cache after that layer's attention has run, so the residual
/// stream that reaches the next layer never depends on the press (kvpress's hooks work the same
/// way). One forward pass over the context can therefore feed every press of a sweep: after each
/// layer's attention, the layer's new keys and values are appended to every target cache and
/// that target's press compresses it. The prefill's own cache stays uncompressed (the `none`
/// configuration). Results equal one `Session.load` per press, at the cost of one prefill.
public final class FanOutPressHook: LayerHook {
    /// One press and the cache it fills.
    public struct Target {
        public let hook: PressHook
        public let cache: KVCache
    }

    public let targets: [Target]
    let model: Model

    /// - Parameter presses: the presses to apply; each gets a new empty cache of `storage`.
    public init(presses: [Press], model: Model, storage: KVStorageType) {
        self.model = model
        targets = presses.map { Target(hook: PressHook($0, model: model), cache: model.makeCache(storage: storage)) }
    }

    public func afterAttention(_ o: AttentionObservation) throws {
        guard o.cache.allSatisfy({ $0.count == o.tokenCount }) else { return }
        let stride = o.tokenCount * o.config.headDimension
        for t in targets {
            let heads = t.cache.layers[o.layer]
            for (g, head) in heads.enumerated() {
                head.append(keys: o.keys + g * stride, values: o.values + g * stride, count: o.tokenCount, firstPosition: o.firstPosition)
            }
            try t.hook.apply(PressInput(o, cache: heads, model: model))
        }
    }

    /// Call after the forward pass: sets each target's next position like the prefilled cache's
    /// (and lets re-rotating presses move it, as `PressHook.finish` does).
    public func finish(prefilled: KVCache) {
        for t in targets {
            t.cache.nextPosition = prefilled.nextPosition
            t.cache.longRoPE = prefilled.longRoPE
            t.hook.finish(t.cache)
        }
    }
}
