#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Unpacking the packed codes of a quantized row (`0…2^bits-1`).
///
/// Codes are packed in 8-byte chunks (`QuantizedKVBlocks.codeLocation`): the eight codes from
/// channel `c` (a multiple of 8) are one bit-field of the chunk's 8 bytes, so unpacking is a
/// widening load, one shift or mask by a constant, and (for floats) one int-to-float conversion.
///
/// The integer loops read a row in units of 16 bytes (two chunks, `128/bits` channels), widened to
/// sixteen 16-bit lanes (`WholeUnit`) and split into `perUnit` code vectors; a row whose length is
/// not a multiple of 16 ends with a half unit (`HalfUnit`: lanes 8..<16 zero).
protocol KVCodeUnpacker: KVRowFormat {
    /// Bits per code.
    static var bits: Int { get }
    #if arch(x86_64)
    /// Code vector `s` (0..<`perUnit`) of a widened unit: lanes 0..<8 hold the unit's channels
    /// `laneChannel(s, 0)..<+8`, lanes 8..<16 channels `laneChannel(s, 1)..<+8`.
    static func codeVector(unit: SIMD4<Int64>, _ s: Int) -> SIMD4<Int64>
    /// First channel (within its unit) of lanes `8·half..<8·half+8` of code vector `s`.
    static func laneChannel(_ s: Int, _ half: Int) -> Int
    #endif
}

enum Codes8: KVCodeUnpacker {
    static var bits: Int { 8 }

    @inline(__always)
    static func load8(_ row: UnsafeRawPointer, _ c: Int) -> SIMD8<Float> {
        codesToFloat(widen(row, c))
    }

    #if arch(x86_64)
    @inline(__always)
    static func codeVector(unit: SIMD4<Int64>, _ s: Int) -> SIMD4<Int64> { unit }

    @inline(__always)
    static func laneChannel(_ s: Int, _ half: Int) -> Int { 8 * half }
    #endif
}

enum Codes4: KVCodeUnpacker {
    static var bits: Int { 4 }

    @inline(__always)
    static func load8(_ row: UnsafeRawPointer, _ c: Int) -> SIMD8<Float> {
        let x = widen(row, (c &>> 4) &<< 3)
        return codesToFloat(c & 8 == 0 ? x & 15 : x &>> 4)
    }

    #if arch(x86_64)
    @inline(__always)
    static func codeVector(unit x: SIMD4<Int64>, _ s: Int) -> SIMD4<Int64> {
        s == 0 ? _mm256_and_si256(x, _mm256_set1_epi16(15)) : _mm256_srli_epi16(x, 4)
    }

    @inline(__always)
    static func laneChannel(_ s: Int, _ half: Int) -> Int { 8 * s + 16 * half }
    #endif
}

enum Codes2: KVCodeUnpacker {
    static var bits: Int { 2 }

    @inline(__always)
    static func load8(_ row: UnsafeRawPointer, _ c: Int) -> SIMD8<Float> {
        let x = widen(row, (c &>> 5) &<< 3)
        let shift = UInt32((c &>> 3) & 3) &* 2
        return codesToFloat(shift == 6 ? x &>> 6 : (x &>> shift) & 3)
    }

    #if arch(x86_64)
    @inline(__always)
    static func codeVector(unit x: SIMD4<Int64>, _ s: Int) -> SIMD4<Int64> {
        switch s {
        case 0: return _mm256_and_si256(x, _mm256_set1_epi16(3))
        case 1: return _mm256_and_si256(_mm256_srli_epi16(x, 2), _mm256_set1_epi16(3))
        case 2: return _mm256_and_si256(_mm256_srli_epi16(x, 4), _mm256_set1_epi16(3))
        default: return _mm256_srli_epi16(x, 6)
        }
    }

    @inline(__always)
    static func laneChannel(_ s: Int, _ half: Int) -> Int { 8 * s + 32 * half }
    #endif
}

extension KVCodeUnpacker {
    /// Element `c` of a row, for the float loops' odd channels.
    @inline(__always)
    static func load1(_ row: UnsafeRawPointer, _ c: Int) -> Float { Float(QuantizedKVBlocks.code(row, c, bits: bits)) }

    /// Code vectors per 16-byte unit.
    static var perUnit: Int { 8 / bits }
    /// Channels per 16-byte unit.
    static var unitChannels: Int { 128 / bits }
}

#if arch(x86_64)
/// Reading one unit of codes widened to sixteen 16-bit lanes: a whole 16-byte unit, or a row's last
/// half unit (8 bytes in lanes 0..<8, lanes 8..<16 zero). A static type, so loops over either are
/// specialised.
protocol CodeUnitLoad {
    static func load(_ row: UnsafeRawPointer, _ offset: Int) -> SIMD4<Int64>
}

enum WholeUnit: CodeUnitLoad {
    @inline(__always)
    static func load(_ row: UnsafeRawPointer, _ offset: Int) -> SIMD4<Int64> { widen16(row, offset) }
}

enum HalfUnit: CodeUnitLoad {
    @inline(__always)
    static func load(_ row: UnsafeRawPointer, _ offset: Int) -> SIMD4<Int64> {
        _mm256_cvtepu8_epi16(SIMD2<Int64>(Int64(bitPattern: row.loadUnaligned(fromByteOffset: offset, as: UInt64.self)), 0))
    }
}
#endif

/// The 8 bytes at `row + offset`, each widened to a 32-bit lane.
@inline(__always)
private func widen(_ row: UnsafeRawPointer, _ offset: Int) -> SIMD8<UInt32> {
    #if arch(x86_64)
    let bytes = SIMD2<Int64>(Int64(bitPattern: row.loadUnaligned(fromByteOffset: offset, as: UInt64.self)), 0)
    return unsafeBitCast(_mm256_cvtepu8_epi32(bytes), to: SIMD8<UInt32>.self)
    #else
    return SIMD8<UInt32>(truncatingIfNeeded: row.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt8>.self))
    #endif
}

#if arch(x86_64)
/// The 16 bytes at `row + offset`, each widened to a 16-bit lane (`vpmovzxbw`).
@inline(__always)
private func widen16(_ row: UnsafeRawPointer, _ offset: Int) -> SIMD4<Int64> {
    _mm256_cvtepu8_epi16(row.loadUnaligned(fromByteOffset: offset, as: SIMD2<Int64>.self))
}
#endif

/// Small non-negative integers to floats in one instruction (`vcvtdq2ps`).
@inline(__always)
private func codesToFloat(_ v: SIMD8<UInt32>) -> SIMD8<Float> {
    #if arch(x86_64)
    return _mm256_cvtepi32_ps(unsafeBitCast(v, to: SIMD4<Int64>.self))
    #else
    return SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: v))
    #endif
}
