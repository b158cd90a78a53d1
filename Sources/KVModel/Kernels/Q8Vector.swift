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
        // Round to nearest with the 1.5·2^23 trick (the generic SIMD float→int conversion is a call).
        let magic = SIMD8<Float>(repeating: 12_582_912)
        @inline(__always) func roundToInt(_ v: SIMD8<Float>) -> (SIMD8<Float>, SIMD8<Int32>) {
            let t = v + magic
            return (t - magic, unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000)
        }
        var v = (pv.loadUnaligned(as: SIMD8<Float>.self),
                 pv.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self),
                 pv.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self),
                 pv.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
        var m = SIMD8<Float>()
        for a in [v.0, v.1, v.2, v.3] {
            var mag = a
            mag.replace(with: -a, where: a .< 0)
            m.replace(with: mag, where: mag .> m)
        }
        let d = m.max() / 127
        let id: Float = d > 0 ? 1 / d : 0
        let sum = ((v.0 + v.1) + (v.2 + v.3)).sum()
        withUnsafeMutableBytes(of: &v) { lanes in
            for k in 0..<4 {
                let scaled = lanes.loadUnaligned(fromByteOffset: k &* 32, as: SIMD8<Float>.self) * id
                let (hiF, hiI) = roundToInt(scaled)
                var (_, loI) = roundToInt((scaled - hiF) * 256)
                loI.replace(with: 127, where: loI .> 127)
                loI.replace(with: -127, where: loI .< -127)
                for j in 0..<8 {
                    q[k &* 8 &+ j] = Int8(truncatingIfNeeded: hiI[j])
                    r[k &* 8 &+ j] = Int8(truncatingIfNeeded: loI[j])
                }
            }
        }
        return (d / 256, sum)
    }

    /// The value element `i` stands for after quantization, `scales[b]·(256·qs[i] + residuals[i])`.
    public func quantizedValue(_ i: Int) -> Float {
        scales[i / 32] * Float(256 * Int(qs[i]) + Int(residuals[i]))
    }
}
