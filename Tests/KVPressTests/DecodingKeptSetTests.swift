import Foundation
import XCTest
import KVModel
import KVPress

/// The kept sets of the decoding presses that existed before every scorer became a decoding
/// press: `Fixtures/decoding-kept-sets.json` holds, for each spec, every head's positions after
/// each compression of one seeded synthetic run, as the separate decoding scorers of e1b05af kept
/// them. The unified path keeps the same sets, except snapkv: the old SnapKV-D smoothed its
/// scores across the window boundary, while kvpress's SnapKV (now the one scorer of both phases)
/// pools only the entries before the window, which moves a few entries at that boundary.
final class DecodingKeptSetTests: XCTestCase {
    static let specs = [
        "knorm", "streaming_llm:n_sink=3", "tova", "snapkv:window_size=4,kernel_size=3",
        "h2o:window_size=4", "rkv:window_size=4", "rkv_lsh:window_size=4,seed=2,n_hash_bits=6",
    ]

    /// One run: a 40-token context, a 5-token question, 30 decode steps, a compression every 4.
    static func run(_ spec: String) throws -> [[[Int]]] {
        let driver = try DecodingDriver(layers: 2, headCount: 4, headCountKV: 2, headDimension: 8, seed: 11)
        let compressor = DecodingCompressor(try DecodingSpec.parse(spec + (spec.contains(":") ? "," : ":") + "cache_budget=16,compression_interval=4"))
        try driver.forward(40, hook: nil)
        try driver.forward(5, hook: compressor)
        var snapshots: [[[Int]]] = []
        for step in 1...30 {
            try driver.forward(1, hook: compressor)
            if step % 4 == 0 { snapshots.append(driver.cache.layers.flatMap { $0.map(\.positions) }) }
        }
        return snapshots
    }

    func testKeptSetsMatchTheSeparateDecodingScorers() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "decoding-kept-sets", withExtension: "json", subdirectory: "Fixtures"))
        let expected = try JSONDecoder().decode([String: [[[Int]]]].self, from: Data(contentsOf: url))
        for spec in Self.specs where !spec.hasPrefix("snapkv") {
            XCTAssertEqual(try Self.run(spec), expected[spec], spec)
        }
        let spec = Self.specs.first { $0.hasPrefix("snapkv") }!
        let got = try Self.run(spec), old = try XCTUnwrap(expected[spec])
        var overlaps: [Double] = []
        for (a, b) in zip(got.joined(), old.joined()) {
            overlaps.append(Double(Set(a).intersection(b).count) / Double(Set(a).union(b).count))
        }
        XCTAssertEqual(overlaps.count, 7 * 4)
        XCTAssertGreaterThan(overlaps.reduce(0, +) / Double(overlaps.count), 0.85, "snapkv: mean Jaccard against the old SnapKV-D")
    }
}
