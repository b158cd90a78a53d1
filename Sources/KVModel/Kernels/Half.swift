#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Conversions between IEEE half precision (`Float16`, ggml's `f16`) and `Float`.
///
/// The buffer loops go eight values at a time through `SIMD8<Float16>`, which compiles to
/// `vcvtps2ph` with F16C (`-target-cpu haswell`). Widening goes through the `vcvtph2ps`
/// intrinsic instead: the stdlib's generic `SIMD8<Float>(SIMD8<Float16>)` is not inlined
/// (measured: a call per eight values).
public enum Half {
    /// Eight halves at `p + offset` (unaligned) as floats.
    @inline(__always)
    public static func load8(_ p: UnsafeRawPointer, _ offset: Int = 0) -> SIMD8<Float> {
        #if arch(x86_64)
        return _mm256_cvtph_ps(p.loadUnaligned(fromByteOffset: offset, as: SIMD2<Int64>.self))
        #else
        return SIMD8<Float>(p.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float16>.self))
        #endif
    }

    /// Converts `count` halves at `src` to floats at `dst` (`dst[i] = Float(src[i])`).
    public static func toFloat(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i &+ 8 <= count {
            UnsafeMutableRawPointer(dst + i).storeBytes(of: load8(src, i &* 2), as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count {
            dst[i] = Float(src.loadUnaligned(fromByteOffset: i &* 2, as: Float16.self))
            i &+= 1
        }
    }

    /// Converts `count` floats at `src` to halves at `dst` (round to nearest even; out-of-range values become ±inf).
    public static func fromFloat(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
        var i = 0
        while i &+ 8 <= count {
            let f = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
            (dst + i &* 2).storeBytes(of: SIMD8<Float16>(f), as: SIMD8<Float16>.self)
            i &+= 8
        }
        while i < count {
            (dst + i &* 2).storeBytes(of: Float16(src[i]), as: Float16.self)
            i &+= 1
        }
    }

    /// The float value of the half stored at `p + offset` (unaligned load).
    @inline(__always)
    public static func load(_ p: UnsafeRawPointer, _ offset: Int = 0) -> Float {
        Float(p.loadUnaligned(fromByteOffset: offset, as: Float16.self))
    }

    /// Float value of a bfloat16 bit pattern (the upper 16 bits of a `Float`).
    @inline(__always)
    public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}
