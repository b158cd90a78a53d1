/// Scores each partition of `lag_size` tokens against the NEXT partition's key/value ranges (kvpress `LagKVPress`).
///
/// After the `n_sink` sinks the context is cut into partitions; each token of a partition is
/// normalised by the min/max of the following partition per channel, and the (unbiased) standard
/// deviation over channels, softmaxed within the partition, averaged for keys and values, scores
/// it. Without `cross_scoring` the scores become ranks within the partition / `lag_size`. The sinks
/// and the last partition plus remainder always stay. Contexts shorter than
/// `n_sink + 2·lag_size` keep the sinks and the most recent tokens.
///
/// - Parameters:
///   - compression_ratio: fraction of KV pairs removed, `[0, 1)`; default `0.0`.
///   - n_sink: initial tokens kept, `≥ 0`; default `4`.
///   - lag_size: partition length, `≥ 2`; default `128`.
///   - cross_scoring: compare raw scores across partitions instead of ranks; default `false`.
///
/// Based on https://arxiv.org/abs/2504.04704.
public final class LagKVPress: ScorerPress {
    public let name = "lagkv"
    public var compressionRatio: Double
    public var nSink: Int
    public var lagSize: Int
    public var crossScoring: Bool

    public init(compressionRatio: Double = 0.0, nSink: Int = 4, lagSize: Int = 128, crossScoring: Bool = false) throws {
        try Validate.ratio(compressionRatio, press: "lagkv")
        try Validate.atLeast(nSink, 0, "n_sink", press: "lagkv")
        try Validate.atLeast(lagSize, 2, "lag_size", press: "lagkv")
        self.compressionRatio = compressionRatio
        self.nSink = nSink
        self.lagSize = lagSize
        self.crossScoring = crossScoring
    }

    public var parameterValues: [(String, String)] {
        [("compression_ratio", String(compressionRatio)), ("n_sink", String(nSink)),
         ("lag_size", String(lagSize)), ("cross_scoring", String(crossScoring))]
    }

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

    static let descriptor = PressDescriptor(
        name: "lagkv", summary: "scores partitions against the next partition's key/value ranges",
        reference: "https://arxiv.org/abs/2504.04704",
        parameters: [
            PressParameter("compression_ratio", "0.0", "fraction of KV pairs removed, [0, 1)"),
            PressParameter("n_sink", "4", "initial tokens always kept, ≥ 0"),
            PressParameter("lag_size", "128", "partition length; each partition is scored against the next, ≥ 2"),
            PressParameter("cross_scoring", "false", "compare raw scores across partitions instead of ranks"),
        ]
    ) { args, _ in
        try LagKVPress(compressionRatio: args.ratio(), nSink: args.int("n_sink"),
                       lagSize: args.int("lag_size", minimum: 2), crossScoring: args.bool("cross_scoring"))
    }
}

import KVModel
