import KVSpec

/// How a quantized KV cache stores its keys and values: method, bit width, group size, and the
/// f16 window of recent tokens (KIVI's residual).
///
/// Every method keeps keys per channel (one min/scale per channel per block of `groupSize`
/// tokens: keys have outlier channels) and values per token (one min/scale per `groupSize`
/// channels of a token), with asymmetric uniform codes of `bits` bits. The most recent
/// `residualLength`…`residualLength + groupSize - 1` tokens stay in f16; when the window reaches
/// `residualLength + groupSize` tokens its oldest `groupSize` tokens become one quantized block.
///
/// - `kivi`: the uniform backbone alone. Based on https://arxiv.org/abs/2402.02750.
/// - `kvquant`: dense-and-sparse. Per block, the `outlierRatio` largest key magnitudes and the
///   `outlierRatio` largest value magnitudes are kept exactly (f16) as sparse outliers and left out
///   of the min/max range, and the attention-sink token (the head's first entry) is kept exactly.
///   Keys are quantized after RoPE (the paper's pre-RoPE keys and its non-uniform, sensitivity-
///   weighted datatypes are not implemented: the codes are uniform). Based on
///   https://arxiv.org/abs/2401.18079.
/// - `gear`: the uniform backbone, sparse outliers as `kvquant`, plus a rank-`rank` approximation
///   (power iteration) of each block's remaining quantization error, for keys and values.
///   Reconstruction = dequantized codes + low-rank + sparse. Based on
///   https://arxiv.org/abs/2403.05527.
public struct KVCacheQuantization: Sendable, Equatable, CustomStringConvertible {
    /// A quantization method, named as the spec strings and ``QuantizationCatalog`` spell it.
    public enum Method: String, Sendable, CaseIterable {
        /// `kivi`: uniform codes only; `kvquant`: plus exact sparse outliers and attention sink;
        /// `gear`: plus sparse outliers and a low-rank error correction (see the type's documentation).
        case kivi, kvquant, gear
    }

    /// Which method.
    public let method: Method
    /// Bits per code: 8, 4 or 2.
    public let bits: Int
    /// Tokens per key block (per-channel keys) and channels per value group (per-token values).
    public let groupSize: Int
    /// Recent tokens kept in f16 (KIVI's R).
    public let residualLength: Int
    /// Rank of GEAR's low-rank error approximation per block (0 for the other methods).
    public let rank: Int
    /// Fraction of each block's key and value elements kept exactly as sparse outliers (kvquant, gear).
    public let outlierRatio: Double

    /// Levels above zero a code takes: `2^bits - 1`.
    public var maxCode: Int { (1 << bits) - 1 }

    /// The spec string, e.g. `kivi:bits=4,group_size=32,residual=128`: every parameter of the
    /// method, defaults included; `parse(description)` gives `self` back.
    public let description: String

    /// Checks that this configuration fits heads of width `headDimension`.
    /// - Throws: `KVQuantizationError.invalid` when `groupSize` does not divide the head dimension.
    public func validate(headDimension: Int) throws {
        guard headDimension % groupSize == 0 else {
            throw KVQuantizationError.invalid(
                "group_size \(groupSize) must divide the head dimension \(headDimension) (values are grouped by channel)")
        }
    }
}
