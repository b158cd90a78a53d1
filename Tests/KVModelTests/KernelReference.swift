import Foundation
@testable import KVModel

/// The reference the integer kernels are checked against: dequantize each row (`Dequantize`,
/// ggml's semantics) and take a double-precision dot product with the float input, plus the
/// error the activation quantization may add.
///
/// The kernels multiply integer codes by the quantized input and add a block's offset (the
/// value code 0 stands for: −8d for q4_0, m for q4_1, −dmin·m for q4_K, …) times the exact
/// float block sum, or use signed codes and no offset (q8_0, q6_K). Either way the error is
/// Σ_i |w_i − o_i|·|x̂_i − x_i| with o_i = 0 or the offset, and |x̂_i − x_i| ≤ one step of the
/// two-part input (`Q8Vector.scales[b]` = d/256: half a step of rounding, a full step when the
/// residual clamps). So the tolerance is Σ_i max(|w_i|, |w_i − o_i|)·step_b, plus 1e-5 of
/// Σ (|w_i| + |o_i|)·|x_i| for float rounding of the per-block products.
struct KernelReference {
    /// Exact Σ w·x per row.
    var dots: [Double] = []
    /// The dequantized rows.
    var rows: [[Float]] = []
    /// Per element, the value its block gives code 0 (0 for float types).
    var offsets: [[Float]] = []

    init(_ type: GGMLType, _ bytes: [UInt8], rows n: Int, columns cols: Int, input x: [Float]) {
        let rb = type.rowBytes(cols)!
        var zeroed = bytes
        if let codes = Self.codeBytes(type) {
            for blk in 0..<(bytes.count / type.blockBytes) {
                for i in codes { zeroed[blk * type.blockBytes + i] = 0 }
            }
        }
        for r in 0..<n {
            let w = Self.dequantize(type, bytes, row: r, rowBytes: rb, columns: cols)
            let o = Self.codeBytes(type) == nil ? [Float](repeating: 0, count: cols) : Self.dequantize(type, zeroed, row: r, rowBytes: rb, columns: cols)
            var s = 0.0
            for c in 0..<cols { s += Double(w[c]) * Double(x[c]) }
            dots.append(s); rows.append(w); offsets.append(o)
        }
    }

    /// The bound for row `r` when block b of the input was quantized with step `step(b)` and the input is `x`.
    func tolerance(row r: Int, input x: [Float], step: (Int) -> Float) -> Double {
        var bound = 0.0, mag = 0.0
        for c in 0..<rows[r].count {
            let w = Double(rows[r][c]), o = Double(offsets[r][c])
            bound += max(abs(w), abs(w - o)) * Double(step(c / 32))
            mag += (abs(w) + abs(o)) * abs(Double(x[c]))
        }
        return bound + 1e-5 * mag + 1e-6
    }

    static func dequantize(_ type: GGMLType, _ bytes: [UInt8], row r: Int, rowBytes rb: Int, columns cols: Int) -> [Float] {
        var w = [Float](repeating: 0, count: cols)
        bytes.withUnsafeBytes { src in
            w.withUnsafeMutableBufferPointer { Dequantize.row(type, from: src.baseAddress! + r * rb, to: $0.baseAddress!, count: cols) }
        }
        return w
    }

    /// Each array copied to 64-byte-aligned heap memory (for matrices that outlive a closure); the caller deallocates.
    static func heapCopies(_ datas: [[UInt8]]) -> [UnsafeMutableRawPointer] {
        datas.map { d in
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(1, d.count), alignment: 64)
            d.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: d.count) }
            return p
        }
    }

    /// The bytes of a block holding codes (nibbles, high bits, int8 values); `nil` for float types.
    static func codeBytes(_ type: GGMLType) -> Range<Int>? {
        switch type {
        case .f32, .f16, .bf16: return nil
        case .q4_0: return 2..<18
        case .q4_1: return 4..<20
        case .q5_0: return 2..<22
        case .q5_1: return 4..<24
        case .q8_0: return 2..<34
        case .q4_K: return 16..<144
        case .q5_K: return 16..<176
        case .q6_K: return 0..<192
        }
    }
}

extension GGMLType {
    /// The block-quantized types (everything but f32/f16/bf16).
    static var quantizedCases: [GGMLType] { allCases.filter { $0.blockSize > 1 } }
}
