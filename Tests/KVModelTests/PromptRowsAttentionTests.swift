import XCTest
@testable import KVModel

/// Decode attention of several new rows at once (a question over a long context), over a tail's
/// prefix and its own entries: each row must see the whole prefix and its own entries up to
/// itself, exactly as naive attention over the joined entries does.
final class PromptRowsAttentionTests: XCTestCase {
    /// Row counts, prefix lengths and group sizes of the real models; f16, f32 and a 4-bit prefix.
    func testRowsOverAPrefixMatchReference() throws {
        let D = 64
        for (rows, earlier) in [(1, 0), (2, 0), (5, 3), (37, 0), (64, 12)] {
            for G in [1, 3, 7] {
                for storage in ["f16", "f32", "kivi:bits=4"] {
                    let kv = KVStorageType(rawValue: storage) ?? .f16
                    let quantization = KVStorageType(rawValue: storage) == nil ? try KVCacheQuantization.parse(storage) : nil
                    var prefixes: [HeadKVCache] = [], tails: [HeadKVCache] = []
                    for (g, count) in [1500, 900].enumerated() {
                        let seed = UInt64(1000 * rows + 10 * G + g)
                        let prefix = AttentionFixture.head(count: count, width: D, storage: kv, seed: seed)
                        if let quantization { prefix.quantize(quantization) }
                        let tail = HeadKVCache(headDimension: D, storage: kv)
                        // The tail's earlier entries (an answer so far), then the rows' own.
                        AttentionFixture.append(to: tail, count: earlier + rows, seed: seed + 7, firstPosition: count + 40)
                        prefixes.append(prefix)
                        tails.append(tail)
                    }
                    let shape = AttentionShape(headCount: 2 * G, headCountKV: 2, headDimension: D, scale: 0.125)
                    let H = shape.headCount
                    // Queries [H, rows, D].
                    let q = AttentionFixture.queries(H * rows * D, seed: UInt64(rows * G))
                    var out = [Float](repeating: .nan, count: rows * H * D)
                    q.withUnsafeBufferPointer { qp in out.withUnsafeMutableBufferPointer { o in
                        DecodeAttention.run(query: qp.baseAddress!, rows: rows, shape: shape, cache: tails, prefix: prefixes,
                                            output: o.baseAddress!, workspace: Workspace())
                    } }
                    var worst = 0.0
                    for g in 0..<2 {
                        let reference = ReferenceHead(prefixes[g], then: tails[g])
                        let count = prefixes[g].count + tails[g].count
                        for k in 0..<G {
                            let h = g * G + k
                            for t in 0..<rows {
                                let own = count - rows + t
                                let query = q[((h * rows + t) * D)..<((h * rows + t + 1) * D)]
                                let (o, _) = reference.attend(query, scale: shape.scale, window: nil,
                                                              position: reference.positions[own], end: own + 1)
                                for c in 0..<D { worst = max(worst, abs(o[c] - Double(out[t * H * D + h * D + c]))) }
                            }
                        }
                    }
                    XCTAssertLessThan(worst, 1e-4, "\(rows) rows after \(earlier), group \(G), \(storage)")
                }
            }
        }
    }
}
