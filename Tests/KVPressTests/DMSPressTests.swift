import XCTest
import KVModel
import KVPress

/// `dms`: entries scoring below the threshold go once they leave the sliding window, at load
/// (a prefill press) and while generating (a decoding press); every other entry stays.
final class DMSPressTests: XCTestCase {
    /// Keys along channel 0 whose norm cycles 1, 2, 3, 4: knorm scores them −1 … −4.
    func keys(_ count: Int, from first: Int, heads G: Int = 2, width D: Int = 8) -> [Float] {
        (0..<G).flatMap { g in (0..<count).flatMap { t -> [Float] in
            var row = [Float](repeating: 0, count: D)
            row[0] = Float((first + t + g) % 4 + 1)
            return row
        } }
    }

    func testPrefillEvictsLowScoresOutsideTheWindow() throws {
        let driver = try DecodingDriver(layers: 2, headCount: 4, headCountKV: 2, headDimension: 8)
        let press = try XCTUnwrap(try PressSpec.parse("dms(knorm):threshold=-2.5,sliding_window_size=5") as? DMSPress)
        try driver.forward(20, hook: PressHook(press), keys: keys(20, from: 0))
        for layer in driver.cache.layers {
            for (g, head) in layer.enumerated() {
                // Norms ≤ 2.5 stay (scores ≥ −2.5), and the last 5 whatever their norm.
                let expected = (0..<20).filter { $0 >= 15 || ($0 + g) % 4 + 1 <= 2 }
                XCTAssertEqual(head.positions, expected, "head \(g)")
            }
        }
        XCTAssertEqual(press.compressionRatio, 0, "nothing promised before the content is seen")
        // Candidates 0..<15: head 0 evicts norms 3 and 4 at 7 of them, head 1 at 8; in both layers.
        XCTAssertEqual(press.achievedRatio, Double(2 * (7 + 8)) / Double(2 * 2 * 20), accuracy: 1e-9)
        XCTAssertEqual(try PressSpec.parse(press.description).description, press.description)
        XCTAssertEqual(press.description, "dms(knorm:compression_ratio=0.0):threshold=-2.5,sliding_window_size=5")
    }

    func testDecodingJudgesEachEntryOnceWhenItLeavesTheWindow() throws {
        let driver = try DecodingDriver(layers: 2, headCount: 4, headCountKV: 2, headDimension: 8)
        let press = try DecodingSpec.parse("dms(knorm):threshold=-2.5,sliding_window_size=4,compression_interval=3")
        XCTAssertEqual(press.description, "dms(knorm):threshold=-2.5,sliding_window_size=4,compression_interval=3,query_buffer=256")
        XCTAssertEqual(try DecodingSpec.parse(press.description).description, press.description)
        let compressor = DecodingCompressor(press)
        try driver.forward(12, hook: nil, keys: keys(12, from: 0))
        var evicted = 0
        for step in 1...12 {
            let position = driver.cache.nextPosition
            try driver.forward(1, hook: compressor, keys: keys(1, from: position))
            guard step % 3 == 0 else { continue }
            let newest = driver.cache.nextPosition - 1
            for (g, head) in driver.cache.layers[0].enumerated() {
                // Judged: everything but the newest 4; gone: those of norm above 2.5.
                let expected = (0...newest).filter { $0 > newest - 4 || ($0 + g) % 4 + 1 <= 2 }
                XCTAssertEqual(head.positions, expected, "step \(step) head \(g)")
            }
            evicted = (0...(newest - 4)).reduce(0) { n, p in n + (0..<2).filter { (p + $0) % 4 + 1 > 2 }.count } * 2
        }
        XCTAssertEqual(compressor.entriesEvicted, evicted)
        XCTAssertEqual(compressor.compressions, 4)
    }

    func testSpecErrorsSayWhatIsWrong() {
        func message(_ body: () throws -> Any) -> String {
            do { _ = try body(); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message { try PressSpec.parse("dms(knorm)") }.contains("dms.threshold"))
        XCTAssertTrue(message { try PressSpec.parse("dms(kvzip):threshold=1") }.contains("scorer press"))
        XCTAssertTrue(message { try DecodingSpec.parse("dms(knorm):threshold=1,cache_budget=64") }.contains("dms evicts by threshold"))
        XCTAssertTrue(message { try DecodingSpec.parse("dms(adakv(knorm)):threshold=1") }.contains("unknown press 'adakv'"))
        XCTAssertTrue(message { try DecodingSpec.parse("dms(knorm:compression_ratio=0.5):threshold=1") }.contains("compression_ratio"))
        XCTAssertTrue(message { try DecodingSpec.parse("dms:threshold=1") }.contains("wraps exactly one scorer press"))
    }
}
