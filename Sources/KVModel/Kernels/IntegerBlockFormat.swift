#if arch(x86_64)
import _Builtin_intrinsics.intel

/// How an integer kernel sees one weight row: a walk over its 32-element blocks in order,
/// each given as 32 integer codes (one per byte, element order), a per-lane weight scale and
/// a per-element offset, so that for block b
///
///     w[32b + i] = scale[lane(i)]·code[i] + offset,   lane(i) = i / 4 of the int32 partial sums
///
/// (lanes 0–3 hold elements 0–15, lanes 4–7 elements 16–31, which is how q6_K's two
/// 16-element scales per block ride along at no cost). Unsigned formats have codes in
/// 0…63 and the offset multiplies the activation block's exact sum; signed formats
/// (`signedCodes`) have codes in −127…127 and no offset. Those bounds keep every
/// `vpmaddubsw` pair sum below 2¹⁵ (no saturation) — see `IntegerDot`.
///
/// One walker per stored layout: the 32-block types in the repacked layouts written by
/// `WeightPacking` (nibbles of blocks 2p and 2p+1 share one 32-byte run), the k-quants in
/// GGUF's own layout (already one 32-byte run per two sub-blocks).
protocol IntegerBlockFormat {
    static var signedCodes: Bool { get }
    /// Calls `body(b, codes, scale, offset)` for b in 0..<nb, in order.
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int,
                     _ body: (_ block: Int, _ codes: SIMD4<Int64>, _ scale: SIMD8<Float>, _ offset: Float) -> Void)
}

/// Shared unpacking of the repacked 4-bit runs and q5 high bits.
enum NibbleCodes {
    /// Calls `body(b, codes)` with the 4-bit codes of each block of a pair-interleaved nibble
    /// run (`WeightPacking.packNibblePairs`); an odd last block is in GGUF's 16-byte form.
    @inline(__always)
    static func walk(_ q: UnsafeRawPointer, blocks nb: Int, _ body: (Int, SIMD4<Int64>) -> Void) {
        let mask = _mm256_set1_epi8(0x0F)
        var b = 0
        while b &+ 2 <= nb {
            let raw = q.loadUnaligned(fromByteOffset: b &* 16, as: SIMD4<Int64>.self)
            body(b, _mm256_and_si256(raw, mask))
            body(b &+ 1, _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask))
            b &+= 2
        }
        if b < nb {
            let r16 = q.loadUnaligned(fromByteOffset: b &* 16, as: SIMD2<Int64>.self)
            body(b, _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(r16, 4), r16), mask))
        }
    }

    /// 0x10 in byte j where bit j of `qh` is set (a q5 block's fifth bits, element order).
    @inline(__always)
    static func fifthBits(_ qh: UInt32) -> SIMD4<Int64> {
        // Byte j takes byte j/8 of qh, then keeps bit j%8.
        let spread = _mm256_shuffle_epi8(_mm256_set1_epi32(Int32(bitPattern: qh)),
                                         _mm256_set_epi64x(0x0303_0303_0303_0303, 0x0202_0202_0202_0202,
                                                           0x0101_0101_0101_0101, 0))
        let bit = _mm256_set1_epi64x(Int64(bitPattern: 0x8040_2010_0804_0201))
        return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10))
    }
}

/// Repacked q4_0: [nb × f16 d][nibble pairs]; w = d·q − 8d.
enum PackedQ4_0: IntegerBlockFormat {
    static var signedCodes: Bool { false }
    @inline(__always)
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int, _ body: (Int, SIMD4<Int64>, SIMD8<Float>, Float) -> Void) {
        NibbleCodes.walk(row + nb &* 2, blocks: nb) { b, codes in
            let d = Half.load(row, b &* 2)
            body(b, codes, SIMD8(repeating: d), -8 * d)
        }
    }
}

/// Repacked q4_1: [nb × f16 d][nb × f16 m][nibble pairs]; w = d·q + m.
enum PackedQ4_1: IntegerBlockFormat {
    static var signedCodes: Bool { false }
    @inline(__always)
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int, _ body: (Int, SIMD4<Int64>, SIMD8<Float>, Float) -> Void) {
        NibbleCodes.walk(row + nb &* 4, blocks: nb) { b, codes in
            body(b, codes, SIMD8(repeating: Half.load(row, b &* 2)), Half.load(row, (nb &+ b) &* 2))
        }
    }
}

/// Repacked q5_0: [nb × f16 d][nb × u32 qh][nibble pairs]; w = d·(q | h<<4) − 16d.
enum PackedQ5_0: IntegerBlockFormat {
    static var signedCodes: Bool { false }
    @inline(__always)
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int, _ body: (Int, SIMD4<Int64>, SIMD8<Float>, Float) -> Void) {
        let qh = row + nb &* 2
        NibbleCodes.walk(row + nb &* 6, blocks: nb) { b, codes in
            let d = Half.load(row, b &* 2)
            let high = NibbleCodes.fifthBits(qh.loadUnaligned(fromByteOffset: b &* 4, as: UInt32.self))
            body(b, _mm256_or_si256(codes, high), SIMD8(repeating: d), -16 * d)
        }
    }
}

/// Repacked q5_1: [nb × f16 d][nb × f16 m][nb × u32 qh][nibble pairs]; w = d·(q | h<<4) + m.
enum PackedQ5_1: IntegerBlockFormat {
    static var signedCodes: Bool { false }
    @inline(__always)
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int, _ body: (Int, SIMD4<Int64>, SIMD8<Float>, Float) -> Void) {
        let qh = row + nb &* 4
        NibbleCodes.walk(row + nb &* 8, blocks: nb) { b, codes in
            let high = NibbleCodes.fifthBits(qh.loadUnaligned(fromByteOffset: b &* 4, as: UInt32.self))
            body(b, _mm256_or_si256(codes, high), SIMD8(repeating: Half.load(row, b &* 2)), Half.load(row, (nb &+ b) &* 2))
        }
    }
}

/// Repacked q8_0: [nb × f16 d][nb × 32 int8]; w = d·q (signed codes).
enum PackedQ8_0: IntegerBlockFormat {
    static var signedCodes: Bool { true }
    @inline(__always)
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int, _ body: (Int, SIMD4<Int64>, SIMD8<Float>, Float) -> Void) {
        let q = row + nb &* 2
        for b in 0..<nb {
            body(b, q.loadUnaligned(fromByteOffset: b &* 32, as: SIMD4<Int64>.self), SIMD8(repeating: Half.load(row, b &* 2)), 0)
        }
    }
}
#endif
