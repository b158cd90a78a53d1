/// Per-layer, per-head budgets read from a LU-KV budget curve around an inner scorer (kvpress `LUKVPress`).
///
/// The inner press scores the layer; the first `sink` and last `window` entries get the top
/// score (the layer's maximum + 1). The curve's row for the ratio (`round(100·ratio) − 1`) gives
/// each KV head a prune ratio `p`; its ideal count is `(1 − p)·T`, the layer's total is rounded,
/// every head takes the floor of its ideal and the heads with the largest fractions one more
/// until the total is met (ties to the lower head), at least 1 and at most `T` each. Each head
/// keeps its best entries, ties to the earlier entry. kvpress masks the rest; kvd drops them.
///
/// kvpress reads the curve of a (model, scorer) pair from the web and has curves only for
/// Llama-3.1-8B; kvd downloads nothing, so `budget_curve` is a local `.npy` made by LU-KV's
/// tools, or `uniform` (kvpress's earlier fallback: every head prunes the rounded ratio).
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2602.08585.
public final class LUKVPress: Press, CatalogPress {
    public let arguments: PressArguments
    public let press: ScorerPress
    /// `nil` for `uniform`.
    public let curve: BudgetCurve?
    public let curvePath: String
    public let sink: Int
    public let window: Int

    /// - Throws: `PressError.badFile` when the curve cannot be read.
    public init(_ arguments: PressArguments, press: ScorerPress) throws {
        self.arguments = arguments
        self.press = press
        curvePath = arguments[.budgetCurve]
        if curvePath == "uniform" { curve = nil } else { curve = try BudgetCurve(contentsOf: curvePath) }
        sink = arguments[.sink]
        window = arguments[.window]
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double { press.compressionRatio }

    /// Entries each KV head of `layer` keeps out of `T`.
    /// - Throws: `PressError.badFile` when the curve does not have this model's layers and KV heads.
    public func headBudgets(layer: Int, layerCount L: Int, headCountKV G: Int, tokens T: Int) throws -> [Int] {
        let row = BudgetCurve.target(ratio: compressionRatio)
        let prune: [Float]
        if let curve {
            guard curve.layerCount == L, curve.headCount == G else {
                throw PressError.badFile(press: name, path: curvePath,
                                         reason: "the curve has \(curve.layerCount) layers × \(curve.headCount) KV heads, the model \(L) × \(G)")
            }
            prune = curve.ratios[row][layer]
        } else {
            prune = [Float](repeating: Float(row + 1) / 100, count: G)
        }
        let ideal = prune.map { min(max(1 - $0, 0), 1) * Float(T) }
        let total = min(max(Int(ideal.reduce(0, +).rounded(.toNearestOrEven)), G), G * T)
        var counts = ideal.map { Int($0.rounded(.down)) }
        let remainder = total - counts.reduce(0, +)
        if remainder > 0 {
            let fractions = zip(ideal, counts).map { $0 - Float($1) }
            let top = fractions.withUnsafeBufferPointer { TopK.indices($0.baseAddress!, count: G, keep: min(remainder, G)) }
            for g in top { counts[g] += 1 }
        }
        return counts.map { min(max($0, 1), T) }
    }

    public func compress(_ input: PressInput) throws {
        guard compressionRatio > 0 else { return }
        let T = input.tokenCount, G = input.headCountKV
        let budgets = try headBudgets(layer: input.layer, layerCount: input.geometry.layerCount, headCountKV: G, tokens: T)
        var scores = try press.score(input)
        let top = Pooling.max(scores) + 1
        for g in 0..<G {
            for j in 0..<min(sink, T) { scores[g * T + j] = top }
            for j in max(0, T - window)..<T { scores[g * T + j] = top }
        }
        input.keep(TopK.perHead(scores, heads: G, count: T, keep: budgets))
    }
}
