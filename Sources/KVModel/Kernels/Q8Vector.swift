/// An activation vector prepared for integer matrix-vector products: the float values plus
/// an 8-bit quantization in blocks of 32 (llama.cpp's `q8` idea, our own layout).
///
/// Block b covers elements 32b..<32b+32: `qs[i] = round(x[i] / scales[b])` with
/// `scales[b] = max|x| / 127`, and `sums[b] = Σ x[i]` (exact, used for the `+m` term of q4_1).
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
    /// Per-block scales (padded to a multiple of 8 blocks with zeros).
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
        scales = .allocate(capacity: paddedBlocks)
        sums = .allocate(capacity: paddedBlocks)
        values.initialize(repeating: 0, count: self.capacity)
        qs.initialize(repeating: 0, count: self.capacity)
        scales.initialize(repeating: 0, count: paddedBlocks)
        sums.initialize(repeating: 0, count: paddedBlocks)
    }

    deinit {
        values.deallocate(); qs.deallocate(); scales.deallocate(); sums.deallocate()
    }

    /// Copies and quantizes `count` floats from `x` (`count ≤ capacity`).
    public func quantize(_ x: UnsafePointer<Float>, count: Int) {
        precondition(count >= 0 && count <= capacity, "vector of \(count) elements exceeds Q8Vector capacity \(capacity)")
        let blocks = (count &+ 31) / 32
        values.update(from: x, count: count)
        if count < blocks &* 32 { (values + count).update(repeating: 0, count: blocks &* 32 &- count) }
        let pv = UnsafeRawPointer(values)
        for b in 0..<blocks {
            let o = b &* 128
            let v0 = pv.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let v1 = pv.loadUnaligned(fromByteOffset: o &+ 32, as: SIMD8<Float>.self)
            let v2 = pv.loadUnaligned(fromByteOffset: o &+ 64, as: SIMD8<Float>.self)
            let v3 = pv.loadUnaligned(fromByteOffset: o &+ 96, as: SIMD8<Float>.self)
            let hi = pointwiseMax(pointwiseMax(v0, v1), pointwiseMax(v2, v3))
            let lo = pointwiseMin(pointwiseMin(v0, v1), pointwiseMin(v2, v3))
            let amax = pointwiseMax(hi, -lo).max()
            let d = amax / 127
            let id: Float = d > 0 ? 1 / d : 0
            scales[b] = d
            sums[b] = ((v0 + v1) + (v2 + v3)).sum()
            let q = UnsafeMutableRawPointer(qs + b &* 32)
            @inline(__always) func q8(_ v: SIMD8<Float>) -> SIMD8<Int8> {
                SIMD8<Int8>(truncatingIfNeeded: SIMD8<Int32>((v * id).rounded(.toNearestOrEven)))
            }
            q.storeBytes(of: q8(v0), as: SIMD8<Int8>.self)
            q.storeBytes(of: q8(v1), toByteOffset: 8, as: SIMD8<Int8>.self)
            q.storeBytes(of: q8(v2), toByteOffset: 16, as: SIMD8<Int8>.self)
            q.storeBytes(of: q8(v3), toByteOffset: 24, as: SIMD8<Int8>.self)
        }
        let padded = (blocks &+ 7) / 8 &* 8
        for b in blocks..<padded { scales[b] = 0; sums[b] = 0 }
        self.count = count
    }
}
