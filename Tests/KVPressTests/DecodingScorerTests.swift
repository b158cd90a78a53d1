import XCTest
import KVModel
import KVPress

/// Decoding scorers on hand-built cases: H2O's accumulated attention, R-KV's duplicate eviction,
/// rkv_lsh's seeded determinism.
final class DecodingScorerTests: XCTestCase {
    /// `H = 2` query heads over one KV head of width 2, queries along channel 0 with logit ln 2 on
    /// key a = (1, 0) and 0 on key b = (0, 0): a weighs 2, b weighs 1.
    func testH2OAccumulatedScoresEqualHandComputedValues() throws {
        let driver = try DecodingDriver(layers: 1, headCount: 2, headCountKV: 1, headDimension: 2)
        let q = Float(log(2.0) * 2.0.squareRoot())
        let query = [q, 0, q, 0]
        let a: [Float] = [1, 0], b: [Float] = [0, 0]
        let recorder = ScoreRecorder(try DecodingSpec.parse("h2o:window_size=0").makeScorer())
        let compressor = DecodingCompressor(DecodingPress(schedule: try schedule("cache_budget=2,compression_interval=2")) { recorder })
        try driver.forward(2, hook: nil, keys: a + b)                     // context [a, b]
        try driver.forward(1, hook: compressor, queries: query, keys: b)  // [a, b, b]: 2/4, 1/4, 1/4
        try driver.forward(1, hook: compressor, queries: query, keys: a)  // [a, b, b, a]: 2/6, 1/6, 1/6, 2/6
        // Compression: the newest (index 3) stays, and the heaviest other (index 0).
        XCTAssertEqual(driver.cache.layers[0][0].positions, [0, 3])
        try driver.forward(1, hook: compressor, queries: query, keys: b)  // [a, a, b]: 2/5, 2/5, 1/5
        try driver.forward(1, hook: compressor, queries: query, keys: b)  // [a, a, b, b]: 2/6, 2/6, 1/6, 1/6
        let expected: [[Float]] = [
            [1.0 / 2 + 1.0 / 3, 1.0 / 4 + 1.0 / 6, 1.0 / 4 + 1.0 / 6, 1.0 / 3],
            // The sums followed entries 0 and 3 through the compression.
            [1.0 / 2 + 1.0 / 3 + 2.0 / 5 + 1.0 / 3, 1.0 / 3 + 2.0 / 5 + 1.0 / 3, 1.0 / 5 + 1.0 / 6, 1.0 / 6],
        ]
        XCTAssertEqual(recorder.scores.count, 2)
        for (got, want) in zip(recorder.scores, expected) {
            XCTAssertEqual(got.count, want.count)
            for (x, y) in zip(got, want) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        }
    }

    /// Keys along distinct axes (cosine 0) except entry 7, a copy of entry 2: with uniform
    /// attention, R-KV evicts the older copy and keeps everything else.
    func testRKVRemovesTheMoreRedundantOfTwoIdenticalKeys() throws {
        for spec in ["rkv:window_size=1", "rkv_lsh:window_size=1,seed=3", "rkv_lsh:window_size=1,n_hash_bits=32"] {
            let driver = try DecodingDriver(layers: 1, headCount: 1, headCountKV: 1, headDimension: 16)
            let keys = (0..<10).flatMap { axisKey($0 == 7 ? 2 : $0) }
            let compressor = DecodingCompressor(try DecodingSpec.parse(spec + ",cache_budget=10,compression_interval=1"))
            try driver.forward(10, hook: nil, keys: keys)
            try driver.forward(1, hook: compressor, queries: [Float](repeating: 0, count: 16), keys: axisKey(10))
            XCTAssertEqual(driver.cache.layers[0][0].positions, [0, 1, 3, 4, 5, 6, 7, 8, 9, 10], spec)
        }
    }

    func testRKVLSHIsDeterministicWithASeed() throws {
        func scores(_ spec: String) throws -> [Float] {
            let driver = try DecodingDriver(layers: 1, headCount: 2, headCountKV: 1, headDimension: 8, seed: 5)
            let scorer = try XCTUnwrap(try DecodingSpec.parse(spec).makeScorer() as? RKVPress)
            let recorder = ScoreRecorder(scorer)
            let hook = DecodingCompressor(DecodingPress(schedule: try schedule("cache_budget=8,compression_interval=2")) { recorder })
            try driver.forward(30, hook: nil)
            for _ in 0..<2 { try driver.forward(1, hook: hook) }
            return try XCTUnwrap(recorder.scores.first)
        }
        let a = try scores("rkv_lsh:seed=7,n_hash_bits=4"), b = try scores("rkv_lsh:seed=7,n_hash_bits=4")
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.count, 32)
        XCTAssertNotEqual(a, try scores("rkv_lsh:seed=8,n_hash_bits=4"))
    }

    private func axisKey(_ c: Int) -> [Float] { (0..<16).map { $0 == c ? 1 : 0 } }
}

/// Wraps a scorer and keeps every score row it returns (head order within a compression).
final class ScoreRecorder: ScorerPress, @unchecked Sendable {
    let inner: ScorerPress
    private(set) var scores: [[Float]] = []
    init(_ inner: ScorerPress) { self.inner = inner }
    var name: String { inner.name }
    var parameterValues: [(String, String)] { inner.parameterValues }
    var compressionRatio: Double {
        get { inner.compressionRatio }
        set { inner.compressionRatio = newValue }
    }
    var recentQueriesRead: Int? { inner.recentQueriesRead }
    var observes: AttentionOutputs { inner.observes }
    func score(_ input: PressInput) throws -> [Float] {
        let s = try inner.score(input)
        scores.append(s)
        return s
    }
}

/// The schedule arguments (`cache_budget=…,compression_interval=…`) of a decoding press.
func schedule(_ parameters: String) throws -> PressArguments {
    try DecodingCatalog.arguments(DecodingCatalog.parse("knorm:" + parameters))
}
