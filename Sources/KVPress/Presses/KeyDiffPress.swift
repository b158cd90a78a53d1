/// Keeps the keys LEAST similar to the head's average key direction (kvpress `KeyDiffPress`).
///
/// Anchor: the mean of the L2-normalised keys; score: `-cos(k_j, anchor)`.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2504.15364.
public final class KeyDiffPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
    }

    public var recentQueriesRead: Int? { 0 }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount, D = input.headDimension, G = input.headCountKV
        var out = [Float](repeating: 0, count: G * T)
        for g in 0..<G {
            let norms = Norms.l2(input.key(g, 0), rows: T, width: D)
            var anchor = [Float](repeating: 0, count: D)
            for t in 0..<T {
                let k = input.key(g, t), inv = 1 / max(norms[t], 1e-12)  // F.normalize
                for c in 0..<D { anchor[c] += k[c] * inv }
            }
            for c in 0..<D { anchor[c] /= Float(T) }
            var anchorNorm: Float = 0
            for c in 0..<D { anchorNorm += anchor[c] * anchor[c] }
            anchorNorm = anchorNorm.squareRoot()
            for t in 0..<T {
                let k = input.key(g, t)
                var dot: Float = 0
                for c in 0..<D { dot += k[c] * anchor[c] }
                out[g * T + t] = -dot / max(norms[t] * anchorNorm, 1e-8)  // F.cosine_similarity
            }
        }
        return out
    }
}
