#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Repacking of 32-element-block rows, once at load, into the layouts the integer kernels read
/// with full-width loads. Every packed row keeps the GGUF row's byte count.
///
/// Packed q4_0 / q4_1 / q5_0 / q5_1 row of nb blocks:
///   [nb × f16 d][nb × f16 m (q4_1, q5_1)][nb × u32 qh (q5_0, q5_1)][nibbles]
/// where blocks 2p and 2p+1 share 32 bytes of nibbles, byte j holding element j of block 2p in
/// its low nibble and element j of block 2p+1 in its high nibble, so one 32-byte load and two
/// masks give both blocks in element order. An odd last block keeps GGUF's 16-byte form
/// (low nibbles elements 0..<16, high 16..<32).
/// Packed q8_0 row (34·nb bytes): [nb × f16 d][nb × 32 int8].
/// Scales sit together so eight of them convert in one `vcvtph2ps`.
/// The k-quants need no repack (see `IntegerBlockFormat+KQuants.swift`).
enum WeightPacking {
    /// The types with a packed layout.
    static func hasPackedLayout(_ type: GGMLType) -> Bool {
        switch type {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return true
        default: return false
        }
    }

    /// Packs one row of `nb` blocks of `type` (one of `hasPackedLayout`) from GGUF layout at `src` to `dst`.
    static func pack(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, blocks nb: Int) {
        switch type {
        case .q4_0: packNibbleBlocks(src, dst, blocks: nb, blockBytes: 18, hasMin: false, hasHighBits: false)
        case .q4_1: packNibbleBlocks(src, dst, blocks: nb, blockBytes: 20, hasMin: true, hasHighBits: false)
        case .q5_0: packNibbleBlocks(src, dst, blocks: nb, blockBytes: 22, hasMin: false, hasHighBits: true)
        case .q5_1: packNibbleBlocks(src, dst, blocks: nb, blockBytes: 24, hasMin: true, hasHighBits: true)
        case .q8_0: packQ8_0(src, dst, blocks: nb)
        default: preconditionFailure("\(type.name) has no packed layout")
        }
    }

    /// GGUF blocks [f16 d][f16 m]?[u32 qh]?[16 bytes nibbles] → the packed layout above.
    static func packNibbleBlocks(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, blocks nb: Int,
                                 blockBytes: Int, hasMin: Bool, hasHighBits: Bool) {
        var out = 0
        @inline(__always) func gather<T>(_ offset: Int, _ type: T.Type) {
            let size = MemoryLayout<T>.size
            for b in 0..<nb {
                let v = (src + b &* blockBytes).loadUnaligned(fromByteOffset: offset, as: T.self)
                (dst + (out &+ b &* size)).storeBytes(of: v, as: T.self)
            }
            out &+= nb &* size
        }
        gather(0, UInt16.self)
        if hasMin { gather(2, UInt16.self) }
        if hasHighBits { gather(hasMin ? 4 : 2, UInt32.self) }
        packNibblePairs(src + (blockBytes &- 16), stride: blockBytes, dst + out, blocks: nb)
    }

    /// The 16-byte nibble arrays of `nb` blocks (`stride` bytes apart from `src`) → pairs in element order.
    static func packNibblePairs(_ src: UnsafeRawPointer, stride: Int, _ q: UnsafeMutableRawPointer, blocks nb: Int) {
        let mask = _mm256_set1_epi8(0x0F)
        var b = 0
        while b &+ 2 <= nb {
            let r0 = (src + b &* stride).loadUnaligned(as: SIMD2<Int64>.self)
            let r1 = (src + (b &+ 1) &* stride).loadUnaligned(as: SIMD2<Int64>.self)
            // Each block in element order (0..<16 low nibbles, 16..<32 high nibbles), one value per byte.
            // (Intrinsics: SIMD32(lowHalf:highHalf:) compiled to 32 scalar byte stores, 10× slower.)
            let e0 = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(r0, 4), r0), mask)
            let e1 = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(r1, 4), r1), mask)
            (q + b &* 16).storeBytes(of: _mm256_or_si256(e0, _mm256_slli_epi16(e1, 4)), as: SIMD4<Int64>.self)
            b &+= 2
        }
        if b < nb { (q + b &* 16).copyMemory(from: src + b &* stride, byteCount: 16) }
    }

    static func packQ8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, blocks nb: Int) {
        for b in 0..<nb {
            let s = src + b &* 34
            (dst + b &* 2).storeBytes(of: s.loadUnaligned(as: UInt16.self), as: UInt16.self)
            (dst + (nb &* 2 &+ b &* 32)).storeBytes(of: s.loadUnaligned(fromByteOffset: 2, as: SIMD4<Int64>.self), as: SIMD4<Int64>.self)
        }
    }
}
#endif
