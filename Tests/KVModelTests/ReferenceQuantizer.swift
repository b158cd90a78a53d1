import Foundation
@testable import KVModel

/// Deterministic pseudo-random floats for kernel tests.
struct TestRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(Int64(bitPattern: next()) >> 40) / Float(1 << 23) }
    mutating func floats(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in float() * scale } }
}

/// A tiny, test-only quantizer for every GGML type: simple (not ggml's search for the best
/// scales), but it writes blocks in exactly ggml's layout and returns the values a correct
/// dequantizer must produce from those bytes, computed element by element from the integers.
enum ReferenceQuantizer {
    struct Result {
        var bytes: [UInt8]
        /// d·q (+ m) per element from the stored f16 scales and integer codes.
        var expected: [Float]
    }

    static func f16(_ x: Float) -> (UInt16, Float) { let h = Float16(x); return (h.bitPattern, Float(h)) }

    static func put16(_ b: inout [UInt8], _ at: Int, _ v: UInt16) { b[at] = UInt8(v & 0xFF); b[at + 1] = UInt8(v >> 8) }

    static func quantize(_ type: GGMLType, _ x: [Float]) -> Result {
        precondition(x.count % type.blockSize == 0)
        var out = Result(bytes: [], expected: [])
        let nb = x.count / type.blockSize
        for b in 0..<nb {
            let blk = Array(x[(b * type.blockSize)..<((b + 1) * type.blockSize)])
            let r = block(type, blk)
            precondition(r.bytes.count == type.blockBytes)
            out.bytes += r.bytes
            out.expected += r.expected
        }
        return out
    }

    static func block(_ type: GGMLType, _ x: [Float]) -> Result {
        var bytes = [UInt8](repeating: 0, count: type.blockBytes)
        var exp = [Float](repeating: 0, count: x.count)
        switch type {
        case .f32:
            for (i, v) in x.enumerated() { withUnsafeBytes(of: v.bitPattern.littleEndian) { for k in 0..<4 { bytes[k] = $0[k] } }; exp[i] = v; _ = i }
        case .f16:
            let (h, f) = f16(x[0]); put16(&bytes, 0, h); exp[0] = f
        case .bf16:
            let bits = UInt16(x[0].bitPattern >> 16); put16(&bytes, 0, bits); exp[0] = Float(bitPattern: UInt32(bits) << 16)
        case .q4_0, .q5_0:
            let levels: Float = type == .q4_0 ? 8 : 16
            let amax = x.max(by: { abs($0) < abs($1) })!
            let (dh, d) = f16(amax / -levels)
            put16(&bytes, 0, dh)
            var qh: UInt32 = 0
            let qsOff = type == .q4_0 ? 2 : 6
            for j in 0..<32 {
                let q = d == 0 ? Int(levels) : min(Int(2 * levels) - 1, max(0, Int((x[j] / d + levels).rounded())))
                exp[j] = d * Float(q - Int(levels))
                if j < 16 { bytes[qsOff + j] |= UInt8(q & 0xF) } else { bytes[qsOff + j - 16] |= UInt8(q & 0xF) << 4 }
                if q & 0x10 != 0 { qh |= 1 << UInt32(j) }
            }
            if type == .q5_0 { for k in 0..<4 { bytes[2 + k] = UInt8((qh >> (8 * UInt32(k))) & 0xFF) } }
        case .q4_1, .q5_1:
            let top = type == .q4_1 ? 15 : 31
            let lo = x.min()!, hi = x.max()!
            let (dh, d) = f16((hi - lo) / Float(top)), (mh, m) = f16(lo)
            put16(&bytes, 0, dh); put16(&bytes, 2, mh)
            var qh: UInt32 = 0
            let qsOff = type == .q4_1 ? 4 : 8
            for j in 0..<32 {
                let q = d == 0 ? 0 : min(top, max(0, Int(((x[j] - m) / d).rounded())))
                exp[j] = d * Float(q) + m
                if j < 16 { bytes[qsOff + j] |= UInt8(q & 0xF) } else { bytes[qsOff + j - 16] |= UInt8(q & 0xF) << 4 }
                if q & 0x10 != 0 { qh |= 1 << UInt32(j) }
            }
            if type == .q5_1 { for k in 0..<4 { bytes[4 + k] = UInt8((qh >> (8 * UInt32(k))) & 0xFF) } }
        case .q8_0:
            let amax = x.map(abs).max()!
            let (dh, d) = f16(amax / 127)
            put16(&bytes, 0, dh)
            for j in 0..<32 {
                let q = d == 0 ? 0 : min(127, max(-127, Int((x[j] / d).rounded())))
                bytes[2 + j] = UInt8(bitPattern: Int8(q))
                exp[j] = d * Float(q)
            }
        case .q4_K, .q5_K:
            let top = type == .q4_K ? 15 : 31
            var scales = [Float](repeating: 0, count: 8), mins = [Float](repeating: 0, count: 8)
            for s in 0..<8 {
                let sub = x[(s * 32)..<(s * 32 + 32)]
                let lo = min(0, sub.min()!), hi = sub.max()!
                scales[s] = (hi - lo) / Float(top); mins[s] = -lo
            }
            let (dh, d) = f16(scales.max()! / 63), (mh, dmin) = f16(mins.max()! / 63)
            put16(&bytes, 0, dh); put16(&bytes, 2, mh)
            var sc = [Int](repeating: 0, count: 8), mn = [Int](repeating: 0, count: 8)
            for s in 0..<8 {
                sc[s] = d == 0 ? 0 : min(63, Int((scales[s] / d).rounded()))
                mn[s] = dmin == 0 ? 0 : min(63, Int((mins[s] / dmin).rounded()))
            }
            // Pack as ggml's get_scale_min_k4 unpacks.
            for j in 0..<8 {
                if j < 4 {
                    bytes[4 + j] |= UInt8(sc[j]); bytes[4 + j + 4] |= UInt8(mn[j])
                } else {
                    bytes[4 + j + 4] |= UInt8(sc[j] & 0xF) | UInt8(mn[j] & 0xF) << 4
                    bytes[4 + j - 4] |= UInt8(sc[j] >> 4) << 6
                    bytes[4 + j] |= UInt8(mn[j] >> 4) << 6
                }
            }
            let qsOff = type == .q4_K ? 16 : 48
            for e in 0..<256 {
                let s = e / 32
                let ds = d * Float(sc[s]), ms = dmin * Float(mn[s])
                let q = ds == 0 ? 0 : min(top, max(0, Int(((x[e] + ms) / ds).rounded())))
                exp[e] = ds * Float(q) - ms
                let chunk = e / 64, l = e % 32, high = (e % 64) >= 32
                bytes[qsOff + chunk * 32 + l] |= high ? UInt8(q & 0xF) << 4 : UInt8(q & 0xF)
                if type == .q5_K, q & 0x10 != 0 { bytes[16 + l] |= UInt8(1) << UInt8(2 * chunk + (high ? 1 : 0)) }
            }
        case .q6_K:
            var subScale = [Float](repeating: 0, count: 16)
            for s in 0..<16 { subScale[s] = x[(s * 16)..<(s * 16 + 16)].max(by: { abs($0) < abs($1) })! / -32 }
            let maxAbs = subScale.max(by: { abs($0) < abs($1) })!
            let (dh, d) = f16(maxAbs / -127)
            put16(&bytes, 208, dh)
            var sc = [Int](repeating: 0, count: 16)
            for s in 0..<16 {
                sc[s] = d == 0 ? 0 : min(127, max(-128, Int((subScale[s] / d).rounded())))
                bytes[192 + s] = UInt8(bitPattern: Int8(sc[s]))
            }
            for e in 0..<256 {
                let ds = d * Float(sc[e / 16])
                let q = ds == 0 ? 32 : min(63, max(0, Int((x[e] / ds).rounded()) + 32))
                exp[e] = ds * Float(q - 32)
                let n = e / 128, k = (e % 128) / 32, l = e % 32
                let qlIndex = 64 * n + l + (k & 1) * 32
                bytes[qlIndex] |= k >= 2 ? UInt8(q & 0xF) << 4 : UInt8(q & 0xF)
                bytes[128 + 32 * n + l] |= UInt8(q >> 4) << UInt8(2 * k)
            }
        }
        // ggml computes d·sc·q as (d·sc)·q; the dequantizer may round in a different order,
        // so tests compare with a small relative tolerance rather than bit equality.
        return Result(bytes: bytes, expected: exp)
    }
}
