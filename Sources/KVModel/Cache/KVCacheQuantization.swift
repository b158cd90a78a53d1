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
    /// A quantization method, named as the spec strings spell it.
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

    /// Bit widths a cache can use.
    public static let validBits = [2, 4, 8]
    /// Default tokens per key block / channels per value group.
    public static let defaultGroupSize = 32
    /// Default f16 window of recent tokens.
    public static let defaultResidualLength = 128
    /// GEAR's default rank (GEAR's `rank=2` configuration for 4-bit keys and values).
    public static let defaultRank = 2
    /// Default outlier fraction of kvquant and gear (KVQuant's 1% dense-and-sparse setting).
    public static let defaultOutlierRatio = 0.01

    /// Levels above zero a code takes: `2^bits - 1`.
    public var maxCode: Int { (1 << bits) - 1 }

    /// A validated configuration; `rank` and `outlierRatio` default per method (0 where unused).
    /// - Throws: `KVQuantizationError.invalid` naming the bad field and what is valid.
    public init(method: Method, bits: Int = 4, groupSize: Int = defaultGroupSize,
                residualLength: Int = defaultResidualLength, rank: Int? = nil, outlierRatio: Double? = nil) throws {
        guard Self.validBits.contains(bits) else {
            throw KVQuantizationError.invalid("bits must be 2, 4 or 8, not \(bits)")
        }
        guard (1...1024).contains(groupSize) else {
            throw KVQuantizationError.invalid("group_size must be between 1 and 1024, not \(groupSize)")
        }
        guard residualLength >= 0 else {
            throw KVQuantizationError.invalid("residual must be 0 or more tokens, not \(residualLength)")
        }
        let rank = rank ?? (method == .gear ? Self.defaultRank : 0)
        let outlierRatio = outlierRatio ?? (method == .kivi ? 0 : Self.defaultOutlierRatio)
        switch method {
        case .kivi:
            guard rank == 0, outlierRatio == 0 else {
                throw KVQuantizationError.invalid("kivi has no rank or outlier_ratio; use gear or kvquant")
            }
        case .kvquant:
            guard rank == 0 else { throw KVQuantizationError.invalid("kvquant has no rank; use gear") }
        case .gear:
            guard (0...groupSize).contains(rank) else {
                throw KVQuantizationError.invalid("rank must be between 0 and group_size (\(groupSize)), not \(rank)")
            }
        }
        guard outlierRatio >= 0, outlierRatio <= 0.5 else {
            throw KVQuantizationError.invalid("outlier_ratio must be between 0 and 0.5, not \(outlierRatio)")
        }
        self.method = method
        self.bits = bits
        self.groupSize = groupSize
        self.residualLength = residualLength
        self.rank = rank
        self.outlierRatio = outlierRatio
    }

    /// Checks that this configuration fits heads of width `headDimension`.
    /// - Throws: `KVQuantizationError.invalid` when `groupSize` does not divide the head dimension.
    public func validate(headDimension: Int) throws {
        guard headDimension % groupSize == 0 else {
            throw KVQuantizationError.invalid(
                "group_size \(groupSize) must divide the head dimension \(headDimension) (values are grouped by channel)")
        }
    }

    /// The spec string, e.g. `kivi:bits=4,group_size=32,residual=128`; `parse(description)` gives `self` back.
    public var description: String {
        var s = "\(method.rawValue):bits=\(bits),group_size=\(groupSize),residual=\(residualLength)"
        if method == .gear { s += ",rank=\(rank)" }
        if method != .kivi { s += ",outlier_ratio=\(outlierRatio)" }
        return s
    }
}

/// A quantized-cache configuration or use that cannot work, with a sentence saying what would.
public enum KVQuantizationError: Error, Equatable, CustomStringConvertible {
    /// A spec names no known method.
    case unknownMethod(String, valid: [String])
    /// A spec gives a parameter the method does not take.
    case unknownParameter(String, method: String, valid: [String])
    /// A field or spec is out of range or malformed.
    case invalid(String)

    /// A sentence for the user naming the method, parameter or value at fault and what is valid.
    public var description: String {
        switch self {
        case .unknownMethod(let name, let valid):
            return "unknown KV quantization method '\(name)'; valid methods: \(valid.joined(separator: ", "))"
        case .unknownParameter(let name, let method, let valid):
            return "\(method) has no parameter '\(name)'; valid parameters: \(valid.joined(separator: ", "))"
        case .invalid(let reason):
            return "invalid KV quantization: \(reason)"
        }
    }
}
