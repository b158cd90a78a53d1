#if arch(x86_64)
import _Builtin_intrinsics.intel

/// How an integer kernel sees one weight row: a walk over its 32-element blocks in order,
/// in groups of eight. For each group the format gives every block's float weight scale and
/// offset (eight lanes, so the kernel combines them with the activations' scales and sums
/// eight blocks at a time); for each block, 32 integer codes (one per byte, element order)
/// and int16 multipliers for the `vpmaddwd` step. For block b, lane i of a group:
///
///     w[32b + e] = scale[i]·multiplier(e)·code[e] + offset[i]
///
/// The multipliers are 1 except in q6_K, where they carry the two 16-element int8 scales
/// (int16 lanes 0–7 cover elements 0–15, lanes 8–15 elements 16–31). Unsigned formats have
/// codes in 0…31 and the offset multiplies the activation block's exact sum; signed formats
/// (`signedCodes`) have codes in −127…127 and offset 0. Those bounds keep every
/// `vpmaddubsw` pair sum below 2¹⁵ (no saturation) — see `IntegerDot`.
///
/// One walker per stored layout: the 32-block types in the repacked layouts written by
/// `WeightPacking` (nibbles of blocks 2p and 2p+1 share one 32-byte run), the k-quants in
/// GGUF's own layout (already one 32-byte run per two sub-blocks, eight sub-blocks a group).
protocol IntegerBlockFormat {
    static var signedCodes: Bool { get }
    /// For each group of up to eight blocks first..<first+n: `group(first, scales, offsets)`
    /// (lanes ≥ n zero), then `block(b, codes, multipliers)` for each of its blocks in order.
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int,
                     group: (_ first: Int, _ scales: SIMD8<Float>, _ offsets: SIMD8<Float>) -> Void,
                     block: (_ b: Int, _ codes: SIMD4<Int64>, _ multipliers: SIMD4<Int64>) -> Void)
}

/// Shared unpacking of the repacked 32-block layouts.
enum NibbleCodes {
    /// Eight halves from `p + 2·first` as floats; lanes past `nb` zero (no read past block nb).
    @inline(__always)
    static func halves(_ p: UnsafeRawPointer, _ first: Int, _ nb: Int) -> SIMD8<Float> {
        if first &+ 8 <= nb { return Half.load8(p, first &* 2) }
        var v = SIMD8<Float>()
        for i in 0..<(nb &- first) { v[i] = Half.load(p, (first &+ i) &* 2) }
        return v
    }

    /// Calls `body(b, codes)` with the 4-bit codes of each block of a pair-interleaved nibble
    /// run (`WeightPacking.packNibblePairs`), and `group(b)` before every eighth block.
    /// An odd last block is in GGUF's 16-byte form.
    @inline(__always)
    static func walk(_ q: UnsafeRawPointer, blocks nb: Int, group: (Int) -> Void, _ body: (Int, SIMD4<Int64>) -> Void) {
        let mask = _mm256_set1_epi8(0x0F)
        var b = 0
        while b &+ 2 <= nb {
            if b & 7 == 0 { group(b) }
            let raw = q.loadUnaligned(fromByteOffset: b &* 16, as: SIMD4<Int64>.self)
            body(b, _mm256_and_si256(raw, mask))
            body(b &+ 1, _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask))
            b &+= 2
        }
        if b < nb {
            if b & 7 == 0 { group(b) }
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

    static var ones: SIMD4<Int64> { _mm256_set1_epi16(1) }
}

/// Repacked q4_0: [nb × f16 d][nibble pairs]; w = d·q − 8d.
enum PackedQ4_0: IntegerBlockFormat {
    static var signedCodes: Bool { false }
    @inline(__always)
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int, group: (Int, SIMD8<Float>, SIMD8<Float>) -> Void,
                     block: (Int, SIMD4<Int64>, SIMD4<Int64>) -> Void) {
        NibbleCodes.walk(row + nb &* 2, blocks: nb, group: { b in
            let d = NibbleCodes.halves(row, b, nb)
            group(b, d, d * -8)
        }) { b, codes in block(b, codes, NibbleCodes.ones) }
    }
}

/// Repacked q5_0 and q5_1: [nb × f16 d][nb × f16 m (q5_1)][nb × u32 qh][nibble pairs];
/// w = d·(q | h<<4) − 16d, or + m.
enum PackedQ5<Variant: Q5Variant>: IntegerBlockFormat {
    static var signedCodes: Bool { false }
    @inline(__always)
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int, group: (Int, SIMD8<Float>, SIMD8<Float>) -> Void,
                     block: (Int, SIMD4<Int64>, SIMD4<Int64>) -> Void) {
        let qh = row + nb &* (Variant.hasMin ? 4 : 2)
        NibbleCodes.walk(qh + nb &* 4, blocks: nb, group: { b in
            let d = NibbleCodes.halves(row, b, nb)
            group(b, d, Variant.hasMin ? NibbleCodes.halves(row + nb &* 2, b, nb) : d * -16)
        }) { b, codes in
            let high = NibbleCodes.fifthBits(qh.loadUnaligned(fromByteOffset: b &* 4, as: UInt32.self))
            block(b, _mm256_or_si256(codes, high), NibbleCodes.ones)
        }
    }
}

/// Whether a q5 layout stores a min per block (q5_1) or centres codes at 16 (q5_0).
protocol Q5Variant { static var hasMin: Bool { get } }
enum Q5_0Variant: Q5Variant { static var hasMin: Bool { false } }
enum Q5_1Variant: Q5Variant { static var hasMin: Bool { true } }
typealias PackedQ5_0 = PackedQ5<Q5_0Variant>
typealias PackedQ5_1 = PackedQ5<Q5_1Variant>

/// Repacked q8_0: [nb × f16 d][nb × 32 int8]; w = d·q (signed codes).
enum PackedQ8_0: IntegerBlockFormat {
    static var signedCodes: Bool { true }
    @inline(__always)
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int, group: (Int, SIMD8<Float>, SIMD8<Float>) -> Void,
                     block: (Int, SIMD4<Int64>, SIMD4<Int64>) -> Void) {
        let q = row + nb &* 2
        for b in 0..<nb {
            if b & 7 == 0 { group(b, NibbleCodes.halves(row, b, nb), SIMD8()) }
            block(b, q.loadUnaligned(fromByteOffset: b &* 32, as: SIMD4<Int64>.self), NibbleCodes.ones)
        }
    }
}
#endif
