import KVPress
import XCTest

/// `none` is a press spec: what an uncompressed session reports can be passed back (issue 15, item 10).
final class NoPressSpecTests: XCTestCase {
    func testNoneAndEmptyMeanNoPress() throws {
        for spec in ["", "none", " none ", "\tnone", "no_press", " no_press"] {
            XCTAssertTrue(PressSpec.isNone(spec), "'\(spec)'")
            XCTAssertNil(try PressSpec.parseUnlessNone(spec), "'\(spec)'")
            XCTAssertNil(try DecodingSpec.parseUnlessNone(spec), "'\(spec)'")
        }
        XCTAssertEqual(try PressSpec.parseUnlessNone("knorm:ratio=0.5")?.description, try PressSpec.parse("knorm:ratio=0.5").description)
        XCTAssertNotNil(try DecodingSpec.parseUnlessNone("h2o:cache_budget=64"))
        let pair = try DecodingSpec.parsePrefillDecoding("prefill_decoding(no_press,h2o:cache_budget=64)")
        XCTAssertNil(pair.prefill)
        XCTAssertEqual(pair.description, try DecodingSpec.parsePrefillDecoding("prefill_decoding(none,h2o:cache_budget=64)").description)
    }

    /// `none` takes no parameters and is no inner press: those stay errors.
    func testNoneIsOnlyAWholeSpec() {
        for spec in ["none:ratio=0.5", "adakv(none)", "nonesuch", "no_press:ratio=0.5", "adakv(no_press)"] {
            XCTAssertThrowsError(try PressSpec.parseUnlessNone(spec), spec)
        }
    }
}
