import Foundation
import KVModel
import KVPress
import XCTest

/// `lukv` (kvpress `LUKVPress`): budgets per layer and KV head from a `.npy` curve or uniform,
/// rounded as kvpress rounds them, the sinks and window protected, ragged heads, and its errors.
final class LUKVPressTests: XCTestCase {
    /// A NumPy `.npy` file (format `version`.0) of `values` in C order, as float32 or float64.
    static func npy(_ values: [Float], shape: [Int], float64: Bool = false, version: UInt8 = 1) -> Data {
        var header = "{'descr': '\(float64 ? "<f8" : "<f4")', 'fortran_order': False, 'shape': ("
            + shape.map(String.init).joined(separator: ", ") + "), }"
        let prefix = version == 1 ? 10 : 12
        while (prefix + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [version, 0])
        let length = header.utf8.count
        data.append(contentsOf: (0..<(version == 1 ? 2 : 4)).map { UInt8((length >> (8 * $0)) & 0xFF) })
        data.append(contentsOf: Array(header.utf8))
        for v in values {
            if float64 {
                data.append(contentsOf: withUnsafeBytes(of: Double(v).bitPattern.littleEndian, Array.init))
            } else {
                data.append(contentsOf: withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init))
            }
        }
        return data
    }

    /// Writes `data` to a fresh temporary file and returns its path.
    func file(_ data: Data, _ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lukv-\(UUID().uuidString)-\(name)").path
        try data.write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// A curve for 2 layers × 2 KV heads: prune ratio 0.5 everywhere except the row of ratio 0.5
    /// (row 49), where layer 0 prunes `[0.1, 0.9]` and layer 1 `layer1`.
    func curve(layer1: [Float], layers: Int = 2, float64: Bool = false, version: UInt8 = 1) throws -> String {
        var values = [Float](repeating: 0.5, count: 99 * layers * 2)
        values[(49 * layers + 0) * 2 + 0] = 0.1
        values[(49 * layers + 0) * 2 + 1] = 0.9
        values[(49 * layers + 1) * 2 + 0] = layer1[0]
        values[(49 * layers + 1) * 2 + 1] = layer1[1]
        return try file(Self.npy(values, shape: [99, layers, 2], float64: float64, version: version), "curve.npy")
    }

    /// Head 0's keys grow in norm with t, head 1's shrink, so `knorm` ranks head 0's first tokens and
    /// head 1's last tokens best.
    func knormLayer(tokens T: Int) -> Synthetic {
        let s = Synthetic(tokens: T)
        s.layer = 1
        s.layerCount = 2
        for t in 0..<T {
            s.setKey(0, t, axis(0, Float(t + 1)))
            s.setKey(1, t, axis(0, Float(T - t)))
        }
        return s
    }

    /// Worked by hand: keep rates `1 − p` = 0.625 and 0.3125 of 20 are 12.5 and 6.25; the total
    /// 18.75 rounds to 19, the floors give 18, and the larger fraction (head 0) takes the last one.
    /// Each head keeps sinks 0…3 and the last token, then its best knorm entries.
    func testCurveBudgetsRoundAsKvpressAndProtectSinksAndWindow() throws {
        for (float64, version) in [(false, UInt8(1)), (true, UInt8(2))] {
            let path = try curve(layer1: [0.375, 0.6875], float64: float64, version: version)
            let lukv: LUKVPress = try press("lukv(knorm):ratio=0.5,budget_curve=\(path)")
            XCTAssertEqual(try lukv.headBudgets(layer: 1, layerCount: 2, headCountKV: 2, tokens: 20), [13, 6])
            XCTAssertEqual(try lukv.headBudgets(layer: 0, layerCount: 2, headCountKV: 2, tokens: 20), [18, 2])
            let heads = try knormLayer(tokens: 20).run(lukv)
            XCTAssertEqual(heads[0].positions, Array(0..<12) + [19], "f8: \(float64)")
            XCTAssertEqual(heads[1].positions, [0, 1, 2, 3, 18, 19], "f8: \(float64)")
        }
        // 12.5 + 7.5 = 20: floors 12 + 7, the tied fractions give the extra entry to the lower head.
        let tied: LUKVPress = try press("lukv(knorm):ratio=0.5,budget_curve=\(try curve(layer1: [0.375, 0.625]))")
        XCTAssertEqual(try tied.headBudgets(layer: 1, layerCount: 2, headCountKV: 2, tokens: 20), [13, 7])
        // Another ratio reads another row: 0.504 rounds to 50 % (row 49), 0.51 to row 50 (0.5 everywhere).
        let near: LUKVPress = try press("lukv(knorm):ratio=0.504,budget_curve=\(try curve(layer1: [0.375, 0.6875]))")
        XCTAssertEqual(try near.headBudgets(layer: 1, layerCount: 2, headCountKV: 2, tokens: 20), [13, 6])
        let other: LUKVPress = try press("lukv(knorm):ratio=0.51,budget_curve=\(try curve(layer1: [0.375, 0.6875]))")
        XCTAssertEqual(try other.headBudgets(layer: 1, layerCount: 2, headCountKV: 2, tokens: 20), [10, 10])
    }

    /// Without a curve every head prunes the ratio rounded to 1/100; an odd total leaves the heads
    /// ragged (a scorer alone keeps `Int(21·0.5)` = 10 in both).
    func testUniformBudgets() throws {
        let lukv: LUKVPress = try press("lukv(knorm):ratio=0.3")
        XCTAssertEqual(try lukv.headBudgets(layer: 0, layerCount: 30, headCountKV: 2, tokens: 20), [14, 14])
        let heads = try knormLayer(tokens: 21).run(press("lukv(knorm):ratio=0.5,sink=0,window=0"))
        XCTAssertEqual(heads.map(\.count), [11, 10], "10.5 + 10.5 = 21: head 0 takes the extra entry")
        XCTAssertEqual(heads[0].positions, Array(0..<11))
        XCTAssertEqual(heads[1].positions, Array(11..<21))
        XCTAssertEqual(try lukv.headBudgets(layer: 0, layerCount: 1, headCountKV: 2, tokens: 1), [1, 1], "at least one entry per head")
        let untouched = try knormLayer(tokens: 20).run(press("lukv(knorm):ratio=0"))
        XCTAssertEqual(untouched.map(\.count), [20, 20], "ratio 0 keeps everything")
    }

    func testSpecRoundTrip() throws {
        let path = try curve(layer1: [0.375, 0.6875])
        for spec in ["lukv(snapkv):ratio=0.5", "lukv(expected_attention:epsilon=0.02):compression_ratio=0.25,sink=2,window=8",
                     "lukv(knorm):ratio=0.5,budget_curve=\(path),window=0"] {
            let lukv = try PressSpec.parse(spec)
            XCTAssertEqual(try PressSpec.parse(lukv.description).description, lukv.description, spec)
        }
        XCTAssertEqual(try PressSpec.parse("lukv(knorm):ratio=0.5,budget_curve=\(path),window=0").description,
                       "lukv(knorm:compression_ratio=0.5):budget_curve=\(path),sink=4,window=0")
        XCTAssertEqual(try PressSpec.parse("lukv(snapkv)").description,
                       "lukv(snapkv:compression_ratio=0.0,window_size=64,kernel_size=5,gqa_score_agg=mean):budget_curve=uniform,sink=4,window=1")
    }

    func testBadParametersAndCurvesSayWhatIsWrong() throws {
        XCTAssertEqual(specError("lukv(snapkv):sink=-1"), "invalid value '-1' for lukv.sink; expected an integer ≥ 0")
        XCTAssertEqual(specError("lukv(snapkv):window=x"), "invalid value 'x' for lukv.window; expected an integer ≥ 0")
        XCTAssertEqual(specError("lukv:ratio=0.5"), "press 'lukv' wraps exactly one scorer press, e.g. lukv(snapkv); got 0")
        XCTAssertEqual(specError("lukv(adakv(snapkv))"),
                       "press 'lukv' needs a scorer press inside (e.g. snapkv, knorm); 'adakv' is not one")
        XCTAssertEqual(specError("lukv(knorm):budget_curve=/nonexistent/c.npy"),
                       "press 'lukv' cannot use '/nonexistent/c.npy': cannot read the file")
        let text = try file(Data("not an array".utf8), "text.npy")
        XCTAssertEqual(specError("lukv(knorm):budget_curve=\(text)"), "press 'lukv' cannot use '\(text)': not a NumPy .npy file")
        let short = try file(Self.npy([Float](repeating: 0.5, count: 50 * 4), shape: [50, 2, 2]), "short.npy")
        XCTAssertEqual(specError("lukv(knorm):budget_curve=\(short)"),
                       "press 'lukv' cannot use '\(short)': expected at least 99 targets (1%…99%), got 50")
        let ints = try file(Self.npy([], shape: [99, 2, 2]).replacing(Data("<f4".utf8), with: Data("<i4".utf8)), "ints.npy")
        XCTAssertEqual(specError("lukv(knorm):budget_curve=\(ints)"),
                       "press 'lukv' cannot use '\(ints)': expected little-endian float32 or float64 values ('<f4' or '<f8')")
        // A curve for 3 layers cannot serve a 2-layer model: refused when the layer is compressed.
        let three = try curve(layer1: [0.375, 0.6875], layers: 3)
        XCTAssertThrowsError(try knormLayer(tokens: 20).run(press("lukv(knorm):ratio=0.5,budget_curve=\(three)"))) {
            XCTAssertEqual("\($0)", "press 'lukv' cannot use '\(three)': the curve has 3 layers × 2 KV heads, the model 2 × 2")
        }
    }
}
