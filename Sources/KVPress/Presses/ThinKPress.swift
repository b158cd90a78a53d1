/// Prunes key CHANNELS rather than tokens (kvpress `ThinKPress`).
///
/// Channel score per KV head: mean over the last `window_size` queries of `q²` (averaged over the
/// GQA group) times the mean over the context of `k²`; the `Int(D·ratio)` lowest channels go.
/// kvpress only zeroes them; kvd narrows the stored keys (`HeadKVCache.keepKeyChannels`), so
/// memory really drops, and attention reads only the kept channels.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2407.21018.
public final class ThinKPress: Press, CatalogPress {
    public let arguments: PressArguments
    public let keyChannelCompressionRatio: Double
    public let windowSize: Int

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        keyChannelCompressionRatio = arguments[.keyChannelCompressionRatio]
        windowSize = arguments[.windowSize]
    }

    /// Half the channel ratio: keys lose that share, values none (kvpress's convention).
    public var compressionRatio: Double { keyChannelCompressionRatio / 2 }

    /// Channel scores `[G, D]` (higher = keep).
    public func channelScores(_ input: PressInput) -> [Float] {
        let T = input.tokenCount, D = input.headDimension, G = input.headCountKV, group = input.groupSize
        let w = min(windowSize, T)
        var out = [Float](repeating: 0, count: G * D)
        for g in 0..<G {
            var qn = [Float](repeating: 0, count: D), kn = qn
            for h in (g * group)..<((g + 1) * group) {
                for t in (T - w)..<T { let q = input.query(h, t); for c in 0..<D { qn[c] += q[c] * q[c] } }
            }
            for t in 0..<T { let k = input.key(g, t); for c in 0..<D { kn[c] += k[c] * k[c] } }
            for c in 0..<D { out[g * D + c] = (qn[c] / Float(w * group)) * (kn[c] / Float(T)) }
        }
        return out
    }

    public func compress(_ input: PressInput) throws {
        guard keyChannelCompressionRatio > 0 else { return }
        let D = input.headDimension
        let pruned = Int(Double(D) * keyChannelCompressionRatio)
        guard pruned > 0 else { return }
        let scores = channelScores(input)
        let keep = TopK.perHead(scores, heads: input.headCountKV, count: D, keep: D - pruned)
        for (g, head) in input.cache.enumerated() {
            // Channel indices are into the head's current stored key; a fresh context stores all.
            if head.keyChannels == nil { head.keepKeyChannels(keep[g]) }
        }
    }
}
