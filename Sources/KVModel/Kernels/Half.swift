/// Conversions between IEEE half precision (`Float16`, ggml's `f16`) and `Float`.
///
/// The buffer loops go eight values at a time through `SIMD8<Float16>`, which compiles to
/// `vcvtph2ps` / `vcvtps2ph` with F16C (`-target-cpu haswell`).
public enum Half {
    /// Converts `count` halves at `src` to floats at `dst` (`dst[i] = Float(src[i])`).
    @inlinable
    public static func toFloat(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i &+ 8 <= count {
            let h = src.loadUnaligned(fromByteOffset: i &* 2, as: SIMD8<Float16>.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: SIMD8<Float>(h), as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count {
            dst[i] = Float(src.loadUnaligned(fromByteOffset: i &* 2, as: Float16.self))
            i &+= 1
        }
    }

    /// Converts `count` floats at `src` to halves at `dst` (round to nearest even; out-of-range values become ±inf).
    @inlinable
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
    @inlinable @inline(__always)
    public static func load(_ p: UnsafeRawPointer, _ offset: Int = 0) -> Float {
        Float(p.loadUnaligned(fromByteOffset: offset, as: Float16.self))
    }

    /// Float value of a bfloat16 bit pattern (the upper 16 bits of a `Float`).
    @inlinable @inline(__always)
    public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }
}
