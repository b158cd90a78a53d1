import COpenBLAS
import KVModel

/// Scores keys by NON-causal attention inside fixed chunks, summed over queries (kvpress `NonCausalAttnPress`).
///
/// The context is cut into chunks of `chunk_size` (the last one padded as kvpress pads it); inside
/// each chunk every query attends to every key with unscaled logits `q·k`. Column sums are
/// combined over the GQA group (`gqa_score_agg`, mean in kvpress), multiplied by `‖v‖`, smoothed
/// by an average pool of 3 and z-normalised.
///
/// Parameters, defaults and ranges: its `PressCatalog` entry (`kvctl presses` prints them).
///
/// Based on https://arxiv.org/abs/2507.08143 (Compactor).
public final class NonCausalAttnPress: ScorerPress, CatalogPress {
    public let arguments: PressArguments
    public var compressionRatio: Double
    public let chunkSize: Int
    public let aggregation: GQAScoreAggregation

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        chunkSize = arguments[.chunkSize]
        aggregation = arguments[.gqaScoreAgg]
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
}
