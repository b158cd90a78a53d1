/// Head-wise budgets: the best entries over ALL KV heads of a layer stay, so heads keep different
/// numbers of entries (kvpress `AdaKVPress`).
///
/// Each head first protects its top `Int(n_kept·alpha_safeguard)` entries (`n_kept =
/// Int(T·(1 − ratio))`); then the `G·n_kept` highest scores of the layer are kept. Unlike kvpress,
/// which only masks the pruned entries, kvd really drops them: each head's cache shrinks to its
/// own length and the memory returns.
///
/// - Parameters:
///   - press: the inner scorer press.
///   - alpha_safeguard: minimum share of `n_kept` every head keeps, `[0, 1]`; default `0.20`.
///   - compression_ratio: sets the inner press's ratio; default: the inner press's.
///
/// Based on https://arxiv.org/abs/2407.11550.
public final class AdaKVPress: Press {
    public let name = "adakv"
    public let press: ScorerPress
    public var alphaSafeguard: Double

    public init(press: ScorerPress, alphaSafeguard: Double = 0.20) throws {
        guard (0...1).contains(alphaSafeguard) else {
            throw PressError.invalidValue(press: "adakv", parameter: "alpha_safeguard", value: String(alphaSafeguard), expected: "a number in [0, 1]")
        }
        self.press = press
        self.alphaSafeguard = alphaSafeguard
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double { press.compressionRatio }
    public var parameterValues: [(String, String)] { [("alpha_safeguard", String(alphaSafeguard))] }

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

    static let descriptor = PressDescriptor(
        name: "adakv", summary: "head-wise budgets: the layer's best entries over all heads stay (heads keep different lengths)",
        reference: "https://arxiv.org/abs/2407.11550",
        parameters: [
            PressParameter("alpha_safeguard", "0.2", "minimum share of the average budget every head keeps, [0, 1]"),
            PressParameter("compression_ratio", "none", "sets the inner press's ratio, [0, 1)"),
        ], inner: .one
    ) { args, inner in
        let p = try PressRegistry.scorer(inner, for: "adakv")
        if let r = try args.optionalRatio() { p.compressionRatio = r }
        return try AdaKVPress(press: p, alphaSafeguard: args.double("alpha_safeguard", in: 0...1))
    }
}
