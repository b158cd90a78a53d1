#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Rounding floats to 16-bit integers for the integer loops over quantized codes.
extension KVDot {
    /// Eight floats (each within ±32767) rounded to nearest and stored as Int16.
    @inline(__always)
    static func storeRounded(_ v: SIMD8<Float>, _ dst: UnsafeMutablePointer<Int16>) {
        let i = unsafeBitCast(_mm256_cvtps_epi32(v), to: SIMD8<Int32>.self)
        let packed = _mm_packs_epi32(unsafeBitCast(i.lowHalf, to: SIMD2<Int64>.self), unsafeBitCast(i.highHalf, to: SIMD2<Int64>.self))
        UnsafeMutableRawPointer(dst).storeBytes(of: packed, as: SIMD2<Int64>.self)
    }

    /// Lane-wise max(m, |v|) (`vandps` + `vmaxps`; the stdlib's generic `pointwiseMax` is not inlined).
    @inline(__always)
    static func maxMagnitude(_ m: SIMD8<Float>, _ v: SIMD8<Float>) -> SIMD8<Float> {
        let magnitude = unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
        return _mm256_max_ps(m, magnitude)
    }

    /// The sum of the lanes (the stdlib's `SIMD.sum()` goes lane by lane, and around it LLVM
    /// scalarised the vector products feeding it).
    @inline(__always)
    static func horizontalSum(_ v: SIMD8<Float>) -> Float {
        var s = _mm_add_ps(v.lowHalf, v.highHalf)
        s = _mm_add_ps(s, _mm_movehl_ps(s, s))
        return _mm_add_ss(s, _mm_movehdup_ps(s))[0]
    }

    /// The largest lane (the stdlib's `SIMD.max()` is not inlined).
    @inline(__always)
    static func horizontalMax(_ v: SIMD8<Float>) -> Float {
        var m = _mm_max_ps(v.lowHalf, v.highHalf)
        m = _mm_max_ps(m, _mm_movehl_ps(m, m))
        return _mm_max_ps(m, _mm_movehdup_ps(m))[0]
    }
}
#endif
