/// Vectorised transcendental functions for softmax and the gated activations (SiLU, GELU).
///
/// libm's scalar `expf` costs ~5 ns; attention at 8k context needs millions of exponentials per
/// token, so this evaluates 8 at once (Cody–Waite range reduction, degree-6 polynomial,
/// relative error below 2e-7 on [-87, 88]).
public enum FastMath {
    /// e^x for 8 lanes. Inputs below -87 flush to 0.
    @_transparent  // @inline(__always) is not honoured here: measured, a call per eight lanes in attention's softmax
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var clamped = x
        clamped.replace(with: -87.3, where: x .< -87.3)
        clamped.replace(with: 88.3, where: x .> 88.3)
        // Round x·log2(e) to an integer with the 1.5·2^23 trick: after the add, the integer sits in
        // the low mantissa bits (Swift's generic SIMD float→int conversion is not vectorised).
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let shifted = clamped * 1.442_695_04 + magic
        let n = shifted - magic
        var r = clamped - n * 0.693_145_75         // ln2 high part
        r = r - n * 1.428_606_8e-6                  // ln2 low part
        var p = SIMD8<Float>(repeating: 1.987_569_1e-4)
        p = p * r + 1.398_199_9e-3
        p = p * r + 8.333_452e-3
        p = p * r + 4.166_579_6e-2
        p = p * r + 0.166_666_65
        p = p * r + 0.5
        p = p * r * r + r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let bits = (integer &+ 127) &<< 23
        var result = p * unsafeBitCast(bits, to: SIMD8<Float>.self)
        result.replace(with: 0, where: x .< -87.3)
        return result
    }

    /// e^x for one value (uses the vector path so results match it).
    @inline(__always)
    public static func exp(_ x: Float) -> Float { exp(SIMD8(repeating: x))[0] }

    /// In place: `v[i] = exp(v[i] - shift)`; returns the sum of the results.
    @inline(__always)
    public static func expShiftedSum(_ v: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
        let raw = UnsafeMutableRawPointer(v)
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            let e = exp(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - shift)
            raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
            acc += e
            i += 8
        }
        var sum = acc.sum()
        while i < n {
            let e = exp(v[i] - shift)
            v[i] = e
            sum += e
            i += 1
        }
        return sum
    }

    /// Maximum of `n` floats (`-inf` when empty).
    @inline(__always)
    public static func max(_ v: UnsafePointer<Float>, _ n: Int) -> Float {
        let raw = UnsafeRawPointer(v)
        var m = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        while i + 8 <= n {
            let x = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            m.replace(with: x, where: x .> m)
            i += 8
        }
        var r = m.max()
        while i < n { r = Swift.max(r, v[i]); i += 1 }
        return r
    }

    /// Numerically stable softmax of `n` floats in place.
    public static func softmax(_ v: UnsafeMutablePointer<Float>, _ n: Int) {
        guard n > 0 else { return }
        let m = max(v, n)
        let s = expShiftedSum(v, n, shift: m)
        scale(v, n, by: 1 / s)
    }

    /// `v[i] *= factor`.
    @inline(__always)
    public static func scale(_ v: UnsafeMutablePointer<Float>, _ n: Int, by factor: Float) {
        let raw = UnsafeMutableRawPointer(v)
        var i = 0
        while i + 8 <= n {
            let x = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * factor
            raw.storeBytes(of: x, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { v[i] *= factor; i += 1 }
    }

    /// SwiGLU activation in place: `gate[i] = silu(gate[i]) * up[i]`, `silu(x) = x / (1 + e^-x)`.
    public static func swiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        let g = UnsafeMutableRawPointer(gate), u = UnsafeRawPointer(up)
        var i = 0
        while i + 8 <= n {
            let x = g.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let y = x / (1 + exp(-x)) * u.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            g.storeBytes(of: y, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            let x = gate[i]
            gate[i] = x / (1 + exp(-x)) * up[i]
            i += 1
        }
    }

    /// GeGLU with GELU's tanh approximation, in place: `gate[i] = gelu(gate[i]) * up[i]` where
    /// `gelu(x) = ½x(1 + tanh(u)) = x / (1 + e^(−2u))`, `u = √(2/π)(x + 0.044715x³)` (Gemma).
    public static func gegluTanh(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        let g = UnsafeMutableRawPointer(gate), u = UnsafeRawPointer(up)
        let c: Float = -2 * 0.797_884_56  // −2·√(2/π)
        var i = 0
        while i + 8 <= n {
            let x = g.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let y = x / (1 + exp(c * (x + 0.044_715 * x * x * x))) * u.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            g.storeBytes(of: y, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            let x = gate[i]
            gate[i] = x / (1 + exp(c * (x + 0.044_715 * x * x * x))) * up[i]
            i += 1
        }
    }
}
