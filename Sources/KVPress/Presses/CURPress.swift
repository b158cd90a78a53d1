/// Keeps entries with high approximate key × value leverage (kvpress `CURPress`, CurDKV).
///
/// `k2 = ‖k‖²`, `v2 = ‖v‖²`, optionally normalised inside local windows; combined by
/// `leverage_type` and normalised per head; the first `num_sinks` tokens score 1.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2509.15038.
public final class CURPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let numSinks: Int
    public let leverageType: String
    public let useRandomLeverage: Bool
    public let useLocalApproximation: Bool
    public let localWindowSize: Int

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        numSinks = arguments[.numSinks]
        leverageType = arguments[.leverageType]
        useRandomLeverage = arguments[.useRandomLeverage]
        useLocalApproximation = arguments[.useLocalApproximation]
        localWindowSize = arguments[.localWindowSize]
    }

    public var recentQueriesRead: Int? { 0 }

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
}
