#if arch(x86_64)
import _Builtin_intrinsics.intel

// The k-quants are walked in GGUF's layout (see `Dequantize+KQuants.swift`): each 32-byte run
// of nibbles already holds two whole sub-blocks (low nibbles, then high nibbles), so a repack
// would buy nothing and cost a copy of the weights. Sub-block i of super-block s is the
// activation block 8s + i.

/// q4_K: w = (d·sc)·q − dmin·m per 32-element sub-block.
enum BlocksQ4_K: IntegerBlockFormat {
    static var signedCodes: Bool { false }
    @inline(__always)
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int, _ body: (Int, SIMD4<Int64>, SIMD8<Float>, Float) -> Void) {
        let mask = _mm256_set1_epi8(0x0F)
        for s in 0..<(nb / 8) {
            let blk = row + s &* 144
            let d = Half.load(blk), dmin = Half.load(blk, 2)
            for j in 0..<4 {
                let (sc0, m0) = Dequantize.scaleMinK4(2 &* j, blk + 4), (sc1, m1) = Dequantize.scaleMinK4(2 &* j &+ 1, blk + 4)
                let raw = blk.loadUnaligned(fromByteOffset: 16 &+ j &* 32, as: SIMD4<Int64>.self)
                body(s &* 8 &+ 2 &* j, _mm256_and_si256(raw, mask), SIMD8(repeating: d * sc0), -(dmin * m0))
                body(s &* 8 &+ 2 &* j &+ 1, _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask), SIMD8(repeating: d * sc1), -(dmin * m1))
            }
        }
    }
}

/// q5_K: as q4_K with a fifth bit per element (bit 2j of the high-bit byte for sub-block 2j,
/// bit 2j+1 for 2j+1, byte l for element l).
enum BlocksQ5_K: IntegerBlockFormat {
    static var signedCodes: Bool { false }
    @inline(__always)
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int, _ body: (Int, SIMD4<Int64>, SIMD8<Float>, Float) -> Void) {
        let mask = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1)
        for s in 0..<(nb / 8) {
            let blk = row + s &* 176
            let d = Half.load(blk), dmin = Half.load(blk, 2)
            var qh = blk.loadUnaligned(fromByteOffset: 16, as: SIMD4<Int64>.self)
            for j in 0..<4 {
                let (sc0, m0) = Dequantize.scaleMinK4(2 &* j, blk + 4), (sc1, m1) = Dequantize.scaleMinK4(2 &* j &+ 1, blk + 4)
                let raw = blk.loadUnaligned(fromByteOffset: 48 &+ j &* 32, as: SIMD4<Int64>.self)
                // Bit 0 → 0x10 and bit 1 → 0x10 (shifts stay inside each byte after the mask).
                let h0 = _mm256_slli_epi16(_mm256_and_si256(qh, one), 4)
                let h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 1), one), 4)
                body(s &* 8 &+ 2 &* j, _mm256_or_si256(_mm256_and_si256(raw, mask), h0), SIMD8(repeating: d * sc0), -(dmin * m0))
                body(s &* 8 &+ 2 &* j &+ 1, _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw, 4), mask), h1),
                     SIMD8(repeating: d * sc1), -(dmin * m1))
                qh = _mm256_srli_epi16(qh, 2)
            }
        }
    }
}

/// q6_K: w = (d·sc)·(q − 32) with one int8 scale per 16 elements; signed codes q − 32 in −32…31,
/// the block's two scales in lanes 0–3 and 4–7.
enum BlocksQ6_K: IntegerBlockFormat {
    static var signedCodes: Bool { true }
    @inline(__always)
    static func walk(_ row: UnsafeRawPointer, blocks nb: Int, _ body: (Int, SIMD4<Int64>, SIMD8<Float>, Float) -> Void) {
        let mask = _mm256_set1_epi8(0x0F), high = _mm256_set1_epi8(0x30), bias = _mm256_set1_epi8(32)
        for s in 0..<(nb / 8) {
            let blk = row + s &* 210
            let d = Half.load(blk, 208)
            for n in 0..<2 {
                let ql0 = blk.loadUnaligned(fromByteOffset: n &* 64, as: SIMD4<Int64>.self)
                let ql1 = blk.loadUnaligned(fromByteOffset: n &* 64 &+ 32, as: SIMD4<Int64>.self)
                let qh = blk.loadUnaligned(fromByteOffset: 128 &+ n &* 32, as: SIMD4<Int64>.self)
                // Elements 32k + l of this half: low bits from ql0/ql1 (low, then high nibbles),
                // bits 2k, 2k+1 of qh[l] as bits 4, 5.
                let codes = (
                    _mm256_or_si256(_mm256_and_si256(ql0, mask), _mm256_and_si256(_mm256_slli_epi16(qh, 4), high)),
                    _mm256_or_si256(_mm256_and_si256(ql1, mask), _mm256_and_si256(_mm256_slli_epi16(qh, 2), high)),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), mask), _mm256_and_si256(qh, high)),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), mask), _mm256_and_si256(_mm256_srli_epi16(qh, 2), high)))
                @inline(__always) func emit(_ k: Int, _ q: SIMD4<Int64>) {
                    let sc = blk + (192 &+ n &* 8 &+ 2 &* k)
                    let s0 = d * Float(sc.load(as: Int8.self)), s1 = d * Float(sc.load(fromByteOffset: 1, as: Int8.self))
                    body(s &* 8 &+ n &* 4 &+ k, _mm256_sub_epi8(q, bias),
                         SIMD8(lowHalf: SIMD4(repeating: s0), highHalf: SIMD4(repeating: s1)), 0)
                }
                emit(0, codes.0); emit(1, codes.1); emit(2, codes.2); emit(3, codes.3)
            }
        }
    }
}
#endif
