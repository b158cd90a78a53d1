import Foundation

/// Rotary position embedding in the GGUF llama layout.
///
/// llama.cpp's converter permutes the rows of `attn_q`/`attn_k` so that RoPE rotates ADJACENT
/// channel pairs `(2i, 2i+1)` by `pos · θ^(-2i/d)`; this equals Hugging Face's rotate-half form on the
/// unpermuted weights. Only the first `dimensionCount` channels of each head rotate.
public struct RoPE: Sendable {
    /// Head width.
    public let headDimension: Int
    /// Channels rotated at the start of each head.
    public let dimensionCount: Int
    /// Inverse frequencies `θ^(-2i/d)`, one per rotated pair (already divided by the linear scale).
    public let inverseFrequencies: [Float]

    public init(headDimension: Int, dimensionCount: Int, base: Float, scale: Float = 1) {
        self.headDimension = headDimension
        self.dimensionCount = dimensionCount
        // fp32 like the reference, so angles at long positions round the same way.
        inverseFrequencies = (0..<(dimensionCount / 2)).map { i in
            1 / powf(base, Float(2 * i) / Float(dimensionCount)) / scale
        }
    }

    /// Fills `cos`/`sin` tables of `count × dimensionCount/2` for consecutive positions from `first`.
    public func tables(first: Int, count: Int, cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>) {
        let half = dimensionCount / 2
        for t in 0..<count {
            let p = Float(first + t)
            for i in 0..<half {
                let angle = p * inverseFrequencies[i]
                cos[t * half + i] = Foundation.cos(angle)
                sin[t * half + i] = Foundation.sin(angle)
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
            for i in 0..<half {
                let a = v[2 * i], b = v[2 * i + 1]
                v[2 * i] = a * cos[i] - b * sin[i]
                v[2 * i + 1] = a * sin[i] + b * cos[i]
            }
        }
    }
}
