import KVModel
import KVPress
import XCTest

/// Seeded mutations of valid press and decoding specs, and nesting up to 100 000 deep (issue 15:
/// a 40 000-deep spec overflowed the stack of kvd's event loop). Every outcome is a press or a
/// `PressError`; nothing crashes or takes long.
final class SpecFuzzTests: XCTestCase {
    static let seeds = [
        "snapkv:ratio=0.5,window_size=64", "adakv(expected_attention):ratio=0.25,alpha_safeguard=0.2",
        "composed(snapkv:ratio=0.3,think:key_channel_compression_ratio=0.25)", "chunkkv(snapkv):chunk_length=20",
        "h2o:cache_budget=256,compression_interval=16", "prefill_decoding(snapkv:ratio=0.5,h2o:cache_budget=256)",
        "knorm", "none",
    ]
    static let alphabet = Array("(),:=;. _-0123456789abcdefghijklmnopqrstuvwxyz\u{0}\u{301}é🌍")

    /// Every parser that takes a spec from a client.
    static func parse(_ spec: String) -> [Result<Void, Error>] {
        [Result { _ = try PressSpec.parseUnlessNone(spec) }, Result { _ = try DecodingSpec.parseUnlessNone(spec) },
         Result { _ = try DecodingSpec.parsePrefillDecoding(spec) }]
    }

    func testSeededMutationsAreAnsweredNotCrashed() {
        var rng = SplitMix64(seed: 0x5EC5)
        var accepted = 0, refused = 0
        let start = Date()
        for _ in 0..<10_000 {
            var s = Array(Self.seeds[Int(rng.next() % UInt64(Self.seeds.count))])
            for _ in 0..<(1 + rng.next() % 6) {
                let i = s.isEmpty ? 0 : Int(rng.next() % UInt64(s.count))
                let c = Self.alphabet[Int(rng.next() % UInt64(Self.alphabet.count))]
                switch rng.next() % 4 {
                case 0: s.insert(c, at: i)
                case 1: if !s.isEmpty { s.remove(at: i) }
                case 2: if !s.isEmpty { s[i] = c }
                default: s.insert(contentsOf: s[i...].prefix(Int(rng.next() % 12)), at: i)  // repeat a piece
                }
            }
            for r in Self.parse(String(s)) {
                switch r {
                case .success: accepted += 1
                case .failure(let e): XCTAssertTrue(e is PressError, "\(String(s)): \(e)"); refused += 1
                }
            }
        }
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertGreaterThan(refused, 10_000)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
    }

    func testNestingUpTo100kIsRefusedQuickly() {
        for depth in [9, 1_000, 40_000, 100_000] {
            for (open, inner) in [("adakv(", "knorm"), ("h2o(", "h2o"), ("prefill_decoding(", "none,none")] {
                let spec = String(repeating: open, count: depth) + inner + String(repeating: ")", count: depth)
                let start = Date()
                for r in Self.parse(spec) {
                    guard case .failure(let e) = r else { return XCTFail("\(open) × \(depth) accepted") }
                    XCTAssertTrue(e is PressError, "\(e)")
                }
                XCTAssertLessThan(Date().timeIntervalSince(start), 1, "\(open) × \(depth)")
            }
        }
    }
}
