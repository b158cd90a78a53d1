/// CriticalKV's two-stage reweighting with AdaKV's head-wise budgets (kvpress `CriticalAdaKVPress`).
///
/// Head budgets come from the layer-wide top `G·n_kept` of the safeguarded inner scores; each head
/// then protects `Int(budget·first_stage_ratio)` entries by the inner scores and fills the rest of
/// its budget by `(score + epsilon)·‖W_o v‖₁`. Heads really keep different lengths. Needs the model.
///
/// - Parameters:
///   - press: the inner scorer press.
///   - alpha_safeguard: minimum share of `n_kept` every head keeps, `[0, 1]`; default `0.20`.
///   - epsilon: added to scores before reweighting; default `1e-4`.
///   - first_stage_ratio: share of each head's budget chosen by the inner scores, `[0, 1]`; default `0.5`.
///   - compression_ratio: sets the inner press's ratio; default: the inner press's.
///
/// Based on https://arxiv.org/abs/2502.03805.
public final class CriticalAdaKVPress: Press {
    public let name = "critical_adakv"
    public let press: ScorerPress
    public var alphaSafeguard: Double
    public var epsilon: Double
    public var firstStageRatio: Double

    public init(press: ScorerPress, alphaSafeguard: Double = 0.20, epsilon: Double = 1e-4, firstStageRatio: Double = 0.5) throws {
        for (n, v) in [("alpha_safeguard", alphaSafeguard), ("first_stage_ratio", firstStageRatio)] where !(0...1).contains(v) {
            throw PressError.invalidValue(press: "critical_adakv", parameter: n, value: String(v), expected: "a number in [0, 1]")
        }
        self.press = press
        self.alphaSafeguard = alphaSafeguard
        self.epsilon = epsilon
        self.firstStageRatio = firstStageRatio
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double { press.compressionRatio }
    public var parameterValues: [(String, String)] {
        [("alpha_safeguard", String(alphaSafeguard)), ("epsilon", String(epsilon)), ("first_stage_ratio", String(firstStageRatio))]
    }

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

    static let descriptor = PressDescriptor(
        name: "critical_adakv", summary: "CriticalKV reweighting with AdaKV head-wise budgets",
        reference: "https://arxiv.org/abs/2502.03805",
        parameters: [
            PressParameter("alpha_safeguard", "0.2", "minimum share of the average budget every head keeps, [0, 1]"),
            PressParameter("epsilon", "0.0001", "added to scores before the value-norm reweighting"),
            PressParameter("first_stage_ratio", "0.5", "share of each head's budget chosen by the inner scores, [0, 1]"),
            PressParameter("compression_ratio", "none", "sets the inner press's ratio, [0, 1)"),
        ], inner: .one
    ) { args, inner in
        let p = try PressRegistry.scorer(inner, for: "critical_adakv")
        if let r = try args.optionalRatio() { p.compressionRatio = r }
        return try CriticalAdaKVPress(press: p, alphaSafeguard: args.double("alpha_safeguard", in: 0...1),
                                      epsilon: args.double("epsilon"), firstStageRatio: args.double("first_stage_ratio", in: 0...1))
    }
}
