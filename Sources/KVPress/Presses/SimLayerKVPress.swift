/// Keeps everything in "busy" layers and only the initial and recent entries in "lazy" ones (kvpress `SimLayerKVPress`).
///
/// A layer is lazy when the last `n_last` queries, averaged over heads, put more than
/// `lazy_threshold` of their attention on the first `n_initial` and last `n_recent` tokens; it
/// then keeps the first `n_initial` and the last `n_recent − n_last` entries. At
/// `lazy_threshold = 1` (the default) nothing is compressed. `compressionRatio` reports the
/// average over the layers compressed so far.
///
/// - Parameters:
///   - lazy_threshold: attention share that marks a lazy layer, `[0, 1]`; default `1.0`.
///   - n_last: last queries that decide, `≥ 1`; default `1`.
///   - n_recent: recent tokens kept in lazy layers, `≥ 1`; default `1024`.
///   - n_initial: initial tokens kept in lazy layers, `≥ 0`; default `4`.
///
/// Based on https://arxiv.org/abs/2410.13846.
public final class SimLayerKVPress: Press {
    public let name = "simlayerkv"
    public var lazyThreshold: Double
    public var nLast: Int
    public var nRecent: Int
    public var nInitial: Int
    /// Fraction removed in each layer compressed so far.
    public private(set) var layerRatios: [Double] = []

    public init(lazyThreshold: Double = 1.0, nLast: Int = 1, nRecent: Int = 1024, nInitial: Int = 4) throws {
        guard (0...1).contains(lazyThreshold) else {
            throw PressError.invalidValue(press: "simlayerkv", parameter: "lazy_threshold", value: String(lazyThreshold), expected: "a number in [0, 1]")
        }
        try Validate.atLeast(nLast, 1, "n_last", press: "simlayerkv")
        try Validate.atLeast(nRecent, 1, "n_recent", press: "simlayerkv")
        try Validate.atLeast(nInitial, 0, "n_initial", press: "simlayerkv")
        self.lazyThreshold = lazyThreshold
        self.nLast = nLast
        self.nRecent = nRecent
        self.nInitial = nInitial
    }

    public var compressionRatio: Double { layerRatios.isEmpty ? 0 : layerRatios.reduce(0, +) / Double(layerRatios.count) }
    public var parameterValues: [(String, String)] {
        [("lazy_threshold", String(lazyThreshold)), ("n_last", String(nLast)), ("n_recent", String(nRecent)),
         ("n_initial", String(nInitial))]
    }

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

    static let descriptor = PressDescriptor(
        name: "simlayerkv", summary: "keeps only initial + recent entries in layers whose attention is lazy",
        reference: "https://arxiv.org/abs/2410.13846",
        parameters: [
            PressParameter("lazy_threshold", "1.0", "attention share on initial+recent tokens marking a lazy layer, [0, 1]"),
            PressParameter("n_last", "1", "last queries used to detect lazy layers, ≥ 1"),
            PressParameter("n_recent", "1024", "recent tokens kept in lazy layers, ≥ 1"),
            PressParameter("n_initial", "4", "initial tokens kept in lazy layers, ≥ 0"),
        ]
    ) { args, _ in
        try SimLayerKVPress(lazyThreshold: args.double("lazy_threshold", in: 0...1), nLast: args.int("n_last", minimum: 1),
                            nRecent: args.int("n_recent", minimum: 1), nInitial: args.int("n_initial"))
    }
}
