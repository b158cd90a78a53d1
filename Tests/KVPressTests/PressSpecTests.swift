import KVPress
import XCTest

/// Spec strings parse into the right presses, round-trip, and every mistake gives an actionable error.
final class PressSpecTests: XCTestCase {
    func testValidSpecs() throws {
        let snap = try XCTUnwrap(try PressSpec.parse("snapkv") as? SnapKVPress)
        XCTAssertEqual(snap.compressionRatio, 0)
        XCTAssertEqual(snap.windowSize, 64)
        XCTAssertEqual(snap.kernelSize, 5)

        let snap2 = try XCTUnwrap(try PressSpec.parse("snapkv:ratio=0.5,window_size=32") as? SnapKVPress)
        XCTAssertEqual(snap2.compressionRatio, 0.5)
        XCTAssertEqual(snap2.windowSize, 32)

        let ada = try XCTUnwrap(try PressSpec.parse("adakv(expected_attention):ratio=0.5,alpha_safeguard=0.2") as? AdaKVPress)
        XCTAssertEqual(ada.alphaSafeguard, 0.2)
        XCTAssertEqual(ada.compressionRatio, 0.5, "ratio on a wrapper sets the inner press's ratio")
        XCTAssertTrue(ada.press is ExpectedAttentionPress)

        let chunkkv = try XCTUnwrap(try PressSpec.parse("chunkkv(snapkv):chunk_length=20") as? ChunkKVPress)
        XCTAssertEqual(chunkkv.chunkLength, 20)

        let composed = try XCTUnwrap(try PressSpec.parse("composed(think,knorm)") as? ComposedPress)
        XCTAssertEqual(composed.presses.map(\.name), ["think", "knorm"])

        let nested = try XCTUnwrap(try PressSpec.parse(" composed( snapkv:ratio=0.3 , think:key_channel_compression_ratio=0.25 ) ") as? ComposedPress)
        XCTAssertEqual((nested.presses[0] as? SnapKVPress)?.compressionRatio, 0.3)
        XCTAssertEqual((nested.presses[1] as? ThinKPress)?.keyChannelCompressionRatio, 0.25)

    }

    func testDescriptionRoundTrips() throws {
        for d in PressCatalog.all {
            let spec: String
            switch d.inner {
            case .none: spec = d.name == "per_layer" ? "" : d.name
            case .one: spec = d.name == "per_layer" ? "per_layer(knorm):compression_ratios=0.1;0.2" : "\(d.name)(snapkv)"
            case .many: spec = "\(d.name)(think,knorm)"
            }
            guard !spec.isEmpty else { continue }
            let press = try PressSpec.parse(spec)
            XCTAssertEqual(press.name, d.name)
            XCTAssertEqual(try PressSpec.parse(press.description).description, press.description, spec)
            let own = Set(press.parameterValues.map(\.0))
            XCTAssertTrue(own.isSubset(of: Set(d.parameters.map(\.name))), "\(d.name): \(own) vs registry")
        }
    }

    func testErrorsListWhatIsValid() {
        func error(_ spec: String) -> PressError? {
            do { _ = try PressSpec.parse(spec); return nil } catch { return error as? PressError }
        }
        guard case .unknownPress("snapkvv", let names)? = error("snapkvv") else { return XCTFail("unknown press") }
        XCTAssertTrue(names.contains("snapkv") && names.contains("expected_attention"))
        XCTAssertTrue(error("snapkvv")!.description.contains("valid presses: knorm, l2norm, streaming_llm, snapkv"))

        XCTAssertEqual(error("snapkv:foo=1"), .unknownParameter(
            press: "snapkv", parameter: "foo", valid: ["compression_ratio", "window_size", "kernel_size", "gqa_score_agg", "ratio"]))
        XCTAssertTrue(error("snapkv:foo=1")!.description.contains("valid parameters: compression_ratio, window_size"))
        XCTAssertEqual(error("keydiff:window_size=3")?.description,
                       "press 'keydiff' has no parameter 'window_size'; valid parameters: compression_ratio, ratio")

        XCTAssertEqual(error("snapkv:window_size=abc"),
                       .invalidValue(press: "snapkv", parameter: "window_size", value: "abc", expected: "an integer ≥ 1"))
        XCTAssertEqual(error("knorm:ratio=1"),
                       .invalidValue(press: "knorm", parameter: "compression_ratio", value: "1", expected: "a number in [0, 1)"))
        XCTAssertEqual(error("knorm:ratio=-0.1")?.description,
                       "invalid value '-0.1' for knorm.compression_ratio; expected a number in [0, 1)")
        XCTAssertNotNil(error("adakv(knorm):ratio=1.5"))
        XCTAssertEqual(error("adakv(knorm):alpha_safeguard=2"),
                       .invalidValue(press: "adakv", parameter: "alpha_safeguard", value: "2", expected: "a number in [0.0, 1.0]"))
        XCTAssertEqual(error("snapkv:gqa_score_agg=median")?.description,
                       "invalid value 'median' for snapkv.gqa_score_agg; expected one of mean, max, sum")

        guard case .innerPress(press: "adakv", _)? = error("adakv") else { return XCTFail("wrapper without inner") }
        guard case .innerPress(press: "knorm", _)? = error("knorm(snapkv)") else { return XCTFail("plain press with inner") }
        guard case .innerPress(press: "adakv", _)? = error("adakv(composed(knorm))") else { return XCTFail("inner not a scorer") }
        guard case .innerPress(press: "composed", _)? = error("composed(adakv(knorm))") else { return XCTFail("adakv in composed") }
        guard case .invalidValue(press: "per_layer", _, _, _)? = error("per_layer(knorm)") else { return XCTFail("missing ratios") }

        for bad in ["snapkv:ratio", "snapkv:=3", "snapkv,", "snapkv:ratio=0.5,", "adakv(knorm", "", "snapkv:ratio=0.5,ratio=0.4"] {
            guard case .syntax? = error(bad) else { return XCTFail("'\(bad)' should be a syntax error, got \(String(describing: error(bad)))") }
        }
        XCTAssertTrue(error("snapkv:ratio")!.description.contains("expected NAME, NAME:key=value"))
    }

    /// Hostile specs are refused quickly with the limit named (a 40 000-deep nesting overflowed the
    /// stack of the thread that parsed it, kvd's event loop).
    func testHostileSpecsAreBounded() {
        func error(_ spec: String) -> String {
            do { _ = try PressSpec.parse(spec); return "accepted" } catch { return "\(error)" }
        }
        let deep = String(repeating: "adakv(", count: 40_000) + "knorm" + String(repeating: ")", count: 40_000)
        XCTAssertTrue(error(deep).contains("at most 4096 bytes"), error(deep))
        let nested = String(repeating: "adakv(", count: 9) + "knorm" + String(repeating: ")", count: 9)
        XCTAssertTrue(error(nested).contains("nested more than 8 deep"), error(nested))
        XCTAssertEqual(error(String(repeating: "adakv(", count: 7) + "knorm" + String(repeating: ")", count: 7)).contains("nested"), false)
        let wide = "composed(" + Array(repeating: "knorm", count: 40).joined(separator: ",") + ")"
        XCTAssertTrue(error(wide).contains("at most 32 presses"), error(wide))
        let huge = "composed(" + Array(repeating: "knorm", count: 200_000).joined(separator: ",") + ")"
        XCTAssertTrue(error(huge).contains("at most 4096 bytes"), error(huge))
        XCTAssertTrue(error("knorm:ratio=" + String(repeating: "9", count: 5000)).contains("at most 4096 bytes"))
    }

    func testRegistryDocumentsEveryParameter() throws {
        XCTAssertEqual(Set(PressCatalog.names).count, PressCatalog.names.count)
        for d in PressCatalog.all {
            XCTAssertFalse(d.summary.isEmpty)
            for p in d.parameters { XCTAssertFalse(p.doc.isEmpty, "\(d.name).\(p.name)") }
        }
        XCTAssertEqual(PressCatalog.entry("streaming_llm")?.parameters.map(\.defaultValue), ["0.0", "4"])
        let adakv = try XCTUnwrap(PressCatalog.entry("adakv"))
        XCTAssertEqual(adakv.inner, .one)
        XCTAssertTrue(adakv.summary.hasPrefix("head-wise budgets"), adakv.summary)
        let nSink = try XCTUnwrap(PressCatalog.entry("streaming_llm")?.parameters.first { $0.name == "n_sink" })
        XCTAssertEqual(nSink.defaultValue, "4")
        XCTAssertEqual(nSink.doc, "initial tokens always kept (attention sinks), ≥ 0")
    }
}
