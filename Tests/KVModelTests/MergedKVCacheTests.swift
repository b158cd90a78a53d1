import XCTest
@testable import KVModel
import KVTestSupport

/// Heads merged across two layers (MiniCache's storage, ``SharedKVDirections``): they read as
/// magnitude × shared direction everywhere (accessors, decode attention, the float conversion of
/// prefill attention), their bytes are the shared rows once plus 8 bytes per entry and layer,
/// `keep`/`truncate`/`copy` leave the partner layer alone, and snapshots restore them bit for bit.
final class MergedKVCacheTests: XCTestCase {
    /// Two heads of `count` entries (f16 unless told), merged over all but `retained`: random unit
    /// directions and magnitudes, one set shared by both.
    static func mergedPair(count: Int, width: Int = 64, retained: [Int], storage: KVStorageType = .f16,
                           seed: UInt64 = 1) -> (previous: HeadKVCache, current: HeadKVCache, directions: SharedKVDirections) {
        let heads = (0..<2).map { AttentionFixture.head(count: count, width: width, storage: storage, seed: seed + UInt64($0)) }
        let merged = (0..<count).filter { !retained.contains($0) }
        var rng = SplitMix64(seed: seed + 10)
        func unitRows() -> [Float] {
            merged.flatMap { _ -> [Float] in
                let v = (0..<width).map { _ in Float(rng.nextDouble() * 2 - 1) }
                let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                return v.map { $0 / n }
            }
        }
        let directions = SharedKVDirections(storage: storage, width: width, keys: unitRows(), values: unitRows(),
                                            positions: merged.map { Int32($0) })
        for head in heads {
            let magnitudes = { merged.map { _ in Float(0.5 + rng.nextDouble() * 8) } }
            head.merge(directions, keyMagnitudes: magnitudes(), valueMagnitudes: magnitudes(), retaining: retained)
        }
        return (heads[0], heads[1], directions)
    }

    func testEntriesReadAsMagnitudeTimesSharedDirection() {
        let retained = [3, 17, 40]
        let before = AttentionFixture.head(count: 50, width: 64, storage: .f16, seed: 1)
        let (head, other, d) = Self.mergedPair(count: 50, retained: retained)
        XCTAssertEqual(head.count, 50)
        XCTAssertEqual(head.mergedCount, 47)
        XCTAssertEqual(head.positions, (0..<50).filter { !retained.contains($0) } + retained, "merged entries first, then the retained")
        for (i, r) in retained.enumerated() {
            for c in 0..<64 {
                XCTAssertEqual(head.key(47 + i, c), before.key(r, c), "retained entries stay exact")
                XCTAssertEqual(head.value(47 + i, c), before.value(r, c))
            }
        }
        let m = head.merged!
        XCTAssertTrue(m.directions === other.merged!.directions, "one set of directions for both layers")
        for j in [0, 20, 46] {
            for c in [0, 31, 63] {
                XCTAssertEqual(head.key(j, c), m.keyMagnitudes[j] * d.key(j, c))
                XCTAssertEqual(other.value(j, c), other.merged!.valueMagnitudes[j] * d.value(j, c))
            }
        }
        // The float conversion prefill attention and presses read.
        var keys = [Float](repeating: 0, count: 45 * 64), values = keys
        KVConvert.keys(head, from: 5, into: &keys)
        KVConvert.values(head, from: 5, into: &values)
        for j in 5..<50 {
            for c in 0..<64 {
                XCTAssertEqual(keys[(j - 5) * 64 + c], head.key(j, c))
                XCTAssertEqual(values[(j - 5) * 64 + c], head.value(j, c))
            }
        }
    }

    /// Decode attention over merged heads (every query tile, widths 64 and 96, slices that start
    /// inside the merged entries or cross into the retained ones, f16 and f32) equals naive
    /// attention over the entries the accessors give, column sums included.
    func testDecodeAttentionMatchesNaiveAttention() {
        for storage in [KVStorageType.f16, .f32] {
            for (G, D) in [(1, 64), (3, 64), (4, 96), (7, 64)] {
                let pairs = (0..<2).map { g in
                    Self.mergedPair(count: 1500 - 211 * g, width: D, retained: [0, 9, 700, 1100 - 211 * g],
                                    storage: storage, seed: UInt64(G * D + g))
                }
                // The question's token, appended after the context as a decoding step does.
                let heads = pairs.map(\.current)
                for head in heads { AttentionFixture.append(to: head, count: 1, seed: 5, firstPosition: 2000) }
                let shape = AttentionShape(headCount: 2 * G, headCountKV: 2, headDimension: D, scale: 1 / Float(D).squareRoot())
                let e = AttentionFixture.decodeErrors(AttentionFixture.queries(2 * G * D, seed: UInt64(D)), shape: shape, heads: heads)
                XCTAssertLessThan(e.output, 2e-4, "\(storage), group \(G), width \(D)")
                XCTAssertLessThan(e.sums, 2e-5, "\(storage), group \(G), width \(D)")
            }
        }
    }

    /// `kv_bytes`: the shared rows once, 8 bytes of magnitudes per merged entry and layer, the
    /// retained entries in full in each layer.
    func testByteCountHoldsTheSharedRowsOnce() throws {
        let cache = KVCache(layerCount: 3, headCountKV: 1, headDimension: 64)
        for l in 0..<3 { AttentionFixture.append(to: cache.layers[l][0], count: 100, seed: UInt64(l), firstPosition: 0) }
        XCTAssertEqual(cache.byteCount, 3 * 100 * 2 * 64 * 2)
        let (p, c, d) = Self.mergedPair(count: 100, retained: [1, 2, 3, 4, 5])
        let merged = KVCache(layerCount: 3, headCountKV: 1, headDimension: 64)
        AttentionFixture.append(to: merged.layers[0][0], count: 100, seed: 0, firstPosition: 0)
        try transplant(p, into: merged.layers[1][0])
        try transplant(c, into: merged.layers[2][0])
        XCTAssertEqual(d.byteCount, 95 * 2 * 64 * 2)
        XCTAssertEqual(merged.sharedDirections.count, 1)
        let pair = 95 * 2 * 64 * 2 + 2 * 95 * 8 + 2 * 5 * 2 * 64 * 2
        XCTAssertEqual(merged.byteCount, 100 * 2 * 64 * 2 + pair)
        let ownBuffers = merged.layers.joined().reduce(0) { $0 + $1.capacity * (2 * 64 * 2 + 4) + $1.mergedCount * 8 }
        XCTAssertEqual(merged.allocatedBytes, ownBuffers + d.byteCount + 95 * 4, "the shared rows and their positions once")
        XCTAssertEqual(pair, 28_400, "against 51 200 bytes for the two layers unmerged")
        XCTAssertThrowsError(try merged.quantize(KVCacheQuantization.parse("kivi:bits=4"))) {
            XCTAssertTrue("\($0)".contains("merged layers"), "\($0)")
        }
    }

    /// `keep` of a prefix only shortens the magnitudes; any other choice gives the head directions
    /// of its own and leaves the other layer's entries as they were; `truncate` and `copy` keep the sharing.
    func testKeepTruncateAndCopyLeaveThePartnerAlone() {
        let (p, c, d) = Self.mergedPair(count: 60, retained: [10, 50])
        let partnerBefore = c.dequantized, pBefore = p.dequantized
        let copy = p.copy()
        XCTAssertTrue(copy.merged!.directions === d)
        p.truncate(to: 40)
        XCTAssertTrue(p.merged!.directions === d)
        XCTAssertEqual(p.count, 40)
        XCTAssertEqual(Array(p.dequantized.keys), Array(pBefore.keys[..<(40 * 64)]))
        let kept = [0, 3, 7, 39]
        p.keep(kept)
        XCTAssertFalse(p.merged!.directions === d, "a gap copies the kept rows")
        XCTAssertEqual(p.positions, kept.map { $0 < 10 ? $0 : $0 + 1 }, "merged entries skip the retained token 10")
        for (i, j) in kept.enumerated() {
            for ch in 0..<64 { XCTAssertEqual(p.key(i, ch), pBefore.keys[j * 64 + ch]) }
        }
        XCTAssertEqual(c.dequantized.keys, partnerBefore.keys)
        XCTAssertEqual(c.dequantized.values, partnerBefore.values)
        XCTAssertEqual(copy.dequantized.keys, pBefore.keys, "the copy is independent")
        // Keeping across merged and retained entries.
        copy.keep([1, 58, 59])
        XCTAssertEqual(copy.positions, [1, 10, 50])
        XCTAssertEqual(copy.byteCount, 1 * 8 + 2 * 2 * 64 * 2)
    }

    /// Snapshots (format 3) restore merged caches bit for bit, with the directions shared again,
    /// and refuse damaged bytes.
    func testSnapshotRoundTrip() throws {
        let cache = KVCache(layerCount: 4, headCountKV: 2, headDimension: 64)
        for g in 0..<2 {
            AttentionFixture.append(to: cache.layers[0][g], count: 80, seed: UInt64(g), firstPosition: 0)
            AttentionFixture.append(to: cache.layers[1][g], count: 80, seed: UInt64(g + 9), firstPosition: 0)
            let (p, c, _) = Self.mergedPair(count: 80, retained: g == 0 ? [4, 79] : [], seed: UInt64(g * 7))
            try transplant(p, into: cache.layers[2][g])
            try transplant(c, into: cache.layers[3][g])
        }
        cache.layers[3][1].truncate(to: 70)
        AttentionFixture.append(to: cache.layers[2][0], count: 3, seed: 3, firstPosition: 80)
        cache.nextPosition = 83
        XCTAssertEqual(KVCacheSnapshot.format(of: cache), 3)
        let bytes = KVCacheSnapshot.encode(cache)
        let restored = KVCache(layerCount: 4, headCountKV: 2, headDimension: 64)
        try KVCacheSnapshot.decode(bytes, format: 3, into: restored)
        XCTAssertEqual(restored.byteCount, cache.byteCount)
        XCTAssertEqual(restored.sharedDirections.count, 2)
        for (a, b) in zip(cache.layers.joined(), restored.layers.joined()) {
            XCTAssertEqual(a.positions, b.positions)
            XCTAssertEqual(a.mergedCount, b.mergedCount)
            XCTAssertEqual(a.dequantized.keys, b.dequantized.keys)
            XCTAssertEqual(a.dequantized.values, b.dequantized.values)
        }
        XCTAssertTrue(restored.layers[2][1].merged!.directions === restored.layers[3][1].merged!.directions)
        XCTAssertThrowsError(try KVCacheSnapshot.decode(Array(bytes.dropLast(5)), format: 3,
                                                        into: KVCache(layerCount: 4, headCountKV: 2, headDimension: 64)))
        XCTAssertThrowsError(try KVCacheSnapshot.decode(bytes, format: 1, into: KVCache(layerCount: 4, headCountKV: 2, headDimension: 64)))
        var bad = bytes
        // The first head's set number (after the count of sets and the sets themselves) names a set that does not exist.
        let setsBytes = 4 + restored.sharedDirections.reduce(0) { $0 + 4 + $1.count * 4 + $1.byteCount }
        bad.replaceSubrange(setsBytes..<(setsBytes + 4), with: [9, 0, 0, 0])
        XCTAssertThrowsError(try KVCacheSnapshot.decode(bad, format: 3, into: KVCache(layerCount: 4, headCountKV: 2, headDimension: 64))) {
            XCTAssertEqual($0 as? KVCacheSnapshotError, .corrupt(reason: "unknown shared direction set 9"))
        }
    }

    /// Moves `head`'s state into the empty `target` (the pair helper makes standalone heads).
    private func transplant(_ head: HeadKVCache, into target: HeadKVCache) throws {
        let m = head.merged!
        try target.restoreMerged(m.directions, keyMagnitudes: m.keyMagnitudes, valueMagnitudes: m.valueMagnitudes)
        for r in head.residualStart..<head.count {
            var k = [Float](repeating: 0, count: 64), v = k
            head.copyKey(r, into: &k)
            head.copyValue(r, into: &v)
            target.append(keys: k, values: v, count: 1, firstPosition: head.position(r))
        }
    }
}
