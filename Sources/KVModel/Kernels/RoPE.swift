import Foundation

/// Rotary position embedding: channel pairs of each head rotate by `position · θ_i`.
///
/// Two channel layouts exist in GGUF files (llama.cpp's `rope_type`):
/// - `.interleaved` (llama.cpp `NORM`, the llama architecture): the converter permutes the rows of
///   `attn_q`/`attn_k` so that RoPE rotates ADJACENT pairs `(2i, 2i+1)`; this equals Hugging Face's
///   rotate-half form on the unpermuted weights.
/// - `.halves` (llama.cpp `NEOX`: qwen2, qwen3, gemma3, phi3): weights are stored as trained and
///   pairs are `(i, i + n/2)` of the `n` rotated channels, Hugging Face's `rotate_half` exactly.
///
/// Only the first `dimensionCount` channels of each head rotate. `θ_i = base^(-2i/n) / scale /
/// factor_i` (Phi-3's LongRoPE stores per-pair `factors`); `magnitude` multiplies cos and sin
/// (LongRoPE's attention factor), as ggml's `rope_ext` does.
public struct RoPE: Sendable, Equatable {
    /// Which channels form a rotated pair.
    public enum Style: String, Codable, Sendable {
        /// Pairs `(2i, 2i+1)`.
        case interleaved
        /// Pairs `(i, i + dimensionCount/2)`.
        case halves
    }

    /// Head width.
    public let headDimension: Int
    /// Channels rotated at the start of each head.
    public let dimensionCount: Int
    /// The pair layout.
    public let style: Style
    /// Inverse frequencies, one per rotated pair (scale and factors applied).
    public let inverseFrequencies: [Float]
    /// Factor on cos and sin (1 except for LongRoPE).
    public let magnitude: Float

    /// Precomputes `θ_i = base^(-2i/dimensionCount) / scale / factors[i]` for the `dimensionCount/2`
    /// rotated pairs (`dimensionCount` even, at most `headDimension`); missing factors count as 1.
    public init(headDimension: Int, dimensionCount: Int, base: Float, scale: Float = 1, style: Style = .interleaved,
                factors: [Float]? = nil, magnitude: Float = 1) {
        self.headDimension = headDimension
        self.dimensionCount = dimensionCount
        self.style = style
        self.magnitude = magnitude
        // fp32 like the reference, so angles at long positions round the same way.
        inverseFrequencies = (0..<(dimensionCount / 2)).map { i in
            let f = factors.map { i < $0.count ? $0[i] : 1 } ?? 1
            return 1 / powf(base, Float(2 * i) / Float(dimensionCount)) / scale / f
        }
    }

    /// The two channels of rotated pair `i` (0..<dimensionCount/2).
    @inline(__always)
    public func pair(_ i: Int) -> (Int, Int) {
        style == .interleaved ? (2 &* i, 2 &* i &+ 1) : (i, i &+ dimensionCount / 2)
    }

    /// Fills `cos`/`sin` tables of `count × dimensionCount/2` for consecutive positions from `first`.
    public func tables(first: Int, count: Int, cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>) {
        let half = dimensionCount / 2
        for t in 0..<count {
            let p = Float(first + t)
            for i in 0..<half {
                let angle = p * inverseFrequencies[i]
                cos[t * half + i] = Foundation.cos(angle) * magnitude
                sin[t * half + i] = Foundation.sin(angle) * magnitude
            }
        }
    }

    /// Rotates `heads` heads of one token in place.
    /// - Parameters:
    ///   - x: `heads × headDimension` floats, at `stride` floats between heads.
    ///   - cos: the token's row of the cos table (`dimensionCount/2` floats); `sin` likewise.
    @inline(__always)
    public func rotate(_ x: UnsafeMutablePointer<Float>, heads: Int, stride: Int,
                       cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let half = dimensionCount / 2
        for h in 0..<heads {
            let v = x + h * stride
            switch style {
            case .interleaved:
                for i in 0..<half {
                    let a = v[2 * i], b = v[2 * i + 1]
                    v[2 * i] = a * cos[i] - b * sin[i]
                    v[2 * i + 1] = a * sin[i] + b * cos[i]
                }
            case .halves:
                let w = v + half
                for i in 0..<half {
                    let a = v[i], b = w[i]
                    v[i] = a * cos[i] - b * sin[i]
                    w[i] = a * sin[i] + b * cos[i]
                }
            }
        }
    }
}
