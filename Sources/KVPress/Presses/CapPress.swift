import COpenBLAS
import KVModel

/// Scores entries by their capacity, a log-determinant leverage of the values weighted by how
/// well each key aligns with the expected future query (kvpress `CapPress`, CAPKV).
///
/// Per query head, over the non-sink entries `j ≥ n_sink`:
/// 1. The anchor `μ`: the mean pre-RoPE query of the non-sink rows (while decoding, of the recent
///    queries), rotated by the RoPE rotation averaged over the next `n_future_positions` positions
///    (as `expected_attention`).
/// 2. Weights `w_j = exp(tau·c_j − max_j tau·c_j)`, `c_j` the cosine of `μ` and the (post-RoPE)
///    key, clamped to `[−1, 1]`.
/// 3. The capacity matrix `A = I + Σ_j (w_j + epsilon)·v_j v_jᵀ` over the values; the score is
///    `w_j · v_jᵀA⁻¹v_j` (Cholesky of `A`, one triangular solve for all rows).
/// Scores combine over the GQA group (`gqa_score_agg`, mean in kvpress); the sinks always stay.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2604.25975.
public final class CapPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let tau: Double
    public let nFuturePositions: Int
    public let nSink: Int
    public let epsilon: Double
    public let aggregation: GQAScoreAggregation

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        tau = arguments[.tau]
        nFuturePositions = arguments[.nFuturePositions]
        nSink = arguments[.nSink]
        epsilon = arguments[.epsilon]
        aggregation = arguments[.gqaScoreAgg]
    }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount, H = input.headCount, G = input.headCountKV, D = input.headDimension
        guard T > nSink else { throw PressError.contextTooShort(press: name, tokens: T, needed: nSink + 1) }
        let n = T - nSink, group = input.groupSize
        // The anchor averages the rows whose queries are known.
        let (q, nq, R) = try Rotation.futureQueries(input, skip: nSink, future: nFuturePositions, press: name)
        let (tau, epsilon) = (Float(tau), Float(epsilon))
        var unitKeys = [Float](repeating: 0, count: G * n * D)
        for g in 0..<G {
            for j in 0..<n {
                let k = Self.unit(Array(UnsafeBufferPointer(start: input.key(g, nSink + j), count: D)))
                for c in 0..<D { unitKeys[(g * n + j) * D + c] = k[c] }
            }
        }
        var perHead = [Float](repeating: 0, count: H * n)
        perHead.withUnsafeMutableBufferPointer { outBuffer in
            let out = outBuffer.baseAddress!
            // Query heads are independent: one per thread (OpenBLAS itself runs single-threaded).
            ThreadPool.shared.parallelFor(H) { heads in
                var mean = [Float](repeating: 0, count: D)
                var weighted = [Float](repeating: 0, count: n * D), z = weighted
                var gram = [Float](repeating: 0, count: D * D)
                var w = [Float](repeating: 0, count: n)
                for h in heads {
                    let g = h / group, values = input.value(g, nSink)
                    for c in 0..<D { mean[c] = 0 }
                    for t in 0..<nq { for c in 0..<D { mean[c] += q[(h * nq + t) * D + c] } }
                    let anchor = Self.unit((0..<D).map { r in (0..<D).reduce(Float(0)) { $0 + R[r * D + $1] * mean[$1] / Float(nq) } })
                    for j in 0..<n {
                        var c: Float = 0
                        for i in 0..<D { c += anchor[i] * unitKeys[(g * n + j) * D + i] }
                        w[j] = tau * min(max(c, -1), 1)
                    }
                    let top = w.max() ?? 0
                    for j in 0..<n {
                        w[j] = FastMath.exp(w[j] - top)
                        let s = (w[j] + epsilon).squareRoot()
                        for c in 0..<D { weighted[j * D + c] = s * values[j * D + c]; z[j * D + c] = values[j * D + c] }
                    }
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(D), Int32(D), Int32(n), 1,
                                weighted, Int32(D), weighted, Int32(D), 0, &gram, Int32(D))
                    // A = I + Σ w v vᵀ: the identity is the factorisation's diagonal shift, so it always succeeds.
                    guard let L = Cholesky.factor(gram, n: D, jitter: 1) else { continue }
                    // Rows z_j = L⁻¹v_j of Z = V·L⁻ᵀ; v_jᵀA⁻¹v_j = ‖z_j‖².
                    cblas_strsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, Int32(n), Int32(D), 1,
                                L, Int32(D), &z, Int32(D))
                    for j in 0..<n {
                        var s: Float = 0
                        for c in 0..<D { s += z[j * D + c] * z[j * D + c] }
                        out[h * n + j] = w[j] * s
                    }
                }
            }
        }
        let scores = aggregation.aggregate(perHead, headCount: H, headCountKV: G, count: n)
        return Pooling.pad(scores, rows: G, count: n, left: nSink, right: 0, value: Pooling.max(scores) + 1)
    }

    /// `x / max(‖x‖, 1e-12)` (`F.normalize`).
    static func unit(_ x: [Float]) -> [Float] {
        let norm = max(x.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        return x.map { $0 / norm }
    }
}
