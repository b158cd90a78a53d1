// The 32-element block formats (ggml-common.h):
//   q4_0: f16 d, 16 bytes nibbles               x = d·(q − 8)
//   q4_1: f16 d, f16 m, 16 bytes nibbles        x = d·q + m
//   q5_0: f16 d, u32 qh, 16 bytes nibbles       x = d·(q | h<<4 − 16)
//   q5_1: f16 d, f16 m, u32 qh, 16 bytes        x = d·(q | h<<4) + m
//   q8_0: f16 d, 32 × int8                      x = d·q
// Byte j's low nibble is element j, its high nibble element j+16; bit j of qh is element j's 5th bit.

extension Dequantize {
    /// Elements 0..<16 (low nibbles) and 16..<32 (high nibbles) of one 16-byte nibble array, as floats.
    @inline(__always)
    static func nibbles(_ p: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        let raw = p.loadUnaligned(as: SIMD16<UInt8>.self)
        return (SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: raw & 0x0F)),
                SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: raw &>> 4)))
    }

    @inline(__always)
    static func store(_ v: SIMD16<Float>, _ dst: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(dst).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    /// The 5th bits of a q5 block: element j gets 16 if bit j of `qh` is set (elements 0..<16, then 16..<32).
    @inline(__always)
    static func highBits(_ qh: UInt32) -> (SIMD16<Float>, SIMD16<Float>) {
        let bits = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        let lo = (SIMD16<UInt32>(repeating: qh) &>> bits) & 1
        let hi = (SIMD16<UInt32>(repeating: qh >> 16) &>> bits) & 1
        return (SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: lo &<< 4)),
                SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: hi &<< 4)))
    }

    static func q4_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nb: Int) {
        for b in 0..<nb {
            let blk = src + b &* 18
            let d = SIMD16<Float>(repeating: Half.load(blk))
            let (lo, hi) = nibbles(blk + 2)
            store(d * (lo - 8), dst + b &* 32)
            store(d * (hi - 8), dst + (b &* 32 &+ 16))
        }
    }

    static func q4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nb: Int) {
        for b in 0..<nb {
            let blk = src + b &* 20
            let d = SIMD16<Float>(repeating: Half.load(blk)), m = SIMD16<Float>(repeating: Half.load(blk, 2))
            let (lo, hi) = nibbles(blk + 4)
            store(lo * d + m, dst + b &* 32)
            store(hi * d + m, dst + (b &* 32 &+ 16))
        }
    }

    static func q5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nb: Int) {
        for b in 0..<nb {
            let blk = src + b &* 22
            let d = SIMD16<Float>(repeating: Half.load(blk))
            let (h0, h1) = highBits(blk.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian)
            let (lo, hi) = nibbles(blk + 6)
            store(d * (lo + h0 - 16), dst + b &* 32)
            store(d * (hi + h1 - 16), dst + (b &* 32 &+ 16))
        }
    }

    static func q5_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nb: Int) {
        for b in 0..<nb {
            let blk = src + b &* 24
            let d = SIMD16<Float>(repeating: Half.load(blk)), m = SIMD16<Float>(repeating: Half.load(blk, 2))
            let (h0, h1) = highBits(blk.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian)
            let (lo, hi) = nibbles(blk + 8)
            store((lo + h0) * d + m, dst + b &* 32)
            store((hi + h1) * d + m, dst + (b &* 32 &+ 16))
        }
    }

    static func q8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nb: Int) {
        for b in 0..<nb {
            let blk = src + b &* 34
            let d = SIMD16<Float>(repeating: Half.load(blk))
            let q0 = blk.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)
            let q1 = blk.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)
            store(d * SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q0)), dst + b &* 32)
            store(d * SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q1)), dst + (b &* 32 &+ 16))
        }
    }
}
