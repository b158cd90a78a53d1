import KVSpec
import XCTest

/// The quantization catalog: every method reads through the spec grammar with its defaults, prints
/// back to a spec that reads the same, and a bad spec gets an error naming what is valid.
final class QuantizationCatalogTests: XCTestCase {
    func testEveryMethodParsesWithItsDefaultsAndPrintsBack() throws {
        let printed = try QuantizationCatalog.names.map { try QuantizationCatalog.spec(QuantizationCatalog.arguments($0)) }
        XCTAssertEqual(printed, ["kivi:bits=4,group_size=32,residual=128",
                                 "kvquant:bits=4,group_size=32,residual=128,outlier_ratio=0.01",
                                 "gear:bits=4,group_size=32,residual=128,rank=2,outlier_ratio=0.01"])
        for spec in printed + ["kivi:bits=8,group_size=16,residual=0", "kvquant:bits=2,group_size=64,residual=32,outlier_ratio=0.02",
                               "gear:bits=4,group_size=32,residual=128,rank=4,outlier_ratio=0.01"] {
            XCTAssertEqual(QuantizationCatalog.spec(try QuantizationCatalog.arguments(spec)), spec)
        }
        // Whitespace is ignored and unset parameters are filled in, in catalog order.
        XCTAssertEqual(QuantizationCatalog.spec(try QuantizationCatalog.arguments(" gear : outlier_ratio=.02, bits=2 ")),
                       "gear:bits=2,group_size=32,residual=128,rank=2,outlier_ratio=0.02")
    }

    func testKVBitsStandsForKiviAndExcludesKVQuant() throws {
        XCTAssertEqual(try QuantizationCatalog.arguments(kvQuant: nil, kvBits: 4).map(QuantizationCatalog.spec),
                       "kivi:bits=4,group_size=32,residual=128")
        XCTAssertEqual(try QuantizationCatalog.arguments(kvQuant: "gear:rank=1", kvBits: nil).map(QuantizationCatalog.spec),
                       "gear:bits=4,group_size=32,residual=128,rank=1,outlier_ratio=0.01")
        XCTAssertNil(try QuantizationCatalog.arguments(kvQuant: nil, kvBits: nil))
        XCTAssertEqual(message { _ = try QuantizationCatalog.arguments(kvQuant: nil, kvBits: 3) },
                       "invalid value '3' for kivi.bits; expected one of 2, 4, 8")
        XCTAssertEqual(message { _ = try QuantizationCatalog.arguments(kvQuant: "kivi", kvBits: 4) },
                       "invalid KV quantization: give --kv-bits or --kv-quant, not both")
    }

    func testErrorsNameWhatIsValid() {
        func error(_ spec: String) -> String { message { _ = try QuantizationCatalog.arguments(spec) } }
        XCTAssertEqual(error("kiwi:bits=4"), "unknown KV quantization method 'kiwi'; valid methods: kivi, kvquant, gear")
        XCTAssertEqual(error("kivi:rank=2"),
                       "KV quantization method 'kivi' has no parameter 'rank'; valid parameters: bits, group_size, residual")
        XCTAssertEqual(error("kivi:bits=3"), "invalid value '3' for kivi.bits; expected one of 2, 4, 8")
        XCTAssertEqual(error("kivi:bits=four"), "invalid value 'four' for kivi.bits; expected one of 2, 4, 8")
        XCTAssertEqual(error("kivi:group_size=0"), "invalid value '0' for kivi.group_size; expected an integer in [1, 1024]")
        XCTAssertEqual(error("kivi:residual=-1"), "invalid value '-1' for kivi.residual; expected an integer ≥ 0")
        XCTAssertEqual(error("gear:rank=64"), "invalid value '64' for gear.rank; expected an integer in [0, group_size] = [0, 32]")
        XCTAssertEqual(error("gear:rank=64,group_size=64"), "")
        XCTAssertEqual(error("kvquant:outlier_ratio=0.9"), "invalid value '0.9' for kvquant.outlier_ratio; expected a number in [0.0, 0.5]")
        XCTAssertEqual(error("kivi:bits"), "cannot parse KV quantization spec 'kivi:bits' at character 9: expected '=' after parameter "
                       + "'bits'; expected METHOD or METHOD:key=value,… (e.g. kivi:bits=4,group_size=32)")
        XCTAssertTrue(error("kivi:bits=4,bits=8").contains("parameter 'bits' given twice"), error("kivi:bits=4,bits=8"))
        XCTAssertEqual(error("kivi(gear)"), "invalid KV quantization: kivi takes no inner spec; write METHOD:key=value,… (e.g. kivi:bits=4)")
        XCTAssertTrue(error("").hasPrefix("cannot parse KV quantization spec ''"), error(""))
    }

    func testUsageListsEveryMethodWithItsParameters() {
        XCTAssertEqual(QuantizationCatalog.usage, "kivi (bits, group_size, residual), kvquant (bits, group_size, residual, outlier_ratio), "
                       + "gear (bits, group_size, residual, rank, outlier_ratio)")
    }

    private func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return "\(error)" }
    }
}
