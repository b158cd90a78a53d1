#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// An activation vector prepared for integer matrix-vector products: the float values plus
/// a two-part 8-bit quantization in blocks of 32.
///
/// llama.cpp quantizes activations to one int8 per element; measured on the default model that
/// costs ~1% per product and 1.75 logits after 30 layers (the golden bar is 0.25). So each
/// element carries a second int8 for its rounding residual, at 1/256 of the block step:
/// with `d = max|x| / 127` for block b, `qs[i] = round(x[i]/d)` and
/// `residuals[i] = round((x[i]/d − qs[i])·256)`, hence `x[i] ≈ scales[b]·(256·qs[i] + residuals[i])`
/// with `scales[b] = d/256`: an error of at most d/512, about 16 bits of precision. A kernel
/// computes both integer dot products from the same unpacked weights and combines them as
/// `(Σw·qs << 8) + Σw·residuals` (exact in int32). `sums[b] = Σ x[i]` (exact, for q4_1's `+m`).
/// Quantize once per token and reuse the vector for every matrix reading the same input
/// (q, k, v; gate, up). Storage is allocated once, at `init`.
public final class Q8Vector: @unchecked Sendable {
    /// Maximum number of elements.
    public let capacity: Int
    /// Number of elements currently held (set by `quantize`).
    public private(set) var count = 0
    /// The float values (`count`, zero-padded to whole blocks).
    public let values: UnsafeMutablePointer<Float>
    /// The 8-bit values (`count` rounded up to 32).
    public let qs: UnsafeMutablePointer<Int8>
    /// The 8-bit rounding residuals, at 1/256 of a step of `qs`.
    public let residuals: UnsafeMutablePointer<Int8>
    /// Per-block scales of the combined integer `256·qs + residuals` (padded to a multiple of 8 blocks with zeros).
    public let scales: UnsafeMutablePointer<Float>
    /// Per-block sums of the float values (padded like `scales`).
    public let sums: UnsafeMutablePointer<Float>

    /// Blocks of 32 covering `count`.
    public var blockCount: Int { (count &+ 31) / 32 }

    /// Allocates room for vectors of up to `capacity` elements.
    public init(capacity: Int) {
        let blocks = (max(1, capacity) &+ 31) / 32
        let paddedBlocks = (blocks &+ 7) / 8 &* 8
        self.capacity = blocks &* 32
        values = .allocate(capacity: self.capacity)
        qs = .allocate(capacity: self.capacity)
        residuals = .allocate(capacity: self.capacity)
        scales = .allocate(capacity: paddedBlocks)
        sums = .allocate(capacity: paddedBlocks)
        values.initialize(repeating: 0, count: self.capacity)
        qs.initialize(repeating: 0, count: self.capacity)
        residuals.initialize(repeating: 0, count: self.capacity)
        scales.initialize(repeating: 0, count: paddedBlocks)
        sums.initialize(repeating: 0, count: paddedBlocks)
    }

    deinit {
        values.deallocate(); qs.deallocate(); residuals.deallocate(); scales.deallocate(); sums.deallocate()
    }

    /// Copies and quantizes `count` floats from `x` (`count ≤ capacity`).
    public func quantize(_ x: UnsafePointer<Float>, count: Int) {
        precondition(count >= 0 && count <= capacity, "vector of \(count) elements exceeds Q8Vector capacity \(capacity)")
        let blocks = (count &+ 31) / 32
        values.update(from: x, count: count)
        if count < blocks &* 32 { (values + count).update(repeating: 0, count: blocks &* 32 &- count) }
        for b in 0..<blocks {
            (scales[b], sums[b]) = Self.quantizeBlock(values + b &* 32, qs + b &* 32, residuals + b &* 32)
        }
        let padded = (blocks &+ 7) / 8 &* 8
        for b in blocks..<padded { scales[b] = 0; sums[b] = 0 }
        self.count = count
    }

    /// Quantizes the 32 floats at `v` into `qs[0..<32]` and `residuals[0..<32]`; returns the
    /// block's scale (of `256·qs + residuals`) and the exact sum of the floats. Shared with `Q8Batch`
    /// so both hold bit-identical blocks.
    @inline(__always)
    static func quantizeBlock(_ v: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>,
                              _ r: UnsafeMutablePointer<Int8>) -> (scale: Float, sum: Float) {
        let pv = UnsafeRawPointer(v)
        let v0 = pv.loadUnaligned(as: SIMD8<Float>.self), v1 = pv.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        let v2 = pv.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self), v3 = pv.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
        @inline(__always) func magnitude(_ a: SIMD8<Float>) -> SIMD8<Float> {
            unsafeBitCast(unsafeBitCast(a, to: SIMD8<UInt32>.self) & SIMD8(repeating: 0x7FFF_FFFF), to: SIMD8<Float>.self)
        }
        let m = pointwiseMax(pointwiseMax(magnitude(v0), magnitude(v1)), pointwiseMax(magnitude(v2), magnitude(v3)))
        let d = m.max() / 127
        let id: Float = d > 0 ? 1 / d : 0
        let sum = ((v0 + v1) + (v2 + v3)).sum()
        let codes = Self.codes(v0 * id, v1 * id, v2 * id, v3 * id)
        UnsafeMutableRawPointer(q).storeBytes(of: codes.q, as: SIMD32<Int8>.self)
        UnsafeMutableRawPointer(r).storeBytes(of: codes.r, as: SIMD32<Int8>.self)
        return (d / 256, sum)
    }

    /// The 32 scaled values (|s| ≤ 127) as int8 codes `q = round(s)` and residuals
    /// `r = clamp(round((s − q)·256), ±127)`, in element order.
    #if arch(x86_64)
    @inline(__always)
    private static func codes(_ s0: SIMD8<Float>, _ s1: SIMD8<Float>, _ s2: SIMD8<Float>,
                              _ s3: SIMD8<Float>) -> (q: SIMD32<Int8>, r: SIMD32<Int8>) {
        // Round to nearest even with the 1.5·2^23 trick (the generic SIMD float→int conversion is a call).
        let magic = SIMD8<Float>(repeating: 12_582_912)
        @inline(__always) func round(_ v: SIMD8<Float>) -> (SIMD8<Float>, SIMD4<Int64>) {
            let t = v + magic
            return (t - magic, unsafeBitCast(unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000, to: SIMD4<Int64>.self))
        }
        @inline(__always) func residual(_ s: SIMD8<Float>, _ rounded: SIMD8<Float>) -> SIMD4<Int64> {
            let (_, i) = round((s - rounded) * 256)
            return _mm256_max_epi32(_mm256_min_epi32(i, _mm256_set1_epi32(127)), _mm256_set1_epi32(-127))
        }
        // Saturating packs never saturate here (every value is within ±127); they interleave the
        // four vectors by 4-byte groups per 128-bit lane, which the permute puts back in order.
        @inline(__always) func pack(_ a: SIMD4<Int64>, _ b: SIMD4<Int64>, _ c: SIMD4<Int64>, _ d: SIMD4<Int64>) -> SIMD32<Int8> {
            let bytes = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d))
            return unsafeBitCast(_mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)), to: SIMD32<Int8>.self)
        }
        let (f0, i0) = round(s0), (f1, i1) = round(s1), (f2, i2) = round(s2), (f3, i3) = round(s3)
        return (pack(i0, i1, i2, i3), pack(residual(s0, f0), residual(s1, f1), residual(s2, f2), residual(s3, f3)))
    }
    #else
    private static func codes(_ s0: SIMD8<Float>, _ s1: SIMD8<Float>, _ s2: SIMD8<Float>,
                              _ s3: SIMD8<Float>) -> (q: SIMD32<Int8>, r: SIMD32<Int8>) {
        var q = SIMD32<Int8>(), r = SIMD32<Int8>()
        for (k, s) in [s0, s1, s2, s3].enumerated() {
            for j in 0..<8 {
                let hi = s[j].rounded(.toNearestOrEven)
                q[k * 8 + j] = Int8(hi)
                r[k * 8 + j] = Int8(max(-127, min(127, ((s[j] - hi) * 256).rounded(.toNearestOrEven))))
            }
        }
        return (q, r)
    }
    #endif

    /// The value element `i` stands for after quantization, `scales[b]·(256·qs[i] + residuals[i])`.
    public func quantizedValue(_ i: Int) -> Float {
        scales[i / 32] * Float(256 * Int(qs[i]) + Int(residuals[i]))
    }
}
