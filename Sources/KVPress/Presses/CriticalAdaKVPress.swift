/// CriticalKV's two-stage reweighting with AdaKV's head-wise budgets (kvpress `CriticalAdaKVPress`).
///
/// Head budgets come from the layer-wide top `G·n_kept` of the safeguarded inner scores; each head
/// then protects `Int(budget·first_stage_ratio)` entries by the inner scores and fills the rest of
/// its budget by `(score + epsilon)·‖W_o v‖₁`. Heads really keep different lengths. Needs the model.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2502.03805.
public final class CriticalAdaKVPress: Press, CatalogPress {
    public let arguments: PressArguments
    public let press: ScorerPress
    public let alphaSafeguard: Double
    public let epsilon: Double
    public let firstStageRatio: Double

    public init(_ arguments: PressArguments, press: ScorerPress) {
        self.arguments = arguments
        self.press = press
        alphaSafeguard = arguments[.alphaSafeguard]
        epsilon = arguments[.epsilon]
        firstStageRatio = arguments[.firstStageRatio]
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double { press.compressionRatio }

    public func compress(_ input: PressInput) throws {
        guard press.compressionRatio > 0 else { return }
        var scores = try press.score(input)
        let T = input.tokenCount, G = input.headCountKV
        let nKept = Int(Double(T) * (1 - press.compressionRatio))
        AdaKVPress.protect(&scores, heads: G, count: T, keep: Int(Double(nKept) * alphaSafeguard))
        let budgets = AdaKVPress.layerWide(scores, heads: G, count: T, keep: G * nKept).map(\.count)
        let first = TopK.perHead(scores, heads: G, count: T, keep: budgets.map { Int(Double($0) * firstStageRatio) })
        for g in 0..<G { for j in first[g] { scores[g * T + j] = .greatestFiniteMagnitude } }
        let norms = try CriticalKVPress.projectedValueNorms(input, press: name)
        for i in 0..<scores.count { scores[i] = (scores[i] + Float(epsilon)) * norms[i] }
        input.keep(TopK.perHead(scores, heads: G, count: T, keep: budgets))
    }
}
