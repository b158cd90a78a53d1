import COpenBLAS
import KVModel

/// Two-stage selection that reweights the inner scores by the output-projected value norm (kvpress `CriticalKVPress`).
///
/// Stage 1 keeps the top `Int((1 − ratio)·T·first_stage_ratio)` entries by the inner scores;
/// stage 2 ranks the rest by `(score + epsilon)·‖W_o v‖₁` (L1 norm of each value projected by its
/// query heads' slice of the output projection, averaged over the GQA group). Needs the model.
///
/// - Parameters:
///   - press: the inner scorer press.
///   - epsilon: added to scores before reweighting; default `1e-4`.
///   - first_stage_ratio: share of the budget chosen by the inner scores alone, `[0, 1]`; default `0.5`.
///   - compression_ratio: sets the inner press's ratio; default: the inner press's.
///
/// Based on https://arxiv.org/abs/2502.03805.
public final class CriticalKVPress: ScorerPress {
    public let name = "criticalkv"
    public let press: ScorerPress
    public var epsilon: Double
    public var firstStageRatio: Double

    public init(press: ScorerPress, epsilon: Double = 1e-4, firstStageRatio: Double = 0.5) throws {
        guard (0...1).contains(firstStageRatio) else {
            throw PressError.invalidValue(press: "criticalkv", parameter: "first_stage_ratio", value: String(firstStageRatio), expected: "a number in [0, 1]")
        }
        self.press = press
        self.epsilon = epsilon
        self.firstStageRatio = firstStageRatio
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double {
        get { press.compressionRatio }
        set { press.compressionRatio = newValue }
    }
    public var parameterValues: [(String, String)] {
        [("epsilon", String(epsilon)), ("first_stage_ratio", String(firstStageRatio))]
    }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount, G = input.headCountKV
        var scores = try press.score(input)
        let budget = Int((1 - compressionRatio) * Double(T) * firstStageRatio)
        let first = TopK.perHead(scores, heads: G, count: T, keep: budget)
        let norms = try Self.projectedValueNorms(input, press: name)
        for i in 0..<scores.count { scores[i] = (scores[i] + Float(epsilon)) * norms[i] }
        for g in 0..<G { for j in first[g] { scores[g * T + j] = .greatestFiniteMagnitude } }
        return scores
    }

    /// `‖v_j W_o[h]‖₁` averaged over the query heads `h` of each KV head: `[G, T]`.
    ///
    /// Per KV head, one `sgemm` per block of 256 rows projects the values through all of its
    /// group's output slices at once (`[rows, D] × [D, group·d]`), and the L1 norms are taken
    /// while the block is still in cache.
    static func projectedValueNorms(_ input: PressInput, press: String) throws -> [Float] {
        guard let model = input.model else { throw PressError.modelRequired(press: press) }
        let T = input.tokenCount, G = input.headCountKV, H = input.headCount, D = input.headDimension
        let d = input.geometry.embeddingLength, group = input.groupSize
        let wo = try WeightMatrix(model.gguf, GGUFKeys.block(input.layer, .attnOutput), outputs: d, inputs: H * D)
        var dense = [Float](repeating: 0, count: d * H * D)
        dense.withUnsafeMutableBufferPointer { wo.dequantize(into: $0.baseAddress!) }
        let width = group * d, block = 256
        // slices[g][c, k·d + o] = W_o[o, (g·group + k)·D + c].
        var slices = [Float](repeating: 0, count: G * D * width)
        for g in 0..<G {
            for k in 0..<group {
                for o in 0..<d {
                    for c in 0..<D { slices[(g * D + c) * width + k * d + o] = dense[o * H * D + (g * group + k) * D + c] }
                }
            }
        }
        var out = [Float](repeating: 0, count: G * T)
        let blocks = (T + block - 1) / block
        slices.withUnsafeBufferPointer { sp in
            out.withUnsafeMutableBufferPointer { op in
                let slicesBase = sp.baseAddress!, outBase = op.baseAddress!
                // Tasks are (KV head, block of rows), spread over the pool; OpenBLAS runs single-threaded.
                ThreadPool.shared.parallelFor(G * blocks) { tasks in
                    let projected = UnsafeMutablePointer<Float>.allocate(capacity: block * width)
                    defer { projected.deallocate() }
                    for task in tasks {
                        let g = task / blocks, t0 = (task % blocks) * block
                        let rows = min(block, T - t0)
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(width), Int32(D), 1,
                                    input.value(g, t0), Int32(D), slicesBase + g * D * width, Int32(width), 0,
                                    projected, Int32(width))
                        for r in 0..<rows {
                            var s: Float = 0
                            for k in 0..<group { s += Vectorised.l1(projected + r * width + k * d, d) }
                            outBase[g * T + t0 + r] = s / Float(group)
                        }
                    }
                }
            }
        }
        return out
    }

    static let descriptor = PressDescriptor(
        name: "criticalkv", summary: "two-stage selection reweighted by the output-projected value norm",
        reference: "https://arxiv.org/abs/2502.03805",
        parameters: [
            PressParameter("epsilon", "0.0001", "added to scores before the value-norm reweighting"),
            PressParameter("first_stage_ratio", "0.5", "share of the budget chosen by the inner scores alone, [0, 1]"),
            PressParameter("compression_ratio", "none", "sets the inner press's ratio, [0, 1)"),
        ], inner: .one
    ) { args, inner in
        let p = try PressRegistry.scorer(inner, for: "criticalkv")
        if let r = try args.optionalRatio() { p.compressionRatio = r }
        return try CriticalKVPress(press: p, epsilon: args.double("epsilon"),
                                   firstStageRatio: args.double("first_stage_ratio", in: 0...1))
    }
}
