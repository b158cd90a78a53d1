#if arch(x86_64)
import _Builtin_intrinsics.intel

// TEMPORARY (measurement only, removed in the next commit): `IntegerDot.tile` width 1 with
// int8 activations (the residuals ignored, one vpmaddubsw per block), for the precision/speed
// comparison in ActivationPrecisionKernelSpeedTests.
extension IntegerDot {
    static func int8Rows<F: IntegerBlockFormat>(_ format: F.Type, _ weights: UnsafeRawPointer, rowBytes: Int, blocks nb: Int,
                                                _ range: Range<Int>, _ x: Q8Rows, _ y: UnsafeMutablePointer<Float>) {
        for r in range {
            var a = SIMD8<Float>(), o = SIMD8<Float>(), c = SIMD8<Float>()
            let xs = UnsafeRawPointer(x.scales), xsum = UnsafeRawPointer(x.sums)
            F.walk(weights + r &* rowBytes, blocks: nb, group: { first, scale, offset in
                c = scale * xs.loadUnaligned(fromByteOffset: first &* 4, as: SIMD8<Float>.self) * 256
                if !F.signedCodes { o.addProduct(offset, xsum.loadUnaligned(fromByteOffset: first &* 4, as: SIMD8<Float>.self)) }
            }, block: { b, codes, multipliers in
                var hi = x.qs.loadUnaligned(fromByteOffset: b &* 32, as: SIMD4<Int64>.self)
                let magnitude = F.signedCodes ? _mm256_sign_epi8(codes, codes) : codes
                if F.signedCodes { hi = _mm256_sign_epi8(hi, codes) }
                let p = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, hi), multipliers))
                a.addProduct(p, SIMD8(repeating: c[b & 7]))
            })
            y[r] = (a + o).sum()
        }
    }
}

extension QuantizedMatrix {
    func int8Rows(_ range: Range<Int>, _ q: Q8Rows, _ y: UnsafeMutablePointer<Float>) {
        let nb = columns / 32
        switch layout {
        case .q5_0Packed: IntegerDot.int8Rows(PackedQ5_0.self, packed!, rowBytes: packedRowBytes, blocks: nb, range, q, y)
        case .q8_0Packed: IntegerDot.int8Rows(PackedQ8_0.self, packed!, rowBytes: packedRowBytes, blocks: nb, range, q, y)
        case .q4_K: IntegerDot.int8Rows(BlocksQ4_K.self, source, rowBytes: sourceRowBytes, blocks: nb, range, q, y)
        case .q6_K: IntegerDot.int8Rows(BlocksQ6_K.self, source, rowBytes: sourceRowBytes, blocks: nb, range, q, y)
        default: preconditionFailure("not measured")
        }
    }
}
#endif
