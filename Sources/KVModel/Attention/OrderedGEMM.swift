/// The two products of prefill attention (scores `Q·Kᵀ`, outputs `P·V`), summed in the order of
/// OpenBLAS's SkylakeX sgemm: the inputs cut as `PanelGEMM.InputChunks.openBLAS`, each chunk's
/// products in one FMA chain from zero, scaled by `alpha` and added chunk after chunk
/// (measured: the same bits as `cblas_sgemm` with `OPENBLAS_CORETYPE=SkylakeX`, for both shapes).
///
/// At the AVX-512 VNNI level a long prefill runs its matrix products in that order too
/// (`Linear.Path.longDense`); attention follows it, because the goldens pass with both in one
/// order (all of OpenBLAS's Haswell kernel, or all of its SkylakeX one) and a default-model
/// needle answer flips with the products of one and the attention of the other.
enum OrderedGEMM {
    /// `c[i·ldc + j] = alpha · Σ_k a[i·lda + k]·b[j·ldb + k]` (`A·Bᵀ`), `m × n` over `k`.
    static func abT(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                    b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let chunks = PanelGEMM.InputChunks.openBLAS.ranges(columns: k)
        // Eight rows of B at a time, transposed so that element k of the eight is one vector.
        let packed = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: max(1, k))
        defer { packed.deallocate() }
        var j0 = 0
        while j0 < n {
            let width = min(8, n &- j0)
            for kk in 0..<k {
                var v = SIMD8<Float>()
                for l in 0..<width { v[l] = b[(j0 &+ l) &* ldb &+ kk] }
                packed[kk] = v
            }
            for i in 0..<m {
                let row = a + i &* lda
                var sum = SIMD8<Float>()
                for (ci, chunk) in chunks.enumerated() {
                    var acc = SIMD8<Float>()
                    for kk in chunk { acc.addProduct(SIMD8(repeating: row[kk]), packed[kk]) }
                    sum = ci == 0 ? alpha * acc : sum + alpha * acc
                }
                let out = c + (i &* ldc &+ j0)
                for l in 0..<width { out[l] = sum[l] }
            }
            j0 &+= 8
        }
    }

    /// `c[i·ldc + j] = Σ_k a[i·lda + k]·b[k·ldb + j]` (`A·B`), `m × n` over `k`.
    static func ab(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                   b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let chunks = PanelGEMM.InputChunks.openBLAS.ranges(columns: k)
        let groups = (n &+ 7) / 8
        let sums = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: max(1, groups))
        let accs = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: max(1, groups))
        defer { sums.deallocate(); accs.deallocate() }
        @inline(__always) func load(_ p: UnsafePointer<Float>, _ count: Int) -> SIMD8<Float> {
            if count == 8 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
            var v = SIMD8<Float>()
            for l in 0..<count { v[l] = p[l] }
            return v
        }
        for i in 0..<m {
            let row = a + i &* lda
            for (ci, chunk) in chunks.enumerated() {
                accs.update(repeating: SIMD8<Float>(), count: groups)
                for kk in chunk {
                    let x = SIMD8<Float>(repeating: row[kk]), bk = b + kk &* ldb
                    for g in 0..<groups { accs[g].addProduct(x, load(bk + g &* 8, min(8, n &- g &* 8))) }
                }
                for g in 0..<groups { sums[g] = ci == 0 ? accs[g] : sums[g] + accs[g] }
            }
            let out = c + i &* ldc
            for g in 0..<groups {
                for l in 0..<min(8, n &- g &* 8) { out[g &* 8 &+ l] = sums[g][l] }
            }
        }
    }
}
