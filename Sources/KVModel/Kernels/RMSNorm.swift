/// Root-mean-square layer normalisation: `y = x / sqrt(mean(x²) + ε) · w`.
public enum RMSNorm {
    /// Normalises `rows` rows of `width` floats from `x` into `y` (may alias).
    public static func apply(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                             rows: Int, width: Int, epsilon: Float) {
        for r in 0..<rows {
            let src = x + r * width, dst = y + r * width
            var ss: Float = 0
            for i in 0..<width { ss += src[i] * src[i] }
            let inv = 1 / (ss / Float(width) + epsilon).squareRoot()
            for i in 0..<width { dst[i] = src[i] * inv * weight[i] }
        }
    }
}
