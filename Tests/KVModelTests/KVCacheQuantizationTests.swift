import XCTest
import KVModel
import KVSpec

/// The quantization configuration built from the catalog's checked arguments: every method,
/// defaults, the printed spec's round trip, and the head-width check only the model can make.
final class KVCacheQuantizationTests: XCTestCase {
    func testEveryCatalogMethodBuildsWithItsDefaults() throws {
        XCTAssertEqual(KVCacheQuantization.Method.allCases.map(\.rawValue), QuantizationCatalog.names)
        let kivi = try KVCacheQuantization.parse("kivi")
        XCTAssertEqual([kivi.bits, kivi.groupSize, kivi.residualLength, kivi.rank], [4, 32, 128, 0])
        XCTAssertEqual(kivi.outlierRatio, 0)
        let gear = try KVCacheQuantization.parse("gear:bits=2")
        XCTAssertEqual([gear.bits, gear.rank], [2, 2])
        XCTAssertEqual(gear.outlierRatio, 0.01)
        let kvquant = try KVCacheQuantization.parse("kvquant:group_size=16,residual=0,outlier_ratio=0.05")
        XCTAssertEqual([kvquant.groupSize, kvquant.residualLength, kvquant.rank], [16, 0, 0])
        XCTAssertEqual(kvquant.outlierRatio, 0.05)
    }

    func testDescriptionRoundTrips() throws {
        for spec in ["kivi:bits=4,group_size=32,residual=128", "kivi:bits=8,group_size=16,residual=0",
                     "kvquant:bits=2,group_size=64,residual=32,outlier_ratio=0.02",
                     "gear:bits=4,group_size=32,residual=128,rank=4,outlier_ratio=0.01"] {
            let q = try KVCacheQuantization.parse(spec)
            XCTAssertEqual(q.description, spec)
            XCTAssertEqual(try KVCacheQuantization.parse(q.description), q)
        }
        XCTAssertEqual(try KVCacheQuantization.parse(" gear : bits=4, rank=2 , outlier_ratio=0.01").description,
                       "gear:bits=4,group_size=32,residual=128,rank=2,outlier_ratio=0.01")
        XCTAssertEqual(try KVCacheQuantization(XCTUnwrap(QuantizationCatalog.arguments(kvQuant: nil, kvBits: 8))).description,
                       "kivi:bits=8,group_size=32,residual=128")
    }

    func testBadSpecsAreTheCatalogsErrors() {
        XCTAssertThrowsError(try KVCacheQuantization.parse("kivi:bits=3")) {
            XCTAssertEqual($0 as? KVQuantizationError,
                           .invalidValue(method: "kivi", parameter: "bits", value: "3", expected: "one of 2, 4, 8"))
        }
    }

    func testGroupSizeMustDivideTheHeadDimension() throws {
        let cache = KVCache(layerCount: 1, headCountKV: 1, headDimension: 64)
        XCTAssertThrowsError(try cache.quantize(try KVCacheQuantization.parse("kivi:group_size=24"))) {
            XCTAssertEqual("\($0)", "invalid KV quantization: group_size 24 must divide the head dimension 64 (values are grouped by channel)")
        }
        try cache.quantize(try KVCacheQuantization.parse("kivi"))
        XCTAssertThrowsError(try cache.quantize(try KVCacheQuantization.parse("kivi")))
    }
}
