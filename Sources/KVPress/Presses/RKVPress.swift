import COpenBLAS
import KVModel

/// R-KV: redundancy-aware compression for reasoning traces (`rkv`), and its locality-sensitive-
/// hashing variant (`rkv_lsh`).
///
/// A scorer, so it runs in both phases: on a context at load, and while generating (where R-KV was
/// made for reasoning traces). Per KV head, for the entries before the newest `window_size`
/// (which always stay):
/// - importance: attention of the last `window_size` queries, the group's logits max-pooled
///   before the softmax, averaged over the window, then max-pooled over `kernel_size` neighbours;
/// - redundancy: the softmax over entries of each key's mean cosine similarity to all keys. Each
///   key `i` does not count against one near-duplicate (similarity above `threshold`): the
///   newest later one (`retain_direction=last`) or the oldest earlier one (`first`), so of a
///   group of near-identical keys the newest (oldest) keeps a low redundancy and the others are
///   evicted first. (R-KV's reference picks the duplicate among all positions, which for the
///   newest copy of a pair cancels the older copy's penalty too; kvd follows the paper's intent.)
/// - score = `mix_lambda · importance − (1 − mix_lambda) · redundancy`.
///
/// `rkv_lsh` replaces cosine similarity by SimHash buckets: `n_hash_bits` seeded Gaussian
/// hyperplanes; two keys are similar (1) when their sign patterns match, else 0. It costs
/// `n · n_hash_bits · D` instead of `n² · D`.
///
/// Based on https://arxiv.org/abs/2505.24133 (defaults from its reference code: window 8,
/// kernel 7, lambda 0.07, threshold 0.5).
public final class RKVPress: ScorerPress, CatalogPress {
    /// How key similarity is measured.
    public enum Redundancy: Sendable, Equatable {
        /// Exact cosine similarity above `threshold` (`rkv`).
        case cosine(threshold: Double)
        /// SimHash buckets of `bits` seeded hyperplanes (`rkv_lsh`).
        case lsh(bits: Int, seed: Int)
    }

    /// Which near-duplicate a key spares.
    public enum RetainDirection: String, CaseIterable, Sendable {
        /// The newest later duplicate stays (R-KV's default).
        case last
        /// The oldest earlier duplicate stays.
        case first
    }

    public let arguments: PressArguments
    public var compressionRatio: Double
    /// Recent queries that vote, and newest entries always kept.
    public let windowSize: Int
    /// Max-pool width over the importance.
    public let kernelSize: Int
    /// Weight of importance against redundancy.
    public let mixLambda: Double
    /// Which duplicate is spared.
    public let retainDirection: RetainDirection
    /// Cosine (`rkv`) or LSH (`rkv_lsh`).
    public let redundancy: Redundancy

    public init(_ arguments: PressArguments) {
        self.arguments = arguments
        compressionRatio = arguments[.compressionRatio]
        windowSize = arguments[.windowSize]
        kernelSize = arguments[.kernelSize]
        mixLambda = arguments[.mixLambda]
        retainDirection = RetainDirection(rawValue: arguments[.retainDirection])!
        if arguments.press == "rkv_lsh" {
            redundancy = .lsh(bits: arguments[.nHashBits], seed: arguments[.hashSeed])
        } else {
            redundancy = .cosine(threshold: arguments[.threshold])
        }
    }

    public var recentQueriesRead: Int? { windowSize }

    public func score(_ input: PressInput) throws -> [Float] {
        let T = input.tokenCount, G = input.headCountKV, D = input.headDimension, group = input.groupSize
        let w = min(windowSize, input.queryRowCount), m = T - w
        guard w > 0, m > 0 else { throw PressError.contextTooShort(press: name, tokens: T, needed: windowSize + 1) }
        let logits = WindowAttention.logits(input, window: w)  // [H, w, T]
        var out: [Float] = []
        out.reserveCapacity(G * T)
        for g in 0..<G {
            var groupLogits = Array(logits[(g * group * w * T)..<((g + 1) * group * w * T)])
            let importance = Self.importance(&groupLogits, groupSize: group, window: w, count: T, kernel: kernelSize)
            let keys = Array(UnsafeBufferPointer(start: input.key(g, 0), count: T * D))
            let red = redundancyScores(keys, count: T, width: D)
            let scores = (0..<m).map { Float(mixLambda) * importance[$0] - Float(1 - mixLambda) * red[$0] }
            out += Pooling.pad(scores, rows: 1, count: m, left: 0, right: w, value: Pooling.max(scores) + 1)
        }
        return out
    }

    /// `[m = n − w]`: per window query the group's maximum logit, softmax over the entries before
    /// the window, mean over the window, max pool of `kernel` (stride 1, same length).
    static func importance(_ logits: inout [Float], groupSize: Int, window w: Int, count n: Int, kernel: Int) -> [Float] {
        let m = n - w
        var pooled = [Float](repeating: -.infinity, count: w * n)
        for k in 0..<groupSize { for x in 0..<(w * n) { pooled[x] = max(pooled[x], logits[k * w * n + x]) } }
        Pooling.softmaxRows(&pooled, rows: w, stride: n, count: m)
        var mean = [Float](repeating: 0, count: m)
        for i in 0..<w { for j in 0..<m { mean[j] += pooled[i * n + j] / Float(w) } }
        let half = kernel / 2
        return (0..<m).map { j in
            var best = -Float.infinity
            for x in max(0, j - half)...min(m - 1, j + half) { best = max(best, mean[x]) }
            return best
        }
    }

    /// Softmax over entries of each key's mean similarity to all keys, one near-duplicate spared per row.
    func redundancyScores(_ keys: [Float], count n: Int, width kd: Int) -> [Float] {
        var columns = [Float](repeating: 0, count: n)
        switch redundancy {
        case .cosine(let threshold): cosineColumnSums(keys, count: n, width: kd, threshold: threshold, into: &columns)
        case .lsh(let bits, let seed): bucketColumnSums(keys, count: n, width: kd, bits: bits, seed: seed, into: &columns)
        }
        var red = columns.map { $0 / Float(n) }
        Pooling.softmaxRows(&red, rows: 1, stride: n, count: n)
        return red
    }

    /// The near-duplicate row `i` spares: the newest later (or oldest earlier) entry `similar` accepts.
    private func spared(_ i: Int, among similar: (Int) -> Bool, count n: Int) -> Int? {
        switch retainDirection {
        case .last: return stride(from: n - 1, to: i, by: -1).first(where: similar)
        case .first: return (0..<i).first(where: similar)
        }
    }

    /// Column sums of the cosine-similarity matrix (diagonal and each row's spared duplicate zeroed),
    /// rows in blocks of 256 so memory stays `256 × n`.
    private func cosineColumnSums(_ keys: [Float], count n: Int, width kd: Int, threshold: Double, into columns: inout [Float]) {
        var unit = keys
        for r in 0..<n {
            var s: Float = 0
            for c in 0..<kd { s += unit[r * kd + c] * unit[r * kd + c] }
            let inv = 1 / (s.squareRoot() + 1e-8)
            for c in 0..<kd { unit[r * kd + c] *= inv }
        }
        let block = 256
        var rows = [Float](repeating: 0, count: min(block, n) * n)
        let limit = Float(threshold)
        var start = 0
        while start < n {
            let b = min(block, n - start)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(b), Int32(n), Int32(kd), 1,
                        Array(unit[(start * kd)..<((start + b) * kd)]), Int32(kd), unit, Int32(kd), 0, &rows, Int32(n))
            for r in 0..<b {
                let i = start + r, base = r * n
                rows[base + i] = 0
                if let j = spared(i, among: { rows[base + $0] > limit }, count: n) { rows[base + j] = 0 }
                for j in 0..<n { columns[j] += rows[base + j] }
            }
            start += b
        }
    }

    /// Column sums of the bucket-equality matrix: SimHash signatures of `bits` hyperplanes drawn
    /// from a SplitMix64 generator seeded with `seed` (the same planes for every head and layer).
    private func bucketColumnSums(_ keys: [Float], count n: Int, width kd: Int, bits: Int, seed: Int,
                                  into columns: inout [Float]) {
        var rng = SplitMix64(seed: UInt64(bitPattern: Int64(seed)))
        let planes = (0..<(bits * kd)).map { _ in rng.nextGaussian() }
        let signatures: [UInt64] = (0..<n).map { r in
            var sig: UInt64 = 0
            for b in 0..<bits {
                var dot: Float = 0
                for c in 0..<kd { dot += keys[r * kd + c] * planes[b * kd + c] }
                if dot >= 0 { sig |= 1 << UInt64(b) }
            }
            return sig
        }
        // Members of each bucket, ascending; each member counts against every other member except
        // the one it spares.
        var buckets: [UInt64: [Int]] = [:]
        for (i, s) in signatures.enumerated() { buckets[s, default: []].append(i) }
        for members in buckets.values where members.count > 1 {
            for i in members {
                let keep = retainDirection == .last ? members.last(where: { $0 > i }) : members.first(where: { $0 < i })
                for j in members where j != i && j != keep { columns[j] += 1 }
            }
        }
    }
}
