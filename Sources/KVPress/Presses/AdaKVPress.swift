/// Head-wise budgets: the best entries over ALL KV heads of a layer stay, so heads keep different
/// numbers of entries (kvpress `AdaKVPress`).
///
/// Each head first protects its top `Int(n_kept·alpha_safeguard)` entries (`n_kept =
/// Int(T·(1 − ratio))`); then the `G·n_kept` highest scores of the layer are kept. Unlike kvpress,
/// which only masks the pruned entries, kvd really drops them: each head's cache shrinks to its
/// own length and the memory returns.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2407.11550.
public final class AdaKVPress: Press, CatalogPress {
    public let arguments: PressArguments
    public let press: ScorerPress
    public let alphaSafeguard: Double

    public init(_ arguments: PressArguments, press: ScorerPress) {
        self.arguments = arguments
        self.press = press
        alphaSafeguard = arguments[.alphaSafeguard]
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double { press.compressionRatio }

    public func compress(_ input: PressInput) throws {
        guard press.compressionRatio > 0 else { return }
        var scores = try press.score(input)
        let T = input.tokenCount, G = input.headCountKV
        let nKept = Int(Double(T) * (1 - press.compressionRatio))
        Self.protect(&scores, heads: G, count: T, keep: Int(Double(nKept) * alphaSafeguard))
        input.keep(Self.layerWide(scores, heads: G, count: T, keep: G * nKept))
    }

    /// Sets each head's top `keep` scores to the largest finite float.
    static func protect(_ scores: inout [Float], heads G: Int, count T: Int, keep: Int) {
        let top = TopK.perHead(scores, heads: G, count: T, keep: keep)
        for g in 0..<G { for j in top[g] { scores[g * T + j] = .greatestFiniteMagnitude } }
    }

    /// The `keep` best entries over all heads of `[G, T]` scores, grouped per head (ascending).
    static func layerWide(_ scores: [Float], heads G: Int, count T: Int, keep: Int) -> [[Int]] {
        let flat = scores.withUnsafeBufferPointer { TopK.indices($0.baseAddress!, count: G * T, keep: keep) }
        var kept = [[Int]](repeating: [], count: G)
        for i in flat { kept[i / T].append(i % T) }
        return kept
    }
}
