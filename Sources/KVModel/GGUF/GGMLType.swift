/// The ggml tensor element types kvd reads, with their block layout.
///
/// Quantized types store a row as consecutive blocks; `blockSize` elements take `blockBytes` bytes.
/// Raw values are ggml's `enum ggml_type` codes as written in GGUF tensor infos.
public enum GGMLType: UInt32, CaseIterable, Sendable {
    /// 32-bit float.
    case f32 = 0
    /// IEEE half precision.
    case f16 = 1
    /// 4-bit, blocks of 32 with one f16 scale.
    case q4_0 = 2
    /// 4-bit, blocks of 32 with f16 scale and minimum.
    case q4_1 = 3
    /// 5-bit, blocks of 32 with one f16 scale.
    case q5_0 = 6
    /// 5-bit, blocks of 32 with f16 scale and minimum.
    case q5_1 = 7
    /// 8-bit, blocks of 32 with one f16 scale.
    case q8_0 = 8
    /// 4-bit k-quant: super-blocks of 256 with 6-bit sub-block scales and minima.
    case q4_K = 12
    /// 5-bit k-quant: as `q4_K` plus one high bit per element.
    case q5_K = 13
    /// 6-bit k-quant: super-blocks of 256 with 8-bit sub-block scales.
    case q6_K = 14
    /// bfloat16 (the top half of an f32).
    case bf16 = 30

    /// Elements per block (1 for plain float types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q4_K, .q5_K, .q6_K: return 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18   // f16 d, 16 bytes of nibbles
        case .q4_1: return 20   // f16 d, f16 m, 16 bytes of nibbles
        case .q5_0: return 22   // f16 d, 4 bytes high bits, 16 bytes of nibbles
        case .q5_1: return 24   // f16 d, f16 m, 4 bytes high bits, 16 bytes of nibbles
        case .q8_0: return 34   // f16 d, 32 int8
        case .q4_K: return 144  // f16 d, f16 dmin, 12 bytes scales, 128 bytes nibbles
        case .q5_K: return 176  // as q4_K plus 32 bytes of high bits
        case .q6_K: return 210  // 128 low nibbles, 64 high bits, 16 int8 scales, f16 d
        }
    }

    /// ggml's name for the type (`q4_K`, `f16`, …).
    public var name: String {
        switch self {
        case .f32: return "f32"
        case .f16: return "f16"
        case .bf16: return "bf16"
        case .q4_0: return "q4_0"
        case .q4_1: return "q4_1"
        case .q5_0: return "q5_0"
        case .q5_1: return "q5_1"
        case .q8_0: return "q8_0"
        case .q4_K: return "q4_K"
        case .q5_K: return "q5_K"
        case .q6_K: return "q6_K"
        }
    }

    /// Bytes taken by a row of `count` elements; `nil` if `count` is not a whole number of blocks.
    public func rowBytes(_ count: Int) -> Int? {
        guard count % blockSize == 0 else { return nil }
        return count / blockSize * blockBytes
    }
}
