/// Keeps entries with high approximate key × value leverage (kvpress `CURPress`, CurDKV).
///
/// `k2 = ‖k‖²`, `v2 = ‖v‖²`, optionally normalised inside local windows; combined by
/// `leverage_type` and normalised per head; the first `num_sinks` tokens score 1.
///
/// - Parameters:
///   - compression_ratio: fraction of KV pairs removed, `[0, 1)`; default `0.0`.
///   - num_sinks: initial tokens kept, `≥ 0`; default `4`.
///   - leverage_type: `key`, `value`, `kv_avg` or `kv_product`; default `kv_product`.
///   - use_random_leverage: project keys and values on a random 20-dimensional Gaussian first; default `false`.
///   - use_local_approximation: normalise inside windows of `local_window_size`; default `true`.
///   - local_window_size: window length, `≥ 1`; default `16`.
///
/// Based on https://arxiv.org/abs/2509.15038.
public final class CURPress: ScorerPress {
    public let name = "cur"
    public var compressionRatio: Double
    public var numSinks: Int
    public var leverageType: String
    public var useRandomLeverage: Bool
    public var useLocalApproximation: Bool
    public var localWindowSize: Int

    static let leverageTypes = ["key", "value", "kv_avg", "kv_product"]

    public init(compressionRatio: Double = 0.0, numSinks: Int = 4, leverageType: String = "kv_product",
                useRandomLeverage: Bool = false, useLocalApproximation: Bool = true, localWindowSize: Int = 16) throws {
        try Validate.ratio(compressionRatio, press: "cur")
        try Validate.atLeast(numSinks, 0, "num_sinks", press: "cur")
        try Validate.atLeast(localWindowSize, 1, "local_window_size", press: "cur")
        guard Self.leverageTypes.contains(leverageType) else {
            throw PressError.invalidValue(press: "cur", parameter: "leverage_type", value: leverageType,
                                          expected: "one of \(Self.leverageTypes.joined(separator: ", "))")
        }
        self.compressionRatio = compressionRatio
        self.numSinks = numSinks
        self.leverageType = leverageType
        self.useRandomLeverage = useRandomLeverage
        self.useLocalApproximation = useLocalApproximation
        self.localWindowSize = localWindowSize
    }

    public var parameterValues: [(String, String)] {
        [("compression_ratio", String(compressionRatio)), ("num_sinks", String(numSinks)), ("leverage_type", leverageType),
         ("use_random_leverage", String(useRandomLeverage)), ("use_local_approximation", String(useLocalApproximation)),
         ("local_window_size", String(localWindowSize))]
    }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount, G = input.headCountKV, D = input.headDimension
        var out = [Float](repeating: 0, count: G * T)
        var rng = SplitMix64(seed: UInt64.random(in: .min ... .max))
        let r = 20
        let projection: [Float]? = useRandomLeverage
            ? (0..<(D * r)).map { _ in rng.nextGaussian() / Float(r).squareRoot() } : nil
        for g in 0..<G {
            var k2 = squaredNorms(input.key(g, 0), T: T, D: D, projection: projection, r: r)
            var v2 = squaredNorms(input.value(g, 0), T: T, D: D, projection: projection, r: r)
            if useLocalApproximation {
                localNormalise(&k2)
                localNormalise(&v2)
            }
            var s: [Float]
            switch leverageType {
            case "key": s = k2
            case "value": s = v2
            case "kv_avg": s = zip(k2, v2).map { ($0 + $1) / 2 }
            default: s = zip(k2, v2).map { $0 * $1 }
            }
            let total = s.reduce(0, +)
            for j in 0..<T { out[g * T + j] = j < numSinks ? 1 : s[j] / total }
        }
        return out
    }

    private func squaredNorms(_ x: UnsafePointer<Float>, T: Int, D: Int, projection: [Float]?, r: Int) -> [Float] {
        (0..<T).map { t in
            var s: Float = 0
            if let p = projection {
                for j in 0..<r {
                    var y: Float = 0
                    for c in 0..<D { y += x[t * D + c] * p[c * r + j] }
                    s += y * y
                }
            } else {
                for c in 0..<D { s += x[t * D + c] * x[t * D + c] }
            }
            return s
        }
    }

    private func localNormalise(_ x: inout [Float]) {
        var start = 0
        while start < x.count {
            let end = min(start + localWindowSize, x.count)
            var s: Float = 0
            for j in start..<end { s += x[j] }
            for j in start..<end { x[j] /= s }
            start = end
        }
    }

    static let descriptor = PressDescriptor(
        name: "cur", summary: "keeps entries with high approximate key × value leverage (CurDKV)",
        reference: "https://arxiv.org/abs/2509.15038",
        parameters: [
            PressParameter("compression_ratio", "0.0", "fraction of KV pairs removed, [0, 1)"),
            PressParameter("num_sinks", "4", "initial tokens always kept, ≥ 0"),
            PressParameter("leverage_type", "kv_product", "key, value, kv_avg or kv_product"),
            PressParameter("use_random_leverage", "false", "project keys and values on a random 20-dim Gaussian first"),
            PressParameter("use_local_approximation", "true", "normalise the norms inside local windows"),
            PressParameter("local_window_size", "16", "local window length, ≥ 1"),
        ]
    ) { args, _ in
        try CURPress(compressionRatio: args.ratio(), numSinks: args.int("num_sinks"),
                     leverageType: args.choice("leverage_type", leverageTypes),
                     useRandomLeverage: args.bool("use_random_leverage"),
                     useLocalApproximation: args.bool("use_local_approximation"),
                     localWindowSize: args.int("local_window_size", minimum: 1))
    }
}
