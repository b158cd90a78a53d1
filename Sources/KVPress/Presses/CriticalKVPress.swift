import COpenBLAS
import KVModel

/// Two-stage selection that reweights the inner scores by the output-projected value norm (kvpress `CriticalKVPress`).
///
/// Stage 1 keeps the top `Int((1 − ratio)·T·first_stage_ratio)` entries by the inner scores;
/// stage 2 ranks the rest by `(score + epsilon)·‖W_o v‖₁` (L1 norm of each value projected by its
/// query heads' slice of the output projection, averaged over the GQA group). Needs the model.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2502.03805.
public final class CriticalKVPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public let press: ScorerPress
    public let epsilon: Double
    public let firstStageRatio: Double

    public init(_ arguments: PressArguments, press: ScorerPress) {
        self.arguments = arguments
        self.press = press
        epsilon = arguments[.epsilon]
        firstStageRatio = arguments[.firstStageRatio]
    }

    public var innerPresses: [Press] { [press] }
    public var compressionRatio: Double {
        get { press.compressionRatio }
        set { press.compressionRatio = newValue }
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
}
