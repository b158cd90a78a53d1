import XCTest
import KVPress

/// Decoding press specs: names, parameters, defaults, aliases and errors that list what is valid.
final class DecodingSpecTests: XCTestCase {
    func error(_ spec: String) -> PressError? {
        do { _ = try DecodingSpec.parse(spec); return nil } catch { return error as? PressError }
    }

    func testDefaultsFollowKvpressDecodingPress() throws {
        let p = try DecodingSpec.parse("h2o")
        XCTAssertEqual(p.cacheBudget, 2048)
        XCTAssertEqual(p.compressionInterval, 512)
        XCTAssertNil(p.compressionRatioDecoding)
        XCTAssertEqual(p.description, "h2o:window_size=64,gqa_score_agg=mean,cache_budget=2048,compression_interval=512,query_buffer=256")
        let r = try XCTUnwrap(try DecodingSpec.parse("rkv").makeScorer() as? RKVPress)
        XCTAssertEqual([r.windowSize, r.kernelSize], [8, 7])
        XCTAssertEqual(r.mixLambda, 0.07)
        // Every scorer press decodes; presses that rewrite the cache or wrap others do not.
        XCTAssertTrue(Set(DecodingCatalog.names).isSuperset(of: ["h2o", "snapkv", "streaming_llm", "knorm", "random", "tova", "rkv",
                                                                 "rkv_lsh", "expected_attention", "keydiff", "lagkv", "cur"]))
        XCTAssertTrue(Set(DecodingCatalog.names).isDisjoint(with: ["adakv", "kvzip", "think", "composed", "pyramidkv", "fidelity"]))
    }

    func testParametersAliasesAndRoundTrip() throws {
        let p = try DecodingSpec.parse("snapkv:window_size=16,target_size=256,compression_interval=8")
        XCTAssertEqual(p.cacheBudget, 256)
        XCTAssertEqual(p.targetSize(tokensSeen: 10_000), 256)
        let q = try DecodingSpec.parse("knorm:target_compression_ratio=0.25")
        XCTAssertEqual(q.compressionRatioDecoding, 0.25)
        XCTAssertEqual(q.targetSize(tokensSeen: 1000), 750)
        for spec in ["rkv_lsh:n_hash_bits=8,seed=3,cache_budget=64", "streaming_llm:n_sink=2,compression_ratio_decoding=0.5",
                     "random:seed=1", "tova:cache_budget=0"] {
            let press = try DecodingSpec.parse(spec)
            XCTAssertEqual(try DecodingSpec.parse(press.description).description, press.description)
        }
        XCTAssertFalse(try DecodingSpec.parse("tova:cache_budget=0").isActive)
        let rkvLSH = try XCTUnwrap(DecodingCatalog.entry("rkv_lsh"))
        let listed = DecodingCatalog.allParameters(rkvLSH).map(\.name)
        XCTAssertTrue(listed.contains("n_hash_bits") && listed.contains("cache_budget") && !listed.contains("compression_ratio"), "\(listed)")
    }

    func testErrorsListWhatIsValid() {
        guard case .unknownPress("h2oo", let names)? = error("h2oo") else { return XCTFail("unknown name") }
        XCTAssertEqual(names, DecodingCatalog.names)
        guard case .unknownParameter("rkv", "lambda", let valid)? = error("rkv:lambda=0.1") else { return XCTFail("unknown parameter") }
        XCTAssertTrue(valid.contains("mix_lambda") && valid.contains("cache_budget") && valid.contains("target_size"))
        for (spec, parameter) in [("h2o:cache_budget=-1", "cache_budget"), ("knorm:compression_interval=0", "compression_interval"),
                                  ("knorm:compression_ratio_decoding=1.5", "compression_ratio_decoding"),
                                  ("rkv:mix_lambda=2", "mix_lambda"), ("rkv:retain_direction=middle", "retain_direction"),
                                  ("rkv_lsh:n_hash_bits=99", "n_hash_bits"), ("snapkv:window_size=0", "window_size"),
                                  ("h2o:cache_budget=64,compression_ratio_decoding=0.5", "compression_ratio_decoding")] {
            guard case .invalidValue(_, let p, _, let expected)? = error(spec) else { XCTFail(spec); continue }
            XCTAssertEqual(p, parameter, spec)
            XCTAssertFalse(expected.isEmpty)
        }
        XCTAssertTrue(error("rkv:retain_direction=middle")!.description.contains("one of last, first"))
        // The schedule sets the scorer's ratio; a decoding spec cannot.
        guard case .unknownParameter("snapkv", "compression_ratio", _)? = error("snapkv:compression_ratio=0.5") else {
            return XCTFail("compression_ratio in a decoding spec")
        }
        guard case .unknownPress("adakv", _)? = error("adakv(snapkv)") else { return XCTFail("a wrapper does not decode") }
        guard case .innerPress? = error("h2o(knorm)") else { return XCTFail("inner press") }
        guard case .syntax? = error("h2o:cache_budget") else { return XCTFail("syntax") }
        let deep = String(repeating: "h2o(", count: 40_000) + "h2o" + String(repeating: ")", count: 40_000)
        XCTAssertTrue(error(deep)?.description.contains("at most 4096 bytes") == true, "\(String(describing: error(deep)))")
        let nested = String(repeating: "h2o(", count: 20) + "h2o" + String(repeating: ")", count: 20)
        XCTAssertTrue(error(nested)?.description.contains("nested more than 8 deep") == true, "\(String(describing: error(nested)))")
    }

    func testPrefillDecodingBundlesBothPresses() throws {
        let both = try DecodingSpec.parsePrefillDecoding("prefill_decoding(snapkv:ratio=0.5,window_size=8,h2o:cache_budget=256)")
        XCTAssertEqual(both.prefill?.name, "snapkv")
        XCTAssertEqual(both.prefill?.compressionRatio, 0.5)
        XCTAssertEqual(both.decoding?.cacheBudget, 256)
        XCTAssertEqual(try DecodingSpec.parsePrefillDecoding(both.description).description, both.description)
        let decodingOnly = try DecodingSpec.parsePrefillDecoding("prefill_decoding(none,rkv)")
        XCTAssertNil(decodingOnly.prefill)
        XCTAssertEqual(decodingOnly.decoding?.name, "rkv")
        XCTAssertThrowsError(try DecodingSpec.parsePrefillDecoding("prefill_decoding(snapkv)")) {
            XCTAssertTrue("\($0)".contains("prefill_decoding(PREFILL,DECODING)"))
        }
        XCTAssertThrowsError(try DecodingSpec.parsePrefillDecoding("prefill_decoding(knorm,rkv:cache_budget=x)"))
        XCTAssertThrowsError(try DecodingSpec.parsePrefillDecoding("prefill_decoding(bogus,rkv)")) {
            guard case .unknownPress("bogus", let valid)? = $0 as? PressError else { return XCTFail("\($0)") }
            XCTAssertTrue(valid.contains("rkv_lsh") && valid.contains("expected_attention"))
        }
    }
}
