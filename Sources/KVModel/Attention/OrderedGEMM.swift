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
            // Four rows at a time: four independent FMA chains (one would wait on its own latency).
            var i = 0
            while i < m {
                let rows = min(4, m &- i)
                let r0 = a + i &* lda, r1 = a + min(i &+ 1, m &- 1) &* lda
                let r2 = a + min(i &+ 2, m &- 1) &* lda, r3 = a + min(i &+ 3, m &- 1) &* lda
                var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
                for (ci, chunk) in chunks.enumerated() {
                    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                    for kk in chunk {
                        let p = packed[kk]
                        a0.addProduct(SIMD8(repeating: r0[kk]), p)
                        a1.addProduct(SIMD8(repeating: r1[kk]), p)
                        a2.addProduct(SIMD8(repeating: r2[kk]), p)
                        a3.addProduct(SIMD8(repeating: r3[kk]), p)
                    }
                    if ci == 0 {
                        s0 = alpha * a0; s1 = alpha * a1; s2 = alpha * a2; s3 = alpha * a3
                    } else {
                        s0 += alpha * a0; s1 += alpha * a1; s2 += alpha * a2; s3 += alpha * a3
                    }
                }
                for (r, sum) in [s0, s1, s2, s3].prefix(rows).enumerated() {
                    let out = c + ((i &+ r) &* ldc &+ j0)
                    for l in 0..<width { out[l] = sum[l] }
                }
                i &+= 4
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
        if n == 64 {
            // The usual head width: eight accumulators in registers, eight independent chains.
            for i in 0..<m {
                let row = a + i &* lda
                var s = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(),
                         SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                for (ci, chunk) in chunks.enumerated() {
                    var x0 = SIMD8<Float>(), x1 = SIMD8<Float>(), x2 = SIMD8<Float>(), x3 = SIMD8<Float>()
                    var x4 = SIMD8<Float>(), x5 = SIMD8<Float>(), x6 = SIMD8<Float>(), x7 = SIMD8<Float>()
                    for kk in chunk {
                        let x = SIMD8<Float>(repeating: row[kk]), bk = UnsafeRawPointer(b + kk &* ldb)
                        x0.addProduct(x, bk.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self))
                        x1.addProduct(x, bk.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                        x2.addProduct(x, bk.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
                        x3.addProduct(x, bk.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
                        x4.addProduct(x, bk.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self))
                        x5.addProduct(x, bk.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self))
                        x6.addProduct(x, bk.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self))
                        x7.addProduct(x, bk.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self))
                    }
                    if ci == 0 {
                        s = (x0, x1, x2, x3, x4, x5, x6, x7)
                    } else {
                        s = (s.0 + x0, s.1 + x1, s.2 + x2, s.3 + x3, s.4 + x4, s.5 + x5, s.6 + x6, s.7 + x7)
                    }
                }
                let out = UnsafeMutableRawPointer(c + i &* ldc)
                for (g, v) in [s.0, s.1, s.2, s.3, s.4, s.5, s.6, s.7].enumerated() {
                    out.storeBytes(of: v, toByteOffset: g &* 32, as: SIMD8<Float>.self)
                }
            }
            return
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
