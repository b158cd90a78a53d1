/// Keeps everything in "busy" layers and only the initial and recent entries in "lazy" ones (kvpress `SimLayerKVPress`).
///
/// A layer is lazy when the last `n_last` queries, averaged over heads, put more than
/// `lazy_threshold` of their attention on the first `n_initial` and last `n_recent` tokens; it
/// then keeps the first `n_initial` and the last `n_recent − n_last` entries. At
/// `lazy_threshold = 1` (the default) nothing is compressed. `compressionRatio` reports the
/// average over the layers compressed so far.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2410.13846.
public final class SimLayerKVPress: Press, CatalogPress {
    public let arguments: PressArguments
    public let lazyThreshold: Double
    public let nLast: Int
    public let nRecent: Int
    public let nInitial: Int
    /// Fraction removed in each layer compressed so far.
    public private(set) var layerRatios: [Double] = []

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        lazyThreshold = arguments[.lazyThreshold]
        nLast = arguments[.nLast]
        nRecent = arguments[.nRecent]
        nInitial = arguments[.nInitial]
    }

    public var compressionRatio: Double { layerRatios.isEmpty ? 0 : layerRatios.reduce(0, +) / Double(layerRatios.count) }

    /// Whether the layer is lazy.
    public func isLazy(_ input: PressInput) -> Bool {
        let T = input.tokenCount, H = input.headCount, w = nLast
        let attention = WindowAttention.weights(input, window: w)  // [H, w, T]
        let n = T - w  // kvpress keeps only the keys before the window
        var mean = [Float](repeating: 0, count: n)
        for h in 0..<H { for i in 0..<w { for j in 0..<n { mean[j] += attention[(h * w + i) * T + j] } } }
        let scale = 1 / Float(H * w)
        var score: Float = 0
        for j in 0..<min(nInitial, n) { score += mean[j] * scale }
        for j in max(0, n - nRecent)..<n { score += mean[j] * scale }
        return Double(score) > lazyThreshold
    }

    public func compress(_ input: PressInput) throws {
        if input.layer == 0 { layerRatios = [] }
        let T = input.tokenCount
        guard lazyThreshold < 1, T > nInitial + nRecent + nLast, isLazy(input) else {
            layerRatios.append(0)
            return
        }
        let rows = Array(0..<nInitial) + Array((T - nRecent + nLast)..<T)
        input.keep([[Int]](repeating: rows, count: input.headCountKV))
        layerRatios.append(Double(T - nInitial - nRecent + 1) / Double(T))
    }
}
