import COpenBLAS
import KVModel

/// Scores keys by their approximate statistical leverage (kvpress `LeverageScorePress`).
///
/// Per KV head: pre-RoPE keys, centred over the sequence, sketched by a Gaussian `D × k` matrix
/// (`k = sketch_dimension`, entries `N(0, 1/k)`); the leverage of row `x` is `xᵀ(XᵀX + λI)⁻¹x`
/// (Cholesky, jitter `λ = 1e-2`, raised if needed), clamped at 0; scores are z-normalised over
/// all heads. kvpress draws the sketch unseeded; `seed` makes it reproducible.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2507.08143 (Compactor).
public final class LeverageScorePress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let sketchDimension: Int
    public let seed: Int?

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        sketchDimension = arguments[.sketchDimension]
        seed = arguments[.seed]
    }

    public var recentQueriesRead: Int? { 0 }

    public func score(_ input: PressInput) throws -> [Float] {
        Pooling.zScore(Self.leverage(input, sketch: sketchDimension, seed: seed))
    }

    /// Raw leverage scores `[G, T]` (before z-normalisation).
    static func leverage(_ input: PressInput, sketch k: Int, seed: Int?) -> [Float] {
        let T = input.tokenCount, G = input.headCountKV, D = input.headDimension
        let keys = Rotation.unrotate(input.keys, heads: G, headRows: input.headRows, rows: 0..<T,
                                     positions: input.positions(0..<T), geometry: input.geometry)
        var rng = SplitMix64(seed: seed.map { UInt64(bitPattern: Int64($0)) &+ UInt64(input.layer) &* 0x2545_F491_4F6C_DD1D }
                             ?? UInt64.random(in: .min ... .max))
        let inv = 1 / Float(k).squareRoot()
        // Sketches drawn in head order first, so a seed gives the same scores on any thread count.
        let phis = (0..<G).map { _ in (0..<(D * k)).map { _ in rng.nextGaussian() * inv } }
        var out = [Float](repeating: 0, count: G * T)
        out.withUnsafeMutableBufferPointer { outBuffer in
            let outp = outBuffer.baseAddress!
            // KV heads are independent: one per thread (OpenBLAS itself runs single-threaded).
            ThreadPool.shared.parallelFor(G) { heads in
                var centred = [Float](repeating: 0, count: T * D)
                var X = [Float](repeating: 0, count: T * k)
                var gram = [Float](repeating: 0, count: k * k)
                for g in heads {
                    let phi = phis[g]
                    var mean = [Float](repeating: 0, count: D)
                    for t in 0..<T { for c in 0..<D { mean[c] += keys[(g * T + t) * D + c] } }
                    for c in 0..<D { mean[c] /= Float(T) }
                    for t in 0..<T { for c in 0..<D { centred[t * D + c] = keys[(g * T + t) * D + c] - mean[c] } }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(T), Int32(k), Int32(D), 1,
                                centred, Int32(D), phi, Int32(k), 0, &X, Int32(k))
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(k), Int32(T), 1,
                                X, Int32(k), X, Int32(k), 0, &gram, Int32(k))
                    guard let L = Cholesky.factor(gram, n: k, jitter: 1e-2) else { continue }
                    // Rows z_t = L⁻¹x_t of Z = X·L⁻ᵀ in one triangular solve; leverage = ‖z_t‖².
                    cblas_strsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, Int32(T), Int32(k), 1,
                                L, Int32(k), &X, Int32(k))
                    X.withUnsafeBufferPointer { z in
                        for t in 0..<T {
                            let row = z.baseAddress! + t * k
                            var s: Float = 0
                            for i in 0..<k { s += row[i] * row[i] }
                            outp[g * T + t] = max(s, 0)
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Cholesky factorisation with kvpress's adaptive jitter.
enum Cholesky {
    /// Lower factor `L` (row-major `n × n`) of `0.5(A + Aᵀ) + λI`; `λ` starts at `jitter` and grows ×10,
    /// five tries; `nil` when all fail.
    static func factor(_ a: [Float], n: Int, jitter: Double, tries: Int = 5) -> [Float]? {
        var lambda = jitter
        for _ in 0..<tries {
            var L = [Double](repeating: 0, count: n * n)
            var ok = true
            outer: for i in 0..<n {
                for j in 0...i {
                    var s = 0.5 * (Double(a[i * n + j]) + Double(a[j * n + i])) + (i == j ? lambda : 0)
                    for p in 0..<j { s -= L[i * n + p] * L[j * n + p] }
                    if i == j {
                        guard s > 0 else { ok = false; break outer }
                        L[i * n + i] = s.squareRoot()
                    } else {
                        L[i * n + j] = s / L[j * n + j]
                    }
                }
            }
            if ok { return L.map { Float($0) } }
            lambda = max(1e-8, lambda == 0 ? 1e-2 : 10 * lambda)
        }
        return nil
    }
}
