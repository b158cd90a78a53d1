import XCTest
import KVModel
import KVPress
import KVTestSupport

/// The decoding compressor's schedule: every head of every layer at or under its target after each
/// interval, on synthetic layers and with the real model.
final class DecodingCompressorTests: XCTestCase {
    /// Every registered scorer, at a small budget and interval.
    func specs(budget: Int, interval: Int) -> [String] {
        DecodingCatalog.entries.filter { $0.inner == .none }.map(\.name).map { name in
            let window = ["snapkv", "h2o", "rkv", "rkv_lsh"].contains(name) ? "window_size=4," : ""
            return "\(name):\(window)cache_budget=\(budget),compression_interval=\(interval)"
        }
    }

    func testEveryHeadAtOrUnderBudgetAfterEachInterval() throws {
        for spec in specs(budget: 16, interval: 4) {
            let driver = try DecodingDriver()
            let compressor = DecodingCompressor(try DecodingSpec.parse(spec))
            try driver.forward(40, hook: nil)            // the context, as a session holds it
            try driver.forward(5, hook: compressor)      // the question
            for step in 1...30 {
                try driver.forward(1, hook: compressor)
                let counts = driver.cache.layers.flatMap { $0.map(\.count) }
                if step % 4 == 0 {
                    XCTAssertTrue(counts.allSatisfy { $0 <= 16 }, "\(spec) step \(step): \(counts)")
                    // The newest token always stays.
                    for head in driver.cache.layers.flatMap({ $0 }) { XCTAssertEqual(head.position(head.count - 1), driver.cache.nextPosition - 1) }
                } else if step > 4 {
                    XCTAssertTrue(counts.allSatisfy { $0 <= 16 + step % 4 }, "\(spec) step \(step): \(counts)")
                }
            }
            XCTAssertEqual(compressor.decodeSteps, 30)
            XCTAssertEqual(compressor.compressions, 30 / 4, spec)
            XCTAssertEqual(compressor.entriesEvicted, 2 * 2 * (45 + 28 - 16), spec)
            XCTAssertGreaterThan(compressor.compressionSeconds, 0)
        }
    }

    func testCompressionRatioDecodingKeepsTheFractionOfTokensSeen() throws {
        let driver = try DecodingDriver()
        let compressor = DecodingCompressor(try DecodingSpec.parse("knorm:compression_ratio_decoding=0.25,compression_interval=3"))
        try driver.forward(30, hook: nil)
        for step in 1...12 {
            let before = driver.cache.layers[0][0].count
            try driver.forward(1, hook: compressor)
            guard step % 3 == 0 else { continue }
            // Each head keeps 75% of every token seen (when it holds more).
            let target = Int(Double(driver.cache.nextPosition) * 0.75)
            for head in driver.cache.layers.flatMap({ $0 }) { XCTAssertEqual(head.count, min(before + 1, target), "step \(step)") }
        }
        // 33 → 24 at step 3; 27 ≤ 27 at step 6; 30 → 29 at step 9; 32 → 31 at step 12.
        XCTAssertEqual(compressor.compressions, 3)
    }

    func testBudgetZeroNeverCompresses() throws {
        let driver = try DecodingDriver()
        let compressor = DecodingCompressor(try DecodingSpec.parse("h2o:cache_budget=0,compression_interval=1"))
        try driver.forward(20, hook: nil)
        for _ in 0..<5 { try driver.forward(1, hook: compressor) }
        XCTAssertEqual(compressor.compressions, 0)
        XCTAssertTrue(driver.cache.layers.flatMap { $0 }.allSatisfy { $0.count == 25 })
    }

    /// With the real model: h2o reads the decode attention's own probabilities, rkv recomputes.
    func testRealModelStaysWithinBudget() throws {
        let model = try TestModel.model()
        let context = model.tokenizer.encode(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 12))
        for spec in ["h2o:window_size=8,cache_budget=48,compression_interval=8", "rkv:cache_budget=48,compression_interval=8"] {
            let cache = model.makeCache()
            _ = try model.forward(context, cache: cache, logits: .none)
            XCTAssertGreaterThan(context.count, 48)
            let compressor = DecodingCompressor(try DecodingSpec.parse(spec))
            var iterator = TokenIterator(model: model, cache: cache, prompt: model.tokenizer.encode(" Again:"),
                                         parameters: GenerateParameters(maxNewTokens: 26), hook: compressor)
            while try iterator.next() != nil {
                guard compressor.decodeSteps > 0, compressor.decodeSteps % 8 == 0 else { continue }
                let counts = cache.layers.flatMap { $0.map(\.count) }
                XCTAssertTrue(counts.allSatisfy { $0 <= 48 }, "\(spec) step \(compressor.decodeSteps): \(counts.max()!)")
            }
            XCTAssertEqual(compressor.decodeSteps, 25)
            XCTAssertEqual(compressor.compressions, 3, spec)
        }
    }
}
