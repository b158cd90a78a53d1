// Interim scalar kernels until the SIMD kernels land.
extension GGMLType {
    func interimDequantizeRow(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        switch self {
        case .f32:
            dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self)) }
        case .q8_0:
            for b in 0..<(count / 32) {
                let blk = src + b * 34
                let d = Float(blk.loadUnaligned(as: Float16.self))
                for j in 0..<32 { dst[b * 32 + j] = d * Float(blk.load(fromByteOffset: 2 + j, as: Int8.self)) }
            }
        case .q4_1:
            for b in 0..<(count / 32) {
                let blk = src + b * 20
                let d = Float(blk.loadUnaligned(as: Float16.self))
                let m = Float(blk.loadUnaligned(fromByteOffset: 2, as: Float16.self))
                for j in 0..<16 {
                    let q = blk.load(fromByteOffset: 4 + j, as: UInt8.self)
                    dst[b * 32 + j] = d * Float(q & 15) + m
                    dst[b * 32 + j + 16] = d * Float(q >> 4) + m
                }
            }
        default:
            for i in 0..<count { dst[i] = .nan }
        }
    }
}
