import KVSpec
import XCTest

/// The spec grammar and the catalog checks kvctl and kvbench use without building a press.
final class SpecNodeTests: XCTestCase {
    func testSpecsPrintBackAsWritten() throws {
        for spec in ["snapkv", "snapkv:ratio=0.5,window_size=64", "adakv(expected_attention):ratio=0.5,alpha_safeguard=0.2",
                     "composed(snapkv:ratio=0.3,think:key_channel_compression_ratio=0.25)",
                     "per_layer(knorm):compression_ratios=0.1;0.2"] {
            XCTAssertEqual(try SpecNode.parse(spec).description, spec)
        }
        XCTAssertEqual(try SpecNode.parse(" snapkv : window_size = 32 ").description, "snapkv:window_size=32")
    }

    func testListsSplitAtPressesNotAtParameters() throws {
        let list = try SpecNode.parseList("none, knorm,snapkv:window_size=32,kernel_size=3,adakv(snapkv,knorm):ratio=0.5,tova")
        XCTAssertEqual(list.map(\.description),
                       ["none", "knorm", "snapkv:window_size=32,kernel_size=3", "adakv(snapkv,knorm):ratio=0.5", "tova"])
        XCTAssertThrowsError(try SpecNode.parseList("knorm,,snapkv"))
    }

    func testSettingAParameterReplacesItAndItsAliases() throws {
        let node = try SpecNode.parse("adakv(snapkv:ratio=0.3):compression_ratio=0.25,alpha_safeguard=0.1")
        XCTAssertEqual(node.setting("ratio", to: "0.5", aliases: ["compression_ratio"]).description,
                       "adakv(snapkv:ratio=0.3):alpha_safeguard=0.1,ratio=0.5")
        XCTAssertEqual(try SpecNode.parse("knorm").setting("ratio", to: "0.5").description, "knorm:ratio=0.5")
        XCTAssertEqual(node.removing(["compression_ratio"]).description, "adakv(snapkv:ratio=0.3):alpha_safeguard=0.1")
    }

    func testValidateChecksTheWholeTree() throws {
        func message(_ spec: String) -> String {
            do { try PressCatalog.validate(PressCatalog.parse(spec)); return "" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("adakv(snapkv:window_size=8):ratio=0.5"), "")
        XCTAssertEqual(message("adakv(snapkv:window_size=0)"), "invalid value '0' for snapkv.window_size; expected an integer ≥ 1")
        XCTAssertEqual(message("adakv"), "press 'adakv' wraps exactly one scorer press, e.g. adakv(snapkv); got 0")
        XCTAssertEqual(message("knorm(snapkv)"), "press 'knorm' takes no inner press; write it without parentheses")
        XCTAssertTrue(message("squeeze").hasPrefix("unknown press 'squeeze'; valid presses: knorm, l2norm"))
        XCTAssertTrue(message("think:ratio=0.5").hasPrefix("press 'think' has no parameter 'ratio'"))
    }

    func testDecodingArgumentsIncludeTheSchedule() throws {
        let args = try DecodingCatalog.arguments(DecodingCatalog.parse("h2o:target_size=256"))
        XCTAssertEqual(args[.cacheBudget], 256)
        XCTAssertEqual(args[.compressionInterval], 512)
        XCTAssertEqual(args.specValues.map(\.0), ["window_size", "gqa_score_agg", "cache_budget", "compression_interval",
                                                    "compression_ratio_decoding", "query_buffer"], "the scorer's own, without compression_ratio")
        XCTAssertThrowsError(try DecodingCatalog.arguments(DecodingCatalog.parse("h2o:cache_budget=8,compression_ratio_decoding=0.5")))
    }
}
