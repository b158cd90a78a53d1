/// Scores each partition of `lag_size` tokens against the NEXT partition's key/value ranges (kvpress `LagKVPress`).
///
/// After the `n_sink` sinks the context is cut into partitions; each token of a partition is
/// normalised by the min/max of the following partition per channel, and the (unbiased) standard
/// deviation over channels, softmaxed within the partition, averaged for keys and values, scores
/// it. Without `cross_scoring` the scores become ranks within the partition / `lag_size`. The sinks
/// and the last partition plus remainder always stay. Contexts shorter than
/// `n_sink + 2·lag_size` keep the sinks and the most recent tokens.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2504.04704.
public final class LagKVPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let nSink: Int
    public let lagSize: Int
    public let crossScoring: Bool

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        nSink = arguments[.nSink]
        lagSize = arguments[.lagSize]
        crossScoring = arguments[.crossScoring]
    }

    public var recentQueriesRead: Int? { 0 }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount, G = input.headCountKV, L = lagSize
        var out = [Float](repeating: 1, count: G * T)
        if T < nSink + 2 * L {
            if T > nSink {
                for g in 0..<G { for j in nSink..<T { out[g * T + j] = Float(j - nSink) / Float(T - nSink) } }
            }
            return out
        }
        let partitions = (T - nSink) / L
        for g in 0..<G {
            let ks = partitionScores(input.key(g, 0), partitions: partitions, D: input.headDimension)
            let vs = partitionScores(input.value(g, 0), partitions: partitions, D: input.headDimension)
            for p in 0..<(partitions - 1) {
                var s = (0..<L).map { (ks[p * L + $0] + vs[p * L + $0]) / 2 }
                if !crossScoring {
                    // argsort().argsort(): each entry's rank (stable for ties), over lag_size.
                    let order = (0..<L).sorted { s[$0] < s[$1] || (s[$0] == s[$1] && $0 < $1) }
                    var rank = [Float](repeating: 0, count: L)
                    for (r, i) in order.enumerated() { rank[i] = Float(r) / Float(L) }
                    s = rank
                }
                for i in 0..<L { out[g * T + nSink + p * L + i] = s[i] }
            }
        }
        return out
    }

    /// Softmax-normalised std scores `[(partitions-1) · L]` of one head's rows (keys or values).
    private func partitionScores(_ x: UnsafePointer<Float>, partitions: Int, D: Int) -> [Float] {
        let L = lagSize
        var out = [Float](repeating: 0, count: (partitions - 1) * L)
        var lo = [Float](repeating: 0, count: D), hi = lo, z = lo
        for p in 0..<(partitions - 1) {
            let ref = x + (nSink + (p + 1) * L) * D
            for c in 0..<D { lo[c] = ref[c]; hi[c] = ref[c] }
            for t in 1..<L { for c in 0..<D { lo[c] = min(lo[c], ref[t * D + c]); hi[c] = max(hi[c], ref[t * D + c]) } }
            let rows = x + (nSink + p * L) * D
            for t in 0..<L {
                var mean: Float = 0
                for c in 0..<D { z[c] = (rows[t * D + c] - lo[c]) / (hi[c] - lo[c]); mean += z[c] }
                mean /= Float(D)
                var v: Float = 0
                for c in 0..<D { v += (z[c] - mean) * (z[c] - mean) }
                out[p * L + t] = (v / Float(D - 1)).squareRoot()
            }
            out.withUnsafeMutableBufferPointer { FastMath.softmax($0.baseAddress! + p * L, L) }
        }
        return out
    }
}

import KVModel
