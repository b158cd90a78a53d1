import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers around OpenBLAS. Prefill attention and the presses' scorers call `cblas_sgemm`; `Linear`
/// uses `parallelSgemm` for long batches when OpenBLAS runs a vector kernel (`hasVectorKernel`).
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

    /// The CPU kernel set OpenBLAS chose at load ("Haswell", "SkylakeX", "Zen", "Prescott", …).
    public static let coreName = String(cString: openblas_get_corename())

    /// Whether that set has AVX2/FMA (or wider) kernels. OpenBLAS 0.3.21 does not recognise
    /// every CPU (this VM's "Intel Xeon Processor" with AVX-512): it then falls back to its
    /// SSE3 `Prescott` kernels, 2.5–3× slower, and `OPENBLAS_CORETYPE=Haswell` in the
    /// environment (read when the library loads) restores the fast ones.
    public static let hasVectorKernel: Bool = {
        let fast = ["haswell", "skylakex", "cooperlake", "sapphirerapids", "zen", "excavator"]
        return fast.contains { coreName.lowercased().hasPrefix($0) }
    }()

    /// Restarts the process (same pid, arguments and descriptors) with `OPENBLAS_CORETYPE=Haswell`
    /// when OpenBLAS fell back to kernels without AVX2 and nobody chose a core type. OpenBLAS reads
    /// that variable once, when the library loads, before any Swift code runs, so only a fresh
    /// image can apply it; kvd's own code requires AVX2, so Haswell's kernels are always safe.
    /// Call first thing in `main`. Returns when no restart is needed, or when `execv` failed (the
    /// process then carries on with the kernels it has).
    public static func restartWithVectorKernelIfNeeded() {
        guard !hasVectorKernel, getenv("OPENBLAS_CORETYPE") == nil else { return }
        setenv("OPENBLAS_CORETYPE", "Haswell", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("OPENBLAS_CORETYPE")
    }

    /// Sets the number of threads OpenBLAS uses. kvd runs it with one: OpenBLAS's own pool spins
    /// after every call and fought kvd's pool for the two cores (12% of prefill time in `sched_yield`).
    public static func setThreadCount(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, n)))
    }

    /// The number of threads OpenBLAS currently uses.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }
}
