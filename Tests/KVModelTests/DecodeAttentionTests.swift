import XCTest
@testable import KVModel

/// Decode attention (every tile of the register-blocked loops, f16 and f32, split-K slices, column
/// sums, sliding windows) against naive double-precision attention over the stored entries.
final class DecodeAttentionTests: XCTestCase {
    static let groups = [1, 2, 3, 4, 7, 8], widths = [64, 96, 128, 256]

    /// Every group size and head width of the real models, in both storages: one head long enough to
    /// be split into slices and one short (37, not a multiple of the four-key tile).
    func testEveryShapeMatchesReference() {
        for G in Self.groups {
            for D in Self.widths {
                for storage in KVStorageType.allCases {
                    let heads = [1103, 37].enumerated().map { i, n in
                        AttentionFixture.head(count: n, width: D, storage: storage, seed: UInt64(100 * G + D + i))
                    }
                    let shape = AttentionShape(headCount: 2 * G, headCountKV: 2, headDimension: D, scale: 1 / Float(D).squareRoot())
                    let q = AttentionFixture.queries(2 * G * D, seed: UInt64(G * D))
                    let e = AttentionFixture.decodeErrors(q, shape: shape, heads: heads)
                    XCTAssertLessThan(e.output, 1e-4, "\(storage), group \(G), width \(D)")
                    XCTAssertLessThan(e.sums, 1e-5, "\(storage), group \(G), width \(D)")
                }
            }
        }
    }

    /// Widths whose vectors do not fill the four-vector value chunks (72: 4 + 4 + 1), or whose
    /// channels do not fill a vector (20, 44: one channel at a time past the last multiple of 8).
    func testOddWidths() {
        for D in [72, 20, 44] {
            for G in [1, 3, 4, 7] {
                let heads = [1030, 9].enumerated().map { i, n in
                    AttentionFixture.head(count: n, width: D, storage: .f16, seed: UInt64(G + D + i))
                }
                let shape = AttentionShape(headCount: 2 * G, headCountKV: 2, headDimension: D, scale: 0.2)
                let e = AttentionFixture.decodeErrors(AttentionFixture.queries(2 * G * D, seed: 1), shape: shape, heads: heads)
                XCTAssertLessThan(e.output, 1e-4, "group \(G), width \(D)")
                XCTAssertLessThan(e.sums, 1e-5, "group \(G), width \(D)")
            }
        }
    }

    /// The caller's scale, not 1/√D, multiplies the scores.
    func testExplicitScale() {
        for scale: Float in [0.05, 0.5, 1 / 16] {
            let heads = (0..<2).map { AttentionFixture.head(count: 700, width: 128, storage: .f16, seed: UInt64($0)) }
            let shape = AttentionShape(headCount: 8, headCountKV: 2, headDimension: 128, scale: scale)
            let e = AttentionFixture.decodeErrors(AttentionFixture.queries(8 * 128, seed: 5), shape: shape, heads: heads)
            XCTAssertLessThan(e.output, 1e-4, "scale \(scale)")
            XCTAssertLessThan(e.sums, 1e-5, "scale \(scale)")
        }
    }

    /// Windows shorter than a slice, spanning slices, longer than the head, and of one position;
    /// heads of different lengths, so each has its own visible range.
    func testSlidingWindow() {
        for window in [1, 7, 512, 1300, 5000] {
            for G in [3, 4] {
                let heads = [3000, 1800].enumerated().map { i, n in
                    AttentionFixture.head(count: n, width: 64, storage: .f16, seed: UInt64(7 * window + i), firstPosition: 3000 - n)
                }
                let shape = AttentionShape(headCount: 2 * G, headCountKV: 2, headDimension: 64, scale: 0.125, window: window)
                let e = AttentionFixture.decodeErrors(AttentionFixture.queries(2 * G * 64, seed: 9), shape: shape, heads: heads)
                XCTAssertLessThan(e.output, 1e-4, "window \(window), group \(G)")
                XCTAssertLessThan(e.sums, 1e-5, "window \(window), group \(G)")
            }
        }
    }

    /// After `keep` the entries' positions have gaps: the window counts positions, not entries.
    func testSlidingWindowOverKeptEntries() {
        for storage in KVStorageType.allCases {
            let heads = (0..<2).map { g -> HeadKVCache in
                let head = AttentionFixture.head(count: 4000, width: 96, storage: storage, seed: UInt64(g))
                var rng = SplitMix64(seed: UInt64(g + 1))
                head.keep((0..<4000).filter { _ in rng.next() % 3 == 0 })
                // The token being decoded, appended as the model does.
                AttentionFixture.append(to: head, count: 1, seed: UInt64(g + 10), firstPosition: 4000)
                return head
            }
            XCTAssertLessThan(heads[0].count, 1500)
            for window in [300, 1200, 3500] {
                let shape = AttentionShape(headCount: 14, headCountKV: 2, headDimension: 96, scale: 0.1, window: window)
                let e = AttentionFixture.decodeErrors(AttentionFixture.queries(14 * 96, seed: 3), shape: shape, heads: heads)
                XCTAssertLessThan(e.output, 1e-4, "\(storage), window \(window)")
                XCTAssertLessThan(e.sums, 1e-5, "\(storage), window \(window)")
            }
        }
    }
}
