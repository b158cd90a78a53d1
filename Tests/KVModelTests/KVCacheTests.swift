import XCTest
import KVModel

final class KVCacheTests: XCTestCase {
    /// Rows whose every element encodes (row, channel), exactly representable in f16.
    private func rows(_ n: Int, _ D: Int, base: Float) -> [Float] {
        (0..<n).flatMap { r in (0..<D).map { c in base + Float(r) + Float(c) / 64 } }
    }

    private func append(_ head: HeadKVCache, _ n: Int, from position: Int) {
        let D = head.headDimension
        let k = rows(n, D, base: Float(position)), v = rows(n, D, base: Float(position)).map { -$0 }
        k.withUnsafeBufferPointer { kp in
            v.withUnsafeBufferPointer { vp in
                head.append(keys: kp.baseAddress!, values: vp.baseAddress!, count: n, firstPosition: position)
            }
        }
    }

    func testAppendStoresKeysValuesAndPositions() {
        for storage in KVStorageType.allCases {
            let head = HeadKVCache(headDimension: 8, storage: storage)
            append(head, 5, from: 10)
            XCTAssertEqual(head.count, 5)
            XCTAssertEqual(head.positions, [10, 11, 12, 13, 14])
            XCTAssertEqual(head.key(2, 3), 12 + 3.0 / 64)
            XCTAssertEqual(head.value(4, 1), -(14 + 1.0 / 64))
            XCTAssertEqual(head.byteCount, 5 * 16 * storage.elementBytes)
        }
    }

    func testKeepCompactsAndFreesMemory() {
        let head = HeadKVCache(headDimension: 8, storage: .f16)
        append(head, 100, from: 0)
        head.keep([0, 3, 50, 99])
        XCTAssertEqual(head.count, 4)
        XCTAssertEqual(head.positions, [0, 3, 50, 99])
        XCTAssertEqual(head.key(2, 0), 50)       // the third kept entry is row 50
        XCTAssertEqual(head.byteCount, 4 * 16 * 2)
        XCTAssertLessThanOrEqual(head.allocatedBytes, 4 * (16 * 2 + 4))
    }

    func testKeepKeyChannelsNarrowsStoredKeys() {
        let head = HeadKVCache(headDimension: 8, storage: .f32)
        append(head, 3, from: 0)
        head.keepKeyChannels([1, 4, 7])
        XCTAssertEqual(head.keyDimension, 3)
        XCTAssertEqual(head.keyChannels, [1, 4, 7])
        XCTAssertEqual(head.key(2, 1), 2 + 4.0 / 64)
        XCTAssertEqual(head.byteCount, 3 * (3 + 8) * 4)
        // Later appends store the same channels.
        append(head, 1, from: 3)
        XCTAssertEqual(head.key(3, 2), 3 + 7.0 / 64)
        XCTAssertEqual(head.value(3, 7), -(3 + 7.0 / 64))
    }

    func testHeadsKeepDifferentLengthsAndRollbackIsExact() {
        let cache = KVCache(layerCount: 2, headCountKV: 2, headDimension: 8)
        for layer in cache.layers { for head in layer { append(head, 10, from: 0) } }
        cache.nextPosition = 10
        cache.layers[0][1].keep([1, 2, 3])
        let mark = cache.checkpoint()
        XCTAssertEqual(mark.counts, [[10, 3], [10, 10]])
        let before = cache.byteCount
        for layer in cache.layers { for head in layer { append(head, 4, from: 10) } }
        cache.nextPosition = 14
        cache.rollback(to: mark)
        XCTAssertEqual(cache.checkpoint(), mark)
        XCTAssertEqual(cache.byteCount, before)
        XCTAssertEqual(cache.layers[0][1].positions, [1, 2, 3])
        XCTAssertEqual(cache.nextPosition, 10)
    }

    func testCopyIsIndependent() {
        let cache = KVCache(layerCount: 1, headCountKV: 1, headDimension: 8)
        append(cache.layers[0][0], 6, from: 0)
        let copy = cache.copy()
        cache.layers[0][0].keep([0])
        XCTAssertEqual(copy.layers[0][0].count, 6)
        XCTAssertEqual(copy.layers[0][0].key(5, 0), 5)
    }

    func testUncompressedByteAccounting() {
        let cache = KVCache(layerCount: 30, headCountKV: 3, headDimension: 64, storage: .f16)
        XCTAssertEqual(cache.uncompressedByteCount(tokens: 1000), 1000 * 30 * 3 * 2 * 64 * 2)
    }
}
