// The 256-element k-quant super-blocks (ggml-common.h):
//   q4_K (144 B): f16 d, f16 dmin, 12 B packed 6-bit scales/mins (8 of each), 128 B nibbles
//   q5_K (176 B): f16 d, f16 dmin, 12 B scales/mins, 32 B high bits, 128 B nibbles
//   q6_K (210 B): 128 B low nibbles, 64 B high 2-bit pairs, 16 × int8 scales, f16 d
// In q4_K/q5_K each 64 elements use one 32-byte nibble run: low nibbles are sub-block 2i,
// high nibbles sub-block 2i+1; x = d·sc·q − dmin·m.

extension Dequantize {
    /// ggml's `get_scale_min_k4`: the 6-bit scale and min of sub-block `j` (0..<8) from the 12 packed bytes.
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (Float, Float) {
        @inline(__always) func b(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 {
            return (Float(b(j) & 63), Float(b(j &+ 4) & 63))
        }
        let sc = (b(j &+ 4) & 0x0F) | ((b(j &- 4) >> 6) << 4)
        let m = (b(j &+ 4) >> 4) | ((b(j) >> 6) << 4)
        return (Float(sc), Float(m))
    }

    static func q4_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nb: Int) {
        for b in 0..<nb {
            let blk = src + b &* 144
            let d = Half.load(blk), dmin = Half.load(blk, 2)
            let scales = blk + 4
            var q = blk + 16
            var y = dst + b &* 256
            for j in 0..<4 {
                let (sc1, m1) = scaleMinK4(2 &* j, scales), (sc2, m2) = scaleMinK4(2 &* j &+ 1, scales)
                let d1 = SIMD16<Float>(repeating: d * sc1), mm1 = SIMD16<Float>(repeating: dmin * m1)
                let d2 = SIMD16<Float>(repeating: d * sc2), mm2 = SIMD16<Float>(repeating: dmin * m2)
                for h in 0..<2 {
                    let (lo, hi) = nibbles(q + h &* 16)  // 16 bytes → lo: elements l, hi: elements 32+l
                    store(d1 * lo - mm1, y + h &* 16)
                    store(d2 * hi - mm2, y + (32 &+ h &* 16))
                }
                q += 32
                y += 64
            }
        }
    }

    static func q5_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nb: Int) {
        for b in 0..<nb {
            let blk = src + b &* 176
            let d = Half.load(blk), dmin = Half.load(blk, 2)
            let scales = blk + 4
            let qh = blk + 16
            var ql = blk + 48
            var y = dst + b &* 256
            var u1: UInt8 = 1, u2: UInt8 = 2
            for j in 0..<4 {
                let (sc1, m1) = scaleMinK4(2 &* j, scales), (sc2, m2) = scaleMinK4(2 &* j &+ 1, scales)
                let d1 = SIMD16<Float>(repeating: d * sc1), mm1 = SIMD16<Float>(repeating: dmin * m1)
                let d2 = SIMD16<Float>(repeating: d * sc2), mm2 = SIMD16<Float>(repeating: dmin * m2)
                for h in 0..<2 {
                    let (lo, hi) = nibbles(ql + h &* 16)
                    let hb = qh.loadUnaligned(fromByteOffset: h &* 16, as: SIMD16<UInt8>.self)
                    let b1 = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: SIMD16<UInt8>().replacing(with: 16, where: (hb & u1) .!= 0)))
                    let b2 = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: SIMD16<UInt8>().replacing(with: 16, where: (hb & u2) .!= 0)))
                    store(d1 * (lo + b1) - mm1, y + h &* 16)
                    store(d2 * (hi + b2) - mm2, y + (32 &+ h &* 16))
                }
                ql += 32
                y += 64
                u1 <<= 2
                u2 <<= 2
            }
        }
    }

    static func q6_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nb: Int) {
        for b in 0..<nb {
            let blk = src + b &* 210
            let d = Half.load(blk, 208)
            for n in 0..<2 {
                let ql = blk + n &* 64, qh = blk + (128 &+ n &* 32), sc = blk + (192 &+ n &* 8)
                let y = dst + (b &* 256 &+ n &* 128)
                for l in 0..<32 {
                    let isc = l / 16
                    let a = ql.load(fromByteOffset: l, as: UInt8.self), c = ql.load(fromByteOffset: l &+ 32, as: UInt8.self)
                    let h = qh.load(fromByteOffset: l, as: UInt8.self)
                    let q1 = Int32((a & 0x0F) | ((h & 3) << 4)) - 32
                    let q2 = Int32((c & 0x0F) | (((h >> 2) & 3) << 4)) - 32
                    let q3 = Int32((a >> 4) | (((h >> 4) & 3) << 4)) - 32
                    let q4 = Int32((c >> 4) | (((h >> 6) & 3) << 4)) - 32
                    @inline(__always) func s(_ i: Int) -> Float { Float(sc.load(fromByteOffset: i, as: Int8.self)) }
                    y[l] = d * s(isc) * Float(q1)
                    y[l &+ 32] = d * s(isc &+ 2) * Float(q2)
                    y[l &+ 64] = d * s(isc &+ 4) * Float(q3)
                    y[l &+ 96] = d * s(isc &+ 6) * Float(q4)
                }
            }
        }
    }
}
