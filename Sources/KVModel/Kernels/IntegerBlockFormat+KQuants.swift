#if arch(x86_64)
import _Builtin_intrinsics.intel

// The k-quants are walked in GGUF's layout (see `Dequantize+KQuants.swift`): each 32-byte run
// of nibbles already holds two whole sub-blocks (low nibbles, then high nibbles), so a repack
// would buy nothing and cost a copy of the weights. A super-block is one group: sub-block i of
// super-block s is the activation block 8s + i.

/// q4_K and q5_K: w = (d·sc)·q − dmin·m per 32-element sub-block; q5_K adds a fifth bit per
/// element (bit 2j of the high-bit byte l for element l of sub-block 2j, bit 2j+1 for 2j+1).
enum BlocksQ45_K<Variant: KQuantVariant>: IntegerBlockFormat {
    static var signedCodes: Bool { false }
    @inline(__always)
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int, group: (Int, SIMD8<Float>, SIMD8<Float>) -> Void,
                     block: (Int, SIMD4<Int64>, SIMD4<Int64>) -> Void) {
        let mask = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1), ones = NibbleCodes.ones
        let bytes = Variant.fifthBit ? 176 : 144, nibbles = Variant.fifthBit ? 48 : 16
        for s in 0..<(nb / 8) {
            let blk = row + s &* bytes
            let (sc, m) = scalesAndMins(blk + 4)
            group(s &* 8, sc * Half.load(blk), m * -Half.load(blk, 2))
            var qh = Variant.fifthBit ? blk.loadUnaligned(fromByteOffset: 16, as: SIMD4<Int64>.self) : SIMD4<Int64>()
            for j in 0..<4 {
                let raw = blk.loadUnaligned(fromByteOffset: nibbles &+ j &* 32, as: SIMD4<Int64>.self)
                var lo = _mm256_and_si256(raw, mask), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask)
                if Variant.fifthBit {
                    // Bits 0 and 1 of each byte → 0x10 (the shifts stay inside each byte after the mask).
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(qh, one), 4))
                    hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 1), one), 4))
                    qh = _mm256_srli_epi16(qh, 2)
                }
                block(s &* 8 &+ 2 &* j, lo, ones)
                block(s &* 8 &+ 2 &* j &+ 1, hi, ones)
            }
        }
    }

    /// The eight 6-bit scales and mins of a super-block from its 12 packed bytes (ggml's
    /// `get_scale_min_k4` for j = 0..<8 at once): bytes 0–3 hold scales 0–3 (low 6 bits) and the
    /// top bits of scales 4–7; bytes 4–7 mins 0–3 and the top bits of mins 4–7; bytes 8–11 the
    /// low nibbles of scales 4–7 and, in their high nibbles, of mins 4–7.
    @inline(__always)
    static func scalesAndMins(_ p: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>) {
        let w0 = p.loadUnaligned(as: UInt32.self), w1 = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let w2 = p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        let sc = UInt64(w0 & 0x3F3F_3F3F) | UInt64((w2 & 0x0F0F_0F0F) | ((w0 >> 2) & 0x3030_3030)) << 32
        let m = UInt64(w1 & 0x3F3F_3F3F) | UInt64(((w2 >> 4) & 0x0F0F_0F0F) | ((w1 >> 2) & 0x3030_3030)) << 32
        @inline(__always) func floats(_ v: UInt64) -> SIMD8<Float> {
            _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(Int64(bitPattern: v))))
        }
        return (floats(sc), floats(m))
    }
}

/// Whether a 4-bit k-quant layout carries a fifth bit (q5_K) or not (q4_K).
protocol KQuantVariant { static var fifthBit: Bool { get } }
enum Q4_KVariant: KQuantVariant { static var fifthBit: Bool { false } }
enum Q5_KVariant: KQuantVariant { static var fifthBit: Bool { true } }
typealias BlocksQ4_K = BlocksQ45_K<Q4_KVariant>
typealias BlocksQ5_K = BlocksQ45_K<Q5_KVariant>

/// q6_K: w = d·sc·(q − 32) with one int8 scale per 16 elements: signed codes q − 32 in −32…31,
/// the block's two scales as `vpmaddwd` multipliers (products ≤ 2·32·127·128 per lane pair,
/// within int32 after the ×256 of the two-part input).
enum BlocksQ6_K: IntegerBlockFormat {
    static var signedCodes: Bool { true }
    @inline(__always)
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int, group: (Int, SIMD8<Float>, SIMD8<Float>) -> Void,
                     block: (Int, SIMD4<Int64>, SIMD4<Int64>) -> Void) {
        let mask = _mm256_set1_epi8(0x0F), high = _mm256_set1_epi8(0x30), bias = _mm256_set1_epi8(32)
        for s in 0..<(nb / 8) {
            let blk = row + s &* 210
            group(s &* 8, SIMD8(repeating: Half.load(blk, 208)), SIMD8())
            let scales = blk.loadUnaligned(fromByteOffset: 192, as: SIMD2<Int64>.self)
            for n in 0..<2 {
                let ql0 = blk.loadUnaligned(fromByteOffset: n &* 64, as: SIMD4<Int64>.self)
                let ql1 = blk.loadUnaligned(fromByteOffset: n &* 64 &+ 32, as: SIMD4<Int64>.self)
                let qh = blk.loadUnaligned(fromByteOffset: 128 &+ n &* 32, as: SIMD4<Int64>.self)
                // Elements 32k + l of this half: low bits from ql0/ql1 (low, then high nibbles),
                // bits 2k, 2k+1 of qh[l] as bits 4, 5.
                @inline(__always) func emit(_ k: Int, _ q: SIMD4<Int64>) {
                    // int16 lanes 0–7 take scale 2i, lanes 8–15 scale 2i+1 (i = this block in the super-block).
                    let i = Int64(n &* 4 &+ k)
                    let pick = _mm_set_epi64x(0x0101_0101_0101_0101 &* (2 &* i &+ 1), 0x0101_0101_0101_0101 &* (2 &* i))
                    block(s &* 8 &+ n &* 4 &+ k, _mm256_sub_epi8(q, bias), _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, pick)))
                }
                emit(0, _mm256_or_si256(_mm256_and_si256(ql0, mask), _mm256_and_si256(_mm256_slli_epi16(qh, 4), high)))
                emit(1, _mm256_or_si256(_mm256_and_si256(ql1, mask), _mm256_and_si256(_mm256_slli_epi16(qh, 2), high)))
                emit(2, _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), mask), _mm256_and_si256(qh, high)))
                emit(3, _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), mask), _mm256_and_si256(_mm256_srli_epi16(qh, 2), high)))
            }
        }
    }
}
#endif
