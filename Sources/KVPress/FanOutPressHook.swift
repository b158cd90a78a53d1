import KVModel

/// Applies several presses to ONE context prefill, each to its own copy of the cache.
///
/// A press compresses a layer's cache after that layer's attention has run, so the residual
/// stream that reaches the next layer never depends on the press (kvpress's hooks work the same
/// way). One forward pass over the context can therefore feed every press: after each layer's
/// attention, the layer's new keys and values are appended to every target cache and that
/// target's ``PressHook`` sees the observation exactly as it would on a prefill of its own (same
/// local-layer rule, same attention outputs). The prefill's own cache stays uncompressed.
///
/// ```swift
/// let fan = FanOutPressHook(presses: presses, model: model, storage: .f16)
/// let cache = model.makeCache()
/// _ = try model.forward(contextIDs, cache: cache, hook: fan, logits: .none)
/// try fan.finish(contextIDs: contextIDs, prefilled: cache)   // kvzip and the like decide here
/// ```
public final class FanOutPressHook: LayerHook {
    /// One press and the cache it fills.
    public struct Target {
        public let hook: PressHook
        public let cache: KVCache
    }

    public let targets: [Target]

    /// - Parameter presses: the presses to apply; each gets a new empty cache of `storage`.
    public init(presses: [Press], model: Model, storage: KVStorageType = .f16) {
        targets = presses.map { Target(hook: PressHook($0, model: model), cache: model.makeCache(storage: storage)) }
    }

    /// Everything any of the presses needs from the attention.
    public var observes: AttentionOutputs { targets.reduce([]) { $0.union($1.hook.observes) } }

    public func afterAttention(_ o: AttentionObservation) throws {
        // Only the context prefill (over an empty cache) is fanned out, as `PressHook` compresses only it.
        guard o.cache.allSatisfy({ $0.count == o.tokenCount }) else { return }
        let stride = o.tokenCount * o.config.headDimension
        for t in targets {
            let heads = t.cache.layers[o.layer]
            for (g, head) in heads.enumerated() {
                head.append(keys: o.keys + g * stride, values: o.values + g * stride, count: o.tokenCount,
                            firstPosition: o.firstPosition)
            }
            try t.hook.afterAttention(o.replacingCache(heads))
        }
    }

    /// Call after the forward pass with the context's ids: gives each target the prefilled cache's
    /// next position, then finishes its press as `PressHook.finish(_:contextIDs:)` does (a
    /// ``ContextPress`` such as `kvzip` compresses here; re-rotating presses move the position).
    /// - Throws: what a press's finish throws.
    public func finish(contextIDs: [Int], prefilled: KVCache) throws {
        for t in targets {
            t.cache.nextPosition = prefilled.nextPosition
            t.cache.longRoPE = prefilled.longRoPE
            try t.hook.finish(t.cache, contextIDs: contextIDs)
        }
    }
}
