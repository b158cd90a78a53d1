import COpenBLAS
import KVModel

/// Scores keys by NON-causal attention inside fixed chunks, summed over queries (kvpress `NonCausalAttnPress`).
///
/// The context is cut into chunks of `chunk_size` (the last one padded as kvpress pads it); inside
/// each chunk every query attends to every key with unscaled logits `q·k`. Column sums are
/// combined over the GQA group (`gqa_score_agg`, mean in kvpress), multiplied by `‖v‖`, smoothed
/// by an average pool of 3 and z-normalised.
///
/// - Parameters:
///   - compression_ratio: fraction of KV pairs removed, `[0, 1)`; default `0.0`.
///   - chunk_size: chunk length, `≥ 1`; default `256`.
///   - gqa_score_agg: `mean`, `max` or `sum` (kvd extension); default `mean`.
///
/// Based on https://arxiv.org/abs/2507.08143 (Compactor).
public final class NonCausalAttnPress: ScorerPress {
    public let name = "non_causal_attn"
    public var compressionRatio: Double
    public var chunkSize: Int
    public var aggregation: GQAScoreAggregation

    public init(compressionRatio: Double = 0.0, chunkSize: Int = 256, aggregation: GQAScoreAggregation = .mean) throws {
        try Validate.ratio(compressionRatio, press: "non_causal_attn")
        try Validate.atLeast(chunkSize, 1, "chunk_size", press: "non_causal_attn")
        self.compressionRatio = compressionRatio
        self.chunkSize = chunkSize
        self.aggregation = aggregation
    }

    public var parameterValues: [(String, String)] {
        [("compression_ratio", String(compressionRatio)), ("chunk_size", String(chunkSize)),
         ("gqa_score_agg", aggregation.rawValue)]
    }

    public func score(_ input: PressInput) throws -> [Float] {
        let S = input.tokenCount, H = input.headCount, G = input.headCountKV, D = input.headDimension, C = chunkSize
        var sums = [Float](repeating: 0, count: H * S)
        let padded = (S + C - 1) / C * C
        let padLength = padded - S
        sums.withUnsafeMutableBufferPointer { sb in
            let sumsBase = sb.baseAddress!
            // Query heads are independent (each owns its row of `sums`): one per thread.
            ThreadPool.shared.parallelFor(H) { heads in
                let dots = UnsafeMutablePointer<Float>.allocate(capacity: C * C)
                defer { dots.deallocate() }
                for h in heads {
                    var start = 0
                    while start < S {
                        let v = min(C, S - start)
                        let q = input.query(h, start), k = input.key(h / input.groupSize, start)
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(v), Int32(v), Int32(D), 1,
                                    q, Int32(D), k, Int32(D), 0, dots, Int32(v))
                        let isPaddedChunk = v < C && padLength > 0
                        let acc = sumsBase + h * S + start
                        for i in 0..<v {
                            let row = dots + i * v
                            if isPaddedChunk {
                                // Padded keys take logit -1e-9 (≈ 0) and stay in the softmax, as in kvpress.
                                let m = max(FastMath.max(row, v), -1e-9)
                                let total = FastMath.expShiftedSum(row, v, shift: m) + Float(C - v) * FastMath.exp(-1e-9 - m)
                                FastMath.scale(row, v, by: 1 / total)
                            } else {
                                FastMath.softmax(row, v)
                            }
                            Vectorised.add(row, into: acc, v)
                        }
                        if isPaddedChunk {
                            // Each padded query row attends uniformly to the whole chunk.
                            for j in 0..<v { acc[j] += Float(C - v) / Float(C) }
                        }
                        start += v
                    }
                }
            }
        }
        var scores = aggregation.aggregate(sums, headCount: H, headCountKV: G, count: S)
        for g in 0..<G {
            let norms = Norms.l2(input.value(g, 0), rows: S, width: D)
            for j in 0..<S { scores[g * S + j] *= norms[j] }
        }
        return Pooling.zScore(Pooling.average(scores, rows: G, count: S, kernel: 3))
    }

    static let descriptor = PressDescriptor(
        name: "non_causal_attn", summary: "scores keys by non-causal attention inside chunks, summed over queries",
        reference: "https://arxiv.org/abs/2507.08143",
        parameters: [
            PressParameter("compression_ratio", "0.0", "fraction of KV pairs removed, [0, 1)"),
            PressParameter("chunk_size", "256", "chunk length for the non-causal attention, ≥ 1"),
            PressParameter("gqa_score_agg", "mean", "mean, max or sum over the query heads of a KV head"),
        ]
    ) { args, _ in
        try NonCausalAttnPress(compressionRatio: args.ratio(), chunkSize: args.int("chunk_size", minimum: 1),
                               aggregation: args.aggregation())
    }
}
