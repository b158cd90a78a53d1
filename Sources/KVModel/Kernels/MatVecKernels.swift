#if arch(x86_64)
import _Builtin_intrinsics.intel

/// AVX2 integer dot products of packed weight rows with a `Q8Vector`, and the packers.
///
/// Why intrinsics: Swift's SIMD types cannot express `vpmaddubsw`/`vpmaddwd` (LLVM does not
/// match them from `evenHalf`/`oddHalf` arithmetic). Measured on this machine, one thread,
/// 66 MB of q4_1 rows of 576: float FMA on dequantized nibbles 13.4 ms, Swift SIMD Int16
/// multiply 18.3 ms, clang's AVX2 intrinsics (imported from `_Builtin_intrinsics.intel`,
/// still Swift, no C target) 11.1 ms in the GGUF layout — and the packed layout below is faster still.
///
/// Packed q4_1 row (nb blocks, same byte count as GGUF's 20·nb):
///   [nb × f16 d][nb × f16 m][nibbles]; blocks 2p and 2p+1 share 32 bytes, byte j holding
///   element j of block 2p in its low nibble and element j of block 2p+1 in its high nibble,
///   so one 32-byte load and two masks give both blocks in element order. An odd last block
///   keeps GGUF's 16-byte form (low nibbles elements 0..<16, high 16..<32).
/// Packed q8_0 row (34·nb bytes): [nb × f16 d][nb × 32 int8].
/// Scales sit together so eight of them convert in one `vcvtph2ps`.
enum MatVecKernels {
    // MARK: packing

    static func packQ4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, blocks nb: Int) {
        let q = dst + nb &* 4
        var b = 0
        while b < nb {
            let s = src + b &* 20
            (dst + b &* 2).copyMemory(from: s, byteCount: 2)
            (dst + (nb &+ b) &* 2).copyMemory(from: s + 2, byteCount: 2)
            b &+= 1
        }
        b = 0
        while b &+ 2 <= nb {
            let r0 = (src + b &* 20).loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
            let r1 = (src + (b &+ 1) &* 20).loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
            // Element order of each block: 0..<16 low nibbles, 16..<32 high nibbles.
            let e0 = SIMD32<UInt8>(lowHalf: r0 & 0x0F, highHalf: r0 &>> 4)
            let e1 = SIMD32<UInt8>(lowHalf: r1 & 0x0F, highHalf: r1 &>> 4)
            (q + b &* 16).storeBytes(of: e0 | (e1 &<< 4), as: SIMD32<UInt8>.self)
            b &+= 2
        }
        if b < nb { (q + b &* 16).copyMemory(from: src + (b &* 20 &+ 4), byteCount: 16) }
    }

    static func packQ8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, blocks nb: Int) {
        for b in 0..<nb {
            let s = src + b &* 34
            (dst + b &* 2).copyMemory(from: s, byteCount: 2)
            (dst + (nb &* 2 &+ b &* 32)).copyMemory(from: s + 2, byteCount: 32)
        }
    }

    // MARK: dot products

    @inline(__always) static func m256i<T: SIMD>(_ v: T) -> SIMD4<Int64> { unsafeBitCast(v, to: SIMD4<Int64>.self) }

    /// Σ over 32 lanes of u8 `a` × i8 `b`, as eight i32 partial sums converted to float.
    @inline(__always)
    static func dotU8I8(_ a: SIMD4<Int64>, _ b: SIMD4<Int64>) -> SIMD8<Float> {
        _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1)))
    }

    /// One packed q4_1 row · `x` (blocks `nb`, `x.count == 32·nb`).
    @inline(__always)
    static func dotQ4_1(_ row: UnsafeRawPointer, _ x: Q8Vector, blocks nb: Int) -> Float {
        let dp = row, mp = row + nb &* 2, qp = row + nb &* 4
        let xq = UnsafeRawPointer(x.qs), xd = UnsafeRawPointer(x.scales), xs = UnsafeRawPointer(x.sums)
        let mask = _mm256_set1_epi8(0x0F)
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), macc = SIMD8<Float>()
        var b = 0
        while b &+ 8 <= nb {
            let dv = SIMD8<Float>(dp.loadUnaligned(fromByteOffset: b &* 2, as: SIMD8<Float16>.self))
                * xd.loadUnaligned(fromByteOffset: b &* 4, as: SIMD8<Float>.self)
            macc.addProduct(SIMD8<Float>(mp.loadUnaligned(fromByteOffset: b &* 2, as: SIMD8<Float16>.self)),
                            xs.loadUnaligned(fromByteOffset: b &* 4, as: SIMD8<Float>.self))
            for k in stride(from: 0, to: 8, by: 2) {
                let raw = qp.loadUnaligned(fromByteOffset: (b &+ k) &* 16, as: SIMD4<Int64>.self)
                let lo = _mm256_and_si256(raw, mask), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask)
                let x0 = xq.loadUnaligned(fromByteOffset: (b &+ k) &* 32, as: SIMD4<Int64>.self)
                let x1 = xq.loadUnaligned(fromByteOffset: (b &+ k) &* 32 &+ 32, as: SIMD4<Int64>.self)
                acc0.addProduct(dotU8I8(lo, x0), SIMD8(repeating: dv[k]))
                acc1.addProduct(dotU8I8(hi, x1), SIMD8(repeating: dv[k &+ 1]))
            }
            b &+= 8
        }
        var tail: Float = 0
        while b &+ 2 <= nb {
            let raw = qp.loadUnaligned(fromByteOffset: b &* 16, as: SIMD4<Int64>.self)
            let lo = _mm256_and_si256(raw, mask), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask)
            let x0 = xq.loadUnaligned(fromByteOffset: b &* 32, as: SIMD4<Int64>.self)
            let x1 = xq.loadUnaligned(fromByteOffset: b &* 32 &+ 32, as: SIMD4<Int64>.self)
            acc0.addProduct(dotU8I8(lo, x0), SIMD8(repeating: Half.load(dp, b &* 2) * x.scales[b]))
            acc1.addProduct(dotU8I8(hi, x1), SIMD8(repeating: Half.load(dp, b &* 2 &+ 2) * x.scales[b &+ 1]))
            tail += Half.load(mp, b &* 2) * x.sums[b] + Half.load(mp, b &* 2 &+ 2) * x.sums[b &+ 1]
            b &+= 2
        }
        if b < nb {  // odd last block, GGUF nibble order
            let r16 = qp.loadUnaligned(fromByteOffset: b &* 16, as: SIMD2<Int64>.self)
            let q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(r16, 4), r16), mask)
            let x0 = xq.loadUnaligned(fromByteOffset: b &* 32, as: SIMD4<Int64>.self)
            acc0.addProduct(dotU8I8(q, x0), SIMD8(repeating: Half.load(dp, b &* 2) * x.scales[b]))
            tail += Half.load(mp, b &* 2) * x.sums[b]
        }
        return (acc0 + acc1 + macc).sum() + tail
    }

    /// One packed q8_0 row · `x` (blocks `nb`, `x.count == 32·nb`).
    @inline(__always)
    static func dotQ8_0(_ row: UnsafeRawPointer, _ x: Q8Vector, blocks nb: Int) -> Float {
        let dp = row, qp = row + nb &* 2
        let xq = UnsafeRawPointer(x.qs), xd = UnsafeRawPointer(x.scales)
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        // Signed × signed via maddubs: |w| (unsigned) times x carrying w's sign.
        @inline(__always) func block(_ b: Int) -> SIMD8<Float> {
            let w = qp.loadUnaligned(fromByteOffset: b &* 32, as: SIMD4<Int64>.self)
            let v = xq.loadUnaligned(fromByteOffset: b &* 32, as: SIMD4<Int64>.self)
            return dotU8I8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(v, w))
        }
        var b = 0
        while b &+ 8 <= nb {
            let dv = SIMD8<Float>(dp.loadUnaligned(fromByteOffset: b &* 2, as: SIMD8<Float16>.self))
                * xd.loadUnaligned(fromByteOffset: b &* 4, as: SIMD8<Float>.self)
            for k in stride(from: 0, to: 8, by: 2) {
                acc0.addProduct(block(b &+ k), SIMD8(repeating: dv[k]))
                acc1.addProduct(block(b &+ k &+ 1), SIMD8(repeating: dv[k &+ 1]))
            }
            b &+= 8
        }
        while b < nb {
            acc0.addProduct(block(b), SIMD8(repeating: Half.load(dp, b &* 2) * x.scales[b]))
            b &+= 1
        }
        return (acc0 + acc1).sum()
    }
}
#endif
