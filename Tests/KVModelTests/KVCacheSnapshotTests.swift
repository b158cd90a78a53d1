import Foundation
import XCTest
@testable import KVModel

/// Saved caches restore bit for bit, plain (format 1) and quantized (format 2), and corrupt
/// payloads are rejected with `KVCacheSnapshotError.corrupt`, never a crash.
final class KVCacheSnapshotTests: XCTestCase {
    private func makeCache(quantize spec: String?) throws -> KVCache {
        let cache = KVCache(layerCount: 2, headCountKV: 3, headDimension: 64)
        var rng = SplitMix64(seed: 4)
        for (i, head) in cache.layers.joined().enumerated() {
            let n = 150 + 40 * i
            let k = (0..<(n * 64)).map { _ in Float(rng.nextDouble() * 4 - 2) }, v = (0..<(n * 64)).map { _ in Float(rng.nextDouble() - 0.5) }
            k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                head.append(keys: kp.baseAddress!, values: vp.baseAddress!, count: n, firstPosition: 0)
            } }
            if i == 1 { head.keepKeyChannels(Array(0..<48)) }
            if i == 2 { head.keep(Array(stride(from: 0, to: n, by: 2))) }
        }
        cache.nextPosition = 400
        if let spec { try cache.quantize(try KVCacheQuantization.parse(spec)) }
        return cache
    }

    private func assertIdentical(_ a: KVCache, _ b: KVCache, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.quantization, b.quantization, file: file, line: line)
        for (x, y) in zip(a.layers.joined(), b.layers.joined()) {
            XCTAssertEqual(x.count, y.count, file: file, line: line)
            XCTAssertEqual(x.keyChannels, y.keyChannels, file: file, line: line)
            XCTAssertEqual(x.quantizedBlocks, y.quantizedBlocks, file: file, line: line)
            XCTAssertEqual(x.positions, y.positions, file: file, line: line)
            XCTAssertEqual(x.byteCount, y.byteCount, file: file, line: line)
            for r in 0..<x.count {
                for c in 0..<x.keyDimension where x.key(r, c).bitPattern != y.key(r, c).bitPattern {
                    return XCTFail("key \(r),\(c) differs", file: file, line: line)
                }
                for c in 0..<x.valueDimension where x.value(r, c).bitPattern != y.value(r, c).bitPattern {
                    return XCTFail("value \(r),\(c) differs", file: file, line: line)
                }
            }
        }
    }

    func testRoundTripsBitExactly() throws {
        for spec in [nil, "kivi:bits=4,residual=64", "gear:bits=2,residual=16,group_size=16", "kvquant:bits=8"] {
            let cache = try makeCache(quantize: spec)
            let bytes = KVCacheSnapshot.encode(cache)
            XCTAssertEqual(KVCacheSnapshot.format(of: cache), spec == nil ? 1 : 2)
            let restored = KVCache(layerCount: 2, headCountKV: 3, headDimension: 64)
            try KVCacheSnapshot.decode(bytes, format: KVCacheSnapshot.format(of: cache), into: restored)
            assertIdentical(cache, restored)
            XCTAssertEqual(KVCacheSnapshot.encode(restored), bytes)
        }
    }

    func testCorruptPayloadsAreRejected() throws {
        let bytes = KVCacheSnapshot.encode(try makeCache(quantize: "gear:bits=4,residual=64"))
        func decode(_ b: [UInt8], format: Int = 2) throws {
            try KVCacheSnapshot.decode(b, format: format, into: KVCache(layerCount: 2, headCountKV: 3, headDimension: 64))
        }
        XCTAssertThrowsError(try decode(Array(bytes.dropLast(3))))
        XCTAssertThrowsError(try decode(bytes, format: 1))
        XCTAssertThrowsError(try decode(bytes, format: 7)) {
            XCTAssertEqual($0 as? KVCacheSnapshotError, .corrupt(reason: "unknown cache format 7"))
        }
        var rng = SplitMix64(seed: 9)
        for _ in 0..<300 {
            var b = bytes
            let at = Int(rng.next() % UInt64(min(b.count, 4000)))
            b[at] = UInt8(truncatingIfNeeded: rng.next())
            do { try decode(b) } catch let error as KVCacheSnapshotError {
                guard case .corrupt = error else { return XCTFail("\(error)") }
            }
        }
    }
}
