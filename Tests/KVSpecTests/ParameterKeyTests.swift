import KVSpec
import XCTest

/// Typed parameter keys: a checked spec reads as the key's Swift type, defaults filled in.
final class ParameterKeyTests: XCTestCase {
    private func arguments(_ spec: String) throws -> PressArguments {
        try PressCatalog.arguments(PressCatalog.parse(spec))
    }

    func testValuesReadAsTheKeysTypes() throws {
        let snap = try arguments("snapkv:ratio=.5,window_size=32,gqa_score_agg=max")
        XCTAssertEqual(snap[.compressionRatio], 0.5)
        XCTAssertEqual(snap[.windowSize], 32)
        XCTAssertEqual(snap[.kernelSize], 5, "the catalog default")
        XCTAssertEqual(snap[.gqaScoreAgg], .max)
        XCTAssertTrue(snap.isGiven(.windowSize))
        XCTAssertFalse(snap.isGiven(.kernelSize))
        XCTAssertEqual(try arguments("per_layer(knorm):compression_ratios=0.1;0.25")[.compressionRatios], [0.1, 0.25])
        XCTAssertEqual(try arguments("expected_attention:use_vnorm=no")[.useVnorm], false)
    }

    func testNoneReadsAsNilAndAnUndeclaredKeyAsAbsent() throws {
        XCTAssertNil(try arguments("random")[.seed])
        XCTAssertEqual(try arguments("random:seed=7")[.seed], 7)
        XCTAssertEqual(try arguments("rkv_lsh")[.hashSeed], 0, "rkv_lsh's seed is an integer, never none")
        XCTAssertEqual(try arguments("finch:chunk_length=128")[.chunkLengthOrNone], 128)
        XCTAssertEqual(try arguments("chunk(knorm)")[.chunkLength], 1024)
        XCTAssertEqual(try arguments("pyramidkv")[.pyramidBeta], 20)
        XCTAssertEqual(try arguments("headkv")[.beta], 1.01)
        let adakv = try arguments("adakv(knorm)")
        XCTAssertEqual(adakv[ifDeclared: .innerCompressionRatio], .some(nil), "declared, left at none")
        XCTAssertEqual(try arguments("adakv(knorm):ratio=0.3")[.innerCompressionRatio], 0.3)
        let kivi = try QuantizationCatalog.arguments("kivi:bits=2")
        XCTAssertEqual(kivi[.bits], 2)
        XCTAssertNil(kivi[ifDeclared: .rank], "kivi takes no rank")
    }

    func testSharedNamesKeepOneSpelling() {
        XCTAssertEqual(ParameterKey<Int>.hashSeed.name, ParameterKey<Int?>.seed.name)
        XCTAssertEqual(ParameterKey<Int?>.chunkLengthOrNone.name, ParameterKey<Int>.chunkLength.name)
        XCTAssertEqual(ParameterKey<Int>.pyramidBeta.name, ParameterKey<Double>.beta.name)
        XCTAssertEqual(ParameterKey<Double?>.innerCompressionRatio.name, "compression_ratio")
    }
}
