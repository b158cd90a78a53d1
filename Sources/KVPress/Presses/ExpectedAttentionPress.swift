import COpenBLAS
import KVModel

/// Scores each key by the attention FUTURE queries are expected to pay it (kvpress `ExpectedAttentionPress`).
///
/// 1. Mean `μ` and covariance `Σ` of the layer's pre-RoPE queries (the first `n_sink` dropped).
/// 2. The RoPE rotation averaged over the next `n_future_positions` positions, `R̄`, applied:
///    `μ' = R̄μ`, `Σ' = R̄ΣR̄ᵀ`.
/// 3. Per query head, `softmax_j(μ'·k_j/√D + k_jᵀΣ'k_j/(2D))` over the non-sink keys, combined over
///    the GQA group (`gqa_score_agg`, mean in kvpress), then `(score + epsilon)·‖v_j‖` when `use_vnorm`.
/// The sinks always stay.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2510.00636 (Expected Attention, kvpress).
public final class ExpectedAttentionPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let nFuturePositions: Int
    public let nSink: Int
    public let useCovariance: Bool
    public let useVnorm: Bool
    public let epsilon: Double
    public let aggregation: GQAScoreAggregation

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        nFuturePositions = arguments[.nFuturePositions]
        nSink = arguments[.nSink]
        useCovariance = arguments[.useCovariance]
        useVnorm = arguments[.useVnorm]
        epsilon = arguments[.epsilon]
        aggregation = arguments[.gqaScoreAgg]
    }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount, H = input.headCount, G = input.headCountKV, D = input.headDimension
        guard T > nSink + 1 else { throw PressError.contextTooShort(press: name, tokens: T, needed: nSink + 2) }
        let n = T - nSink
        let group = input.groupSize
        // Pre-RoPE query statistics, over the rows whose queries are known.
        let (preRoPE, nq, R) = try Rotation.futureQueries(input, skip: nSink, future: nFuturePositions, press: name)
        var q = preRoPE  // centred in place below
        var perHead = [Float](repeating: 0, count: H * n)
        var mu = [Float](repeating: 0, count: D), muR = mu
        var cov = [Float](repeating: 0, count: D * D), tmp = cov, covR = cov
        var kc = [Float](repeating: 0, count: n * D)
        let scale = 1 / Float(D).squareRoot()
        for h in 0..<H {
            q.withUnsafeMutableBufferPointer { qb in
                let x = qb.baseAddress! + h * nq * D
                for c in 0..<D { mu[c] = 0 }
                for t in 0..<nq { for c in 0..<D { mu[c] += x[t * D + c] } }
                for c in 0..<D { mu[c] /= Float(nq) }
                if useCovariance {
                    for t in 0..<nq { for c in 0..<D { x[t * D + c] -= mu[c] } }
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(D), Int32(D), Int32(nq), 1 / Float(nq),
                                x, Int32(D), x, Int32(D), 0, &cov, Int32(D))
                }
            }
            // μ' = R μ ; Σ' = R Σ Rᵀ.
            for r in 0..<D {
                var s: Float = 0
                for c in 0..<D { s += R[r * D + c] * mu[c] }
                muR[r] = s
            }
            if useCovariance {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(D), Int32(D), Int32(D), 1, R, Int32(D), cov, Int32(D), 0, &tmp, Int32(D))
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(D), Int32(D), Int32(D), 1, tmp, Int32(D), R, Int32(D), 0, &covR, Int32(D))
            }
            let keys = input.key(h / group, nSink)
            if useCovariance {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(D), Int32(D), 1, keys, Int32(D), covR, Int32(D), 0, &kc, Int32(D))
            }
            perHead.withUnsafeMutableBufferPointer { out in
                let row = out.baseAddress! + h * n
                for j in 0..<n {
                    let k = keys + j * D
                    var s: Float = 0, quad: Float = 0
                    for c in 0..<D { s += muR[c] * k[c] }
                    if useCovariance { for c in 0..<D { quad += kc[j * D + c] * k[c] } }
                    row[j] = s * scale + (useCovariance ? quad / Float(D) / 2 : 0)
                }
                FastMath.softmax(row, n)
            }
        }
        var scores = aggregation.aggregate(perHead, headCount: H, headCountKV: G, count: n)
        if useVnorm {
            for g in 0..<G {
                let norms = Norms.l2(input.value(g, nSink), rows: n, width: D)
                for j in 0..<n { scores[g * n + j] = (scores[g * n + j] + Float(epsilon)) * norms[j] }
            }
        }
        return Pooling.pad(scores, rows: G, count: n, left: nSink, right: 0, value: Pooling.max(scores) + 1)
    }
}
