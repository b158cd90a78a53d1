import COpenBLAS

/// Thin wrappers around OpenBLAS (prefill uses `sgemm` on f32 copies of the weights).
public enum BLAS {
    /// C = alpha·A·Bᵀ + beta·C (or A·B when `transposeB` is false), all row-major f32.
    ///
    /// Shapes: A is `m × k` (row stride `lda`, default `k`); B is `n × k` when `transposeB`
    /// (the GGUF weight layout: one row per output) or `k × n` otherwise (stride `ldb`,
    /// default its row length); C is `m × n` (stride `ldc`, default `n`).
    /// Typical prefill: A = `tokens × inDim` activations, B = `outDim × inDim` weights, C = `tokens × outDim`.
    public static func sgemm(m: Int, n: Int, k: Int,
                             a: UnsafePointer<Float>, lda: Int? = nil,
                             b: UnsafePointer<Float>, ldb: Int? = nil, transposeB: Bool = true,
                             c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
                             alpha: Float = 1, beta: Float = 0) {
        guard m > 0, n > 0, k > 0 else { return }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha,
                    a, blasint(lda ?? k),
                    b, blasint(ldb ?? (transposeB ? k : n)),
                    beta, c, blasint(ldc ?? n))
    }

    /// `sgemm` with `transposeB` (B is `n × k`, one row per output), its output columns split
    /// over `pool`'s threads: each part is one single-threaded OpenBLAS call.
    ///
    /// kvd runs OpenBLAS with one thread (`Model` sets it): OpenBLAS's own pool spins after
    /// every call and fought kvd's pool for the two cores (12% of prefill time in `sched_yield`).
    public static func parallelSgemm(m: Int, n: Int, k: Int,
                                     a: UnsafePointer<Float>, lda: Int? = nil,
                                     b: UnsafePointer<Float>, ldb: Int? = nil,
                                     c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
                                     pool: ThreadPool = .shared) {
        let ldb = ldb ?? k, ldc = ldc ?? n
        pool.parallelFor(n, grain: 64) { cols in
            sgemm(m: m, n: cols.count, k: k, a: a, lda: lda, b: b + cols.lowerBound * ldb, ldb: ldb,
                  c: c + cols.lowerBound, ldc: ldc)
        }
    }

    /// Sets the number of threads OpenBLAS uses (call with `ThreadPool.shared.threadCount`).
    /// OpenBLAS's own threads spin too, so using more than the pool would oversubscribe the cores.
    public static func setThreadCount(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, n)))
    }

    /// The number of threads OpenBLAS currently uses.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }
}
