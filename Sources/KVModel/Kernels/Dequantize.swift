/// Dequantization of GGUF tensor data to `Float`, with exactly ggml's semantics.
///
/// A row of `count` elements of type `t` occupies `count / t.blockSize * t.blockBytes` bytes.
/// The block formats are in `Dequantize+Blocks.swift` (32-element types) and
/// `Dequantize+KQuants.swift` (256-element k-quants).
public enum Dequantize {
    /// Dequantizes one row.
    /// - Parameters:
    ///   - type: element type of the source.
    ///   - src: the row's bytes (`type.rowBytes(count)` of them; any alignment).
    ///   - dst: `count` floats to write.
    ///   - count: elements in the row; must be a multiple of `type.blockSize`.
    public static func row(_ type: GGMLType, from src: UnsafeRawPointer, to dst: UnsafeMutablePointer<Float>, count: Int) {
        precondition(count % type.blockSize == 0, "row of \(count) elements is not whole \(type.name) blocks")
        let nb = count / type.blockSize
        switch type {
        case .f32: UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count &* 4)
        case .f16: Half.toFloat(src, dst, count: count)
        case .bf16: bf16(src, dst, count)
        case .q4_0: q4_0(src, dst, nb)
        case .q4_1: q4_1(src, dst, nb)
        case .q5_0: q5_0(src, dst, nb)
        case .q5_1: q5_1(src, dst, nb)
        case .q8_0: q8_0(src, dst, nb)
        case .q4_K: q4_K(src, dst, nb)
        case .q5_K: q5_K(src, dst, nb)
        case .q6_K: q6_K(src, dst, nb)
        }
    }

    /// Dequantizes a whole tensor of `rows` rows of `rowLength` elements into `dst`
    /// (`rows × rowLength` floats, row-major), splitting rows over `pool`'s threads.
    /// - Parameters:
    ///   - type: element type of the source.
    ///   - src: start of the tensor data (`rows · type.rowBytes(rowLength)` bytes).
    ///   - dst: `rows · rowLength` floats to write.
    public static func tensor(_ type: GGMLType, from src: UnsafeRawPointer, to dst: UnsafeMutablePointer<Float>,
                              rows: Int, rowLength: Int, pool: ThreadPool = .shared) {
        guard let rowBytes = type.rowBytes(rowLength) else {
            preconditionFailure("row of \(rowLength) elements is not whole \(type.name) blocks")
        }
        pool.parallelFor(rows) { range in
            for r in range {
                row(type, from: src + r &* rowBytes, to: dst + r &* rowLength, count: rowLength)
            }
        }
    }

    /// Dequantizes tensor `info` of `file` into a new array of `info.elementCount` floats (row-major).
    public static func tensor(_ info: GGUFTensorInfo, in file: GGUFFile, pool: ThreadPool = .shared) -> [Float] {
        [Float](unsafeUninitializedCapacity: info.elementCount) { buf, n in
            tensor(info.type, from: file.data(of: info), to: buf.baseAddress!, rows: info.rowCount,
                   rowLength: info.rowLength, pool: pool)
            n = info.elementCount
        }
    }

    static func bf16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i &+ 8 <= count {
            let h = SIMD8<UInt32>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: i &* 2, as: SIMD8<UInt16>.self))
            UnsafeMutableRawPointer(dst + i).storeBytes(of: unsafeBitCast(h &<< 16, to: SIMD8<Float>.self), as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count {
            dst[i] = Half.bf16ToFloat(src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))
            i &+= 1
        }
    }
}
