import XCTest
@testable import KVModel

/// Naive attention in double precision over a head's stored (dequantized) entries, with the
/// sliding-window rule written out directly from its definition: a query at position `p` sees
/// entry `j` iff `p − window < position(j) ≤ p`.
struct ReferenceHead {
    let keys: [Double], values: [Double], positions: [Int]
    let channels: [Int], D: Int

    init(_ head: HeadKVCache) {
        let (k, v) = head.dequantized
        keys = k.map(Double.init)
        values = v.map(Double.init)
        positions = head.positions
        channels = head.keyChannels ?? Array(0..<head.headDimension)
        D = head.headDimension
    }

    /// The entries of `first` followed by those of `second` (a tail's prefix and its own).
    init(_ first: HeadKVCache, then second: HeadKVCache) {
        let a = ReferenceHead(first), b = ReferenceHead(second)
        keys = a.keys + b.keys
        values = a.values + b.values
        positions = a.positions + b.positions
        channels = a.channels
        D = a.D
    }

    /// Output (`D` values) and probability of every entry (0 where masked) for one query head's
    /// full-width `query`, over entries `0..<end`.
    func attend(_ query: ArraySlice<Float>, scale: Float, window: Int?, position p: Int, end: Int) -> (output: [Double], probabilities: [Double]) {
        let q = Array(query), kd = channels.count
        var scores = [Double](repeating: -.infinity, count: positions.count)
        for j in 0..<end where positions[j] <= p && (window.map { positions[j] > p - $0 } ?? true) {
            var s = 0.0
            for c in 0..<kd { s += Double(q[channels[c]]) * keys[j * kd + c] }
            scores[j] = s * Double(scale)
        }
        let m = scores.max()!
        let e = scores.map { $0 == -.infinity ? 0 : Foundation.exp($0 - m) }
        let total = e.reduce(0, +)
        let probabilities = e.map { $0 / total }
        var output = [Double](repeating: 0, count: D)
        for j in 0..<end where probabilities[j] > 0 {
            for c in 0..<D { output[c] += probabilities[j] * values[j * D + c] }
        }
        return (output, probabilities)
    }
}

/// Heads of random entries (`SyntheticKV`: keys with outlier channels, values with spikes).
enum AttentionFixture {
    static func head(count: Int, width: Int, storage: KVStorageType, seed: UInt64, firstPosition: Int = 0) -> HeadKVCache {
        let data = SyntheticKV(count: count, width: width, seed: seed, spikes: true)
        let head = HeadKVCache(headDimension: width, storage: storage)
        data.append(to: head, range: 0..<count, firstPosition: firstPosition)
        return head
    }

    /// Appends `count` random entries at positions `firstPosition…`.
    static func append(to head: HeadKVCache, count: Int, seed: UInt64, firstPosition: Int) {
        SyntheticKV(count: count, width: head.headDimension, seed: seed, spikes: true)
            .append(to: head, range: 0..<count, firstPosition: firstPosition)
    }

    static func queries(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Float(rng.nextDouble() * 2 - 1) }
    }

    /// Runs decode attention; returns the output and the column sums (`[H, stride]`, stride = longest head).
    static func decode(_ q: [Float], shape: AttentionShape, heads: [HeadKVCache]) -> (output: [Float], sums: [Float], stride: Int) {
        let stride = heads.map(\.count).max()!
        var out = [Float](repeating: .nan, count: shape.headCount * shape.headDimension)
        var sums = [Float](repeating: -1, count: shape.headCount * stride)
        q.withUnsafeBufferPointer { qp in out.withUnsafeMutableBufferPointer { o in sums.withUnsafeMutableBufferPointer { s in
            DecodeAttention.run(query: qp.baseAddress!, shape: shape, cache: heads, output: o.baseAddress!,
                                workspace: Workspace(), columnSums: s.baseAddress!, columnSumsStride: stride)
        } } }
        return (out, sums, stride)
    }

    /// Largest differences of decode attention's output and column sums from the reference.
    static func decodeErrors(_ q: [Float], shape: AttentionShape, heads: [HeadKVCache]) -> (output: Double, sums: Double) {
        let (out, sums, stride) = decode(q, shape: shape, heads: heads)
        let D = shape.headDimension, G = shape.groupSize
        var worst = (output: 0.0, sums: 0.0)
        for (g, head) in heads.enumerated() {
            let reference = ReferenceHead(head)
            for k in 0..<G {
                let h = g * G + k
                let (o, p) = reference.attend(q[(h * D)..<((h + 1) * D)], scale: shape.scale, window: shape.window,
                                              position: head.position(head.count - 1), end: head.count)
                for c in 0..<D { worst.output = max(worst.output, abs(o[c] - Double(out[h * D + c]))) }
                for j in 0..<head.count { worst.sums = max(worst.sums, abs(p[j] - Double(sums[h * stride + j]))) }
                // Past the head's length the row is left as it was.
                for j in head.count..<stride where sums[h * stride + j] != -1 { worst.sums = .infinity }
            }
        }
        return worst
    }
}
